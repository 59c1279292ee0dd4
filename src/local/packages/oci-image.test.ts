import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImageArchive, tagOf } from './oci-image.ts';
import { sha256OfFile } from './package-artifacts.ts';

test('an image archive is an OCI layout naming the image for containerd', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-oci-'));
  try {
    const spec = { reference: 'tessera.dev/test:1.0', files: [{ path: 'hello', content: 'hi\n' }, { path: 'bin/sh', symlinkTo: '/bin/busybox' }], config: { Cmd: ['/hello'] } };
    const first = await buildImageArchive(spec, join(dir, 'a.tar'));
    const unpacked = join(dir, 'unpacked');
    execFileSync('mkdir', [unpacked]);
    execFileSync('tar', ['-xf', first.archive, '-C', unpacked]);
    const index = JSON.parse(readFileSync(join(unpacked, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    assert.equal(index.manifests[0]?.annotations['io.containerd.image.name'], 'tessera.dev/test:1.0');
    assert.equal(index.manifests[0]?.digest, first.manifestDigest);
    const manifest = JSON.parse(readFileSync(join(unpacked, 'blobs', 'sha256', first.manifestDigest.slice(7)), 'utf8')) as { layers: { digest: string }[]; config: { digest: string } };
    const layer = join(unpacked, 'blobs', 'sha256', manifest.layers[0]?.digest.slice(7) ?? '');
    assert.equal(`sha256:${await sha256OfFile(layer)}`, manifest.layers[0]?.digest, 'the layer digest is its content\'s');
    assert.deepEqual(execFileSync('tar', ['-tf', layer], { encoding: 'utf8' }).trim().split('\n').sort(), ['./', './bin/', './bin/sh', './hello']);
    const config = JSON.parse(readFileSync(join(unpacked, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8')) as { config: { Cmd: string[] }; rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.config.Cmd, ['/hello']);
    assert.deepEqual(config.rootfs.diff_ids, [manifest.layers[0]?.digest]);

    const second = await buildImageArchive(spec, join(dir, 'b.tar'));
    assert.equal(second.manifestDigest, first.manifestDigest, 'the same inputs give the same image');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the tag of a reference is after the last path element\'s colon', () => {
  assert.equal(tagOf('registry.k8s.io/coredns/coredns:v1.14.6'), 'v1.14.6');
  assert.equal(tagOf('localhost:5000/pause:3.10.2'), '3.10.2');
  assert.throws(() => tagOf('localhost:5000/pause'), /has no tag/);
});
