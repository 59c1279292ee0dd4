import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { DownloadError, downloadVerified, extractTarMembers, fetchPublishedSha256 } from './download.ts';
import type { DownloadOptions } from './download.ts';

const binary = Buffer.from('#!/bin/sh\necho "Kubernetes v9.9.9"\n');
const sha256 = createHash('sha256').update(binary).digest('hex');
const wrongSha256 = createHash('sha256').update('something else').digest('hex');

let server: Server;
let base: string;
let workDir: string;
let archive: Buffer;
const hung: Array<() => void> = [];

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'tessera-download-'));
  // A release-shaped archive made by the real tar: <dir>/etcd and <dir>/etcdctl.
  const tree = join(workDir, 'tree', 'etcd-v9.9.9-linux-amd64');
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, 'etcd'), 'etcd binary', { mode: 0o755 });
  await writeFile(join(tree, 'etcdctl'), 'etcdctl binary', { mode: 0o755 });
  await writeFile(join(tree, 'README.md'), 'docs');
  await promisify(execFile)('tar', ['-czf', join(workDir, 'etcd.tar.gz'), '-C', join(workDir, 'tree'), 'etcd-v9.9.9-linux-amd64']);
  archive = await readFile(join(workDir, 'etcd.tar.gz'));

  const routes: Record<string, string | Buffer> = {
    '/bin/kube-apiserver': binary,
    '/bin/kube-apiserver.sha256': `${sha256}\n`,
    '/bin/wrong.sha256': wrongSha256,
    '/bin/garbage.sha256': '<html>not found</html>',
    '/SHA256SUMS': `${wrongSha256}  etcd-v9.9.9-darwin-arm64.zip\n${sha256} *kube-apiserver\n`,
    '/release.json': JSON.stringify({ assets: [{ name: 'kwok-linux-amd64', digest: `sha256:${sha256}` }, { name: 'kwok-linux-arm64', digest: null }] }),
    '/etcd.tar.gz': archive,
  };
  server = createServer((request, response) => {
    const url = request.url ?? '/';
    if (url === '/hang') {
      hung.push(() => response.destroy());
      return;
    }
    if (url === '/truncated') {
      // Half the promised body, then the connection drops.
      response.writeHead(200, { 'content-length': String(binary.length * 2) });
      response.write(binary, () => response.destroy());
      return;
    }
    const body = routes[url];
    if (body === undefined) {
      response.writeHead(404, 'Not Found').end();
      return;
    }
    response.writeHead(200, { 'content-length': String(Buffer.byteLength(body)) }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const close of hung) close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(workDir, { recursive: true, force: true });
});

function options(overrides: Partial<DownloadOptions> = {}): DownloadOptions {
  return { fetch: globalThis.fetch, headersTimeoutMs: 2_000, idleTimeoutMs: 2_000, ...overrides };
}

async function rejectsWith(promise: Promise<unknown>, failure: DownloadError['failure'], message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DownloadError, String(error));
    assert.equal(error.failure, failure);
    assert.match(error.message, message);
    return true;
  });
}

void test('a published .sha256 file gives the digest', async () => {
  assert.equal(await fetchPublishedSha256({ kind: 'sha256-file', url: `${base}/bin/kube-apiserver.sha256` }, options()), sha256);
});

void test('a SHA256SUMS listing gives the digest of the named entry', async () => {
  assert.equal(await fetchPublishedSha256({ kind: 'sha256sums', url: `${base}/SHA256SUMS`, entry: 'kube-apiserver' }, options()), sha256);
  await rejectsWith(
    fetchPublishedSha256({ kind: 'sha256sums', url: `${base}/SHA256SUMS`, entry: 'etcd-v9.9.9-linux-amd64.tar.gz' }, options()),
    'checksum',
    /lists no checksum for etcd-v9\.9\.9-linux-amd64\.tar\.gz/,
  );
});

