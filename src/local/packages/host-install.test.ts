import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderCniConfig, renderContainerdConfig, renderInstallScript, renderKubeletConfig, shellQuote, uploadPath } from '../../node/host-install.ts';
import { sha256OfFile, type PackageManifest } from './package-artifacts.ts';

function manifestFor(files: PackageManifest['files']): PackageManifest {
  return {
    format: 'tessera.dev/package-manifest/v1',
    recipe: 2,
    name: 'hello',
    version: '1.0',
    description: 'test package',
    activation: { kind: 'programs', usedBy: 'tests', directory: 'bin' },
    healthCheck: { kind: 'command', command: ['{dir}/bin/hello'] },
    requires: [],
    os: 'linux',
    arch: 'amd64',
    installDir: '/opt/tessera/hello/1.0',
    files,
    source: [],
  };
}

/**
 * Runs `script` with /opt and /var/lib as private tmpfs mounts (a mount namespace of its own),
 * after `prepare` has put the upload in place; prints what ended up installed.
 */
function runIsolated(archive: string, script: string): { code: number; output: string } {
  const remote = uploadPath({ name: 'hello', version: '1.0' });
  const wrapper = [
    'set -e',
    'mount -t tmpfs tmpfs /opt && mount -t tmpfs tmpfs /var/lib',
    `mkdir -p ${shellQuote(remote.slice(0, remote.lastIndexOf('/')))} && cp ${shellQuote(archive)} ${shellQuote(remote)}`,
    'set +e',
    `sh -c ${shellQuote(script)}; first=$?`,
    `sh -c ${shellQuote(script)}; second=$?`,
    'echo "exit $first $second"',
    'find /opt/tessera -printf "%p %y\\n" 2>/dev/null | sort',
    'cat /var/lib/tessera/packages/hello.json 2>/dev/null',
  ].join('\n');
  const result = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', wrapper], { encoding: 'utf8' });
  return { code: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

/** A one-file package `hello` 1.0 built in `dir` (`dir/hello.tar.gz`), with its checksums and manifest. */
async function helloPackage(dir: string) {
  mkdirSync(join(dir, 'payload', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'payload', 'bin', 'hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  const fileSha = await sha256OfFile(join(dir, 'payload', 'bin', 'hello'));
  execFileSync('tar', ['-czf', join(dir, 'hello.tar.gz'), '-C', join(dir, 'payload'), '.']);
  const archiveSha = await sha256OfFile(join(dir, 'hello.tar.gz'));
  return { archiveSha, manifest: manifestFor([{ path: 'bin/hello', sha256: fileSha, size: 22, mode: '0755' }]) };
}

test('install verifies the archive and every file, unpacks into its versioned directory, and is idempotent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-install-'));
  try {
    const { archiveSha, manifest } = await helloPackage(dir);

    const good = runIsolated(join(dir, 'hello.tar.gz'), renderInstallScript(manifest, archiveSha));
    assert.match(good.output, /^exit 0 0$/m, good.output);
    assert.match(good.output, /^\/opt\/tessera\/hello\/1\.0\/bin\/hello f$/m);
    assert.match(good.output, /^\/opt\/tessera\/hello\/current l$/m);
    assert.match(good.output, /"version":"1\.0"/);

    const wrongArchive = runIsolated(join(dir, 'hello.tar.gz'), renderInstallScript(manifest, '0'.repeat(64)));
    assert.match(wrongArchive.output, /^exit 1 1$/m, 'an archive whose digest differs is refused');
    assert.doesNotMatch(wrongArchive.output, /\/opt\/tessera\/hello\/1\.0 d/, 'and nothing is unpacked');

    const tampered = runIsolated(join(dir, 'hello.tar.gz'), renderInstallScript(manifestFor([{ path: 'bin/hello', sha256: 'f'.repeat(64), size: 22, mode: '0755' }]), archiveSha));
    assert.match(tampered.output, /^exit 1 1$/m, 'a file that differs from the manifest is refused');
    assert.doesNotMatch(tampered.output, /\/opt\/tessera\/hello\/1\.0 d/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('containerd restricts OOM score adjustments and takes runc and CNI from /opt/tessera', () => {
  const config = renderContainerdConfig({ sandboxImage: 'registry.k8s.io/pause:3.10.2' });
  assert.match(config, /^version = 3$/m);
  assert.match(config, /restrict_oom_score_adj = true/);
  assert.match(config, /BinaryName = "\/opt\/tessera\/runc\/current\/bin\/runc"/);
  assert.match(config, /bin_dirs = \["\/opt\/tessera\/cni-plugins\/current\/bin"\]/);
  assert.match(config, /sandbox = "registry.k8s.io\/pause:3.10.2"/);
});

test('the kubelet runs on cgroup v1 in the host\'s own cgroup, serving on the node address', () => {
  const config = parse(renderKubeletConfig({ nodeIP: '10.240.0.6', cgroupRoot: '/tessera/abc/w1', clusterDNS: '10.96.0.10', clusterDomain: 'cluster.local' })) as Record<string, unknown>;
  assert.equal(config['failCgroupV1'], false);
  assert.equal(config['cgroupRoot'], '/tessera/abc/w1');
  assert.equal(config['address'], '10.240.0.6');
  assert.deepEqual(config['clusterDNS'], ['10.96.0.10']);
  assert.deepEqual(config['authorization'], { mode: 'Webhook' });
});

test('the pod network is a bridge with the host\'s subnet, routed rather than masqueraded', () => {
  const config = JSON.parse(renderCniConfig('10.244.1.0/24')) as { plugins: { type: string; ipMasq?: boolean; ipam?: { ranges: { subnet: string }[][] } }[] };
  assert.equal(config.plugins[0]?.type, 'bridge');
  assert.equal(config.plugins[0]?.ipMasq, false);
  assert.equal(config.plugins[0]?.ipam?.ranges[0]?.[0]?.subnet, '10.244.1.0/24');
});

test('shell quoting survives single quotes', () => {
  assert.equal(execFileSync('sh', ['-c', `printf %s ${shellQuote("it's")}`], { encoding: 'utf8' }), "it's");
});

test('an install that already finished (an operator that died while the host carried on) is not done again; a reinstall is', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-install-'));
  try {
    const { archiveSha, manifest } = await helloPackage(dir);
    const install = renderInstallScript(manifest, archiveSha);
    const remote = uploadPath({ name: 'hello', version: '1.0' });
    const record = '/var/lib/tessera/packages/hello.json';
    const marker = '/opt/tessera/hello/1.0/.installed';
    const wrapper = [
      'set -e',
      'mount -t tmpfs tmpfs /opt && mount -t tmpfs tmpfs /var/lib',
      `mkdir -p ${shellQuote(remote.slice(0, remote.lastIndexOf('/')))} && cp ${shellQuote(join(dir, 'hello.tar.gz'))} ${shellQuote(remote)}`,
      // Two runs at once, as when a restarted operator repeats a step the host is still running.
      `sh -c ${shellQuote(install)} & sh -c ${shellQuote(install)} & wait`,
      `echo "after both: $(stat -c %y ${record}) $(stat -c %y ${marker})"`,
      `sh -c ${shellQuote(install)}`,
      `echo "after again: $(stat -c %y ${record}) $(stat -c %y ${marker})"`,
      `sh -c ${shellQuote(renderInstallScript(manifest, archiveSha, { reinstall: true }))}`,
      `echo "after reinstall: $(stat -c %y ${record}) $(stat -c %y ${marker})"`,
    ].join('\n');
    const result = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', wrapper], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    const times = (label: string) => new RegExp(`^after ${label}: (.*)$`, 'm').exec(result.stdout)?.[1];
    assert.ok(times('both'), result.stdout);
    assert.equal(times('again'), times('both'), 'a finished install is left as it is: neither the record nor the files are written again');
    assert.notEqual(times('reinstall'), times('both'), 'a reinstall unpacks and records again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