void test('a GitHub release digest gives the asset digest, and a missing digest is an error', async () => {
  const source = { kind: 'github-asset-digest', url: `${base}/release.json` } as const;
  assert.equal(await fetchPublishedSha256({ ...source, asset: 'kwok-linux-amd64' }, options()), sha256);
  await rejectsWith(fetchPublishedSha256({ ...source, asset: 'kwok-linux-arm64' }, options()), 'checksum', /no sha256 digest for kwok-linux-arm64/);
  await rejectsWith(fetchPublishedSha256({ ...source, asset: 'kwok-darwin-amd64' }, options()), 'checksum', /no asset named kwok-darwin-amd64/);
});

void test('a checksum file that holds no digest is refused', async () => {
  await rejectsWith(fetchPublishedSha256({ kind: 'sha256-file', url: `${base}/bin/garbage.sha256` }, options()), 'checksum', /does not hold a SHA-256/);
});

void test('a download whose SHA-256 matches the published one is kept', async () => {
  const destination = join(workDir, 'good');
  const progress: number[] = [];
  await downloadVerified(`${base}/bin/kube-apiserver`, sha256, destination, options({ onProgress: (received) => progress.push(received) }));
  assert.deepEqual(await readFile(destination), binary);
  assert.equal(progress.at(-1), binary.length);
});

void test('a download whose SHA-256 differs from the published one is rejected and emptied', async () => {
  const destination = join(workDir, 'mismatch');
  const published = await fetchPublishedSha256({ kind: 'sha256-file', url: `${base}/bin/wrong.sha256` }, options());
  await rejectsWith(
    downloadVerified(`${base}/bin/kube-apiserver`, published, destination, options()),
    'checksum',
    new RegExp(`checksum mismatch for ${base}/bin/kube-apiserver: published sha256 ${wrongSha256}, downloaded file has ${sha256}`),
  );
  assert.equal((await stat(destination)).size, 0);
});

void test('an HTTP error status is reported with the URL', async () => {
  await rejectsWith(downloadVerified(`${base}/missing`, sha256, join(workDir, 'missing'), options()), 'http', /\/missing: HTTP 404 Not Found/);
});

void test('a refused connection fails at once as a network failure', async () => {
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await new Promise((resolve) => closed.once('listening', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const started = Date.now();
  await rejectsWith(fetchPublishedSha256({ kind: 'sha256-file', url: `http://127.0.0.1:${port}/x.sha256` }, options()), 'network', /ECONNREFUSED/);
  assert.ok(Date.now() - started < 2_000);
});

void test('a server that never answers fails after the header timeout', async () => {
  const started = Date.now();
  await rejectsWith(
    fetchPublishedSha256({ kind: 'sha256-file', url: `${base}/hang` }, options({ headersTimeoutMs: 300 })),
    'network',
    /no response within 300 ms/,
  );
  assert.ok(Date.now() - started < 2_000);
});

void test('a body cut short of its content-length is a network failure', async () => {
  await rejectsWith(downloadVerified(`${base}/truncated`, sha256, join(workDir, 'truncated'), options()), 'network', /connection closed|terminated|other side closed/);
});

void test('members of a release archive are extracted by base name', async () => {
  const destination = join(workDir, 'unpacked');
  await mkdir(destination);
  await extractTarMembers(join(workDir, 'etcd.tar.gz'), ['etcd-v9.9.9-linux-amd64/etcd', 'etcd-v9.9.9-linux-amd64/etcdctl'], destination);
  assert.equal(await readFile(join(destination, 'etcd'), 'utf8'), 'etcd binary');
  assert.equal(await readFile(join(destination, 'etcdctl'), 'utf8'), 'etcdctl binary');
  await assert.rejects(stat(join(destination, 'README.md')), { code: 'ENOENT' });
});

void test('an archive without the expected member is an archive failure', async () => {
  const destination = join(workDir, 'unpacked-missing');
  await mkdir(destination);
  await rejectsWith(extractTarMembers(join(workDir, 'etcd.tar.gz'), ['etcd-v9.9.9-linux-amd64/etcdutl'], destination), 'archive', /etcdutl/);
});
