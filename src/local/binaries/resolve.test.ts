import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cacheEntryPath, createStagingDir, installEntry, readProvenance } from './cache.ts';
import { GoToolchainMissingError } from './go-build.ts';
import { binaryVersion, ensureBinaries, inspectBinaries, resolveBinaries } from './resolve.ts';
import type { ProgressEvent } from './resolve.ts';
import type { Component, ComponentPin, PinLookup, ReleaseArtifact } from './versions.ts';

// A tiny Go module stands in for the upstream wrapper modules: the resolution code runs for
// real (HTTP, checksums, go build, cache) in seconds instead of the many minutes Kubernetes takes.
const TINY_COMPONENTS = ['kubectl', 'kube-scheduler', 'kwok'] as const;
const servedBinary = Buffer.from('#!/bin/sh\necho "Client Version: v7.7.7"\n');
const servedSha256 = createHash('sha256').update(servedBinary).digest('hex');

let workDir: string;
let modulesDir: string;
let server: Server;
let base: string;
const requests: string[] = [];

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'tessera-resolve-'));
  modulesDir = join(workDir, 'modules');
  await mkdir(join(modulesDir, 'tiny'), { recursive: true });
  await writeFile(join(modulesDir, 'tiny', 'go.mod'), 'module example.test/tiny\n\ngo 1.26.0\n');
  for (const component of TINY_COMPONENTS) {
    await mkdir(join(modulesDir, 'tiny', 'cmd', component), { recursive: true });
    await writeFile(
      join(modulesDir, 'tiny', 'cmd', component, 'main.go'),
      `package main\n\nimport "fmt"\n\nvar version = "unstamped"\n\nfunc main() { fmt.Println("Client Version: v" + version) }\n`,
    );
  }
  const routes: Record<string, string | Buffer> = {
    '/kubectl': servedBinary,
    '/kubectl.sha256': servedSha256,
    '/kubectl.wrong.sha256': createHash('sha256').update('not the binary').digest('hex'),
  };
  server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const body = routes[request.url ?? ''];
    if (body === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'content-length': String(Buffer.byteLength(body)) }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(workDir, { recursive: true, force: true });
});

function tinyPins(release: (component: Component) => ReleaseArtifact | undefined): PinLookup {
  return (component) => ({
    component,
    version: component === 'kwok' ? '0.0.1' : '9.9.9',
    build: { moduleDir: 'tiny', goPackage: `example.test/tiny/cmd/${component}`, ldflags: ['-s', '-w', '-X main.version=9.9.9-built'] },
    release: release(component),
  });
}

const noRelease = tinyPins(() => undefined);

async function freshCache(): Promise<string> {
  return mkdtemp(join(workDir, 'cache-'));
}

function recorder(): { events: ProgressEvent[]; onProgress: (event: ProgressEvent) => void; steps: () => string[] } {
  const events: ProgressEvent[] = [];
  return {
    events,
    onProgress: (event) => events.push(event),
    steps: () => events.filter((event) => event.kind === 'step').map((event) => event.message),
  };
}

const refuseNetwork: typeof fetch = () => Promise.reject(new Error('this test must not touch the network'));

async function executable(path: string, content: string): Promise<void> {
  await writeFile(path, content);
  await chmod(path, 0o755);
}

async function cacheEntry(cache: string, pin: ComponentPin, content: string): Promise<string> {
  const staging = await createStagingDir(cache, 'test');
  await writeFile(join(staging, pin.component), content);
  const path = await installEntry(cache, join(staging, pin.component), {
    component: pin.component,
    version: pin.version,
    source: 'build',
    installedAt: '2026-01-01T00:00:00Z',
    moduleDir: 'tiny',
    goVersion: '1.26.8',
  });
  await rm(staging, { recursive: true, force: true });
  return path;
}

void test('a binary in TESSERA_KUBE_BIN wins over the cache', async () => {
  const cache = await freshCache();
  const override = await mkdtemp(join(workDir, 'override-'));
  await executable(join(override, 'kubectl'), '#!/bin/sh\necho own\n');
  await cacheEntry(cache, noRelease('kubectl', '9.9.9'), 'cached');

  const resolved = await resolveBinaries({
    components: ['kubectl'],
    env: { ...process.env, TESSERA_CACHE: cache, TESSERA_KUBE_BIN: override },
    modulesDir,
    pins: noRelease,
    fetch: refuseNetwork,
  });
  assert.equal(resolved.kubectl.source, 'override');
  assert.equal(resolved.kubectl.path, join(override, 'kubectl'));
});

void test('a TESSERA_KUBE_BIN directory without the component falls through to the cache', async () => {
  const cache = await freshCache();
  const override = await mkdtemp(join(workDir, 'override-'));
  const cached = await cacheEntry(cache, noRelease('kubectl', '9.9.9'), 'cached');
  const resolved = await resolveBinaries({
    components: ['kubectl'],
    env: { ...process.env, TESSERA_CACHE: cache, TESSERA_KUBE_BIN: override },
    modulesDir,
    pins: noRelease,
    fetch: refuseNetwork,
  });
  assert.equal(resolved.kubectl.source, 'cache');
  assert.equal(resolved.kubectl.path, cached);
  assert.match(resolved.kubectl.detail, /built 2026-01-01T00:00:00Z from tools\/upstream\/tiny with go1\.26\.8/);
});

void test('a non-executable file in TESSERA_KUBE_BIN is an error that says how to fix it', async () => {
  const override = await mkdtemp(join(workDir, 'override-'));
  await writeFile(join(override, 'kubectl'), 'not executable', { mode: 0o644 });
  await assert.rejects(
    ensureBinaries({ components: ['kubectl'], env: { ...process.env, TESSERA_CACHE: await freshCache(), TESSERA_KUBE_BIN: override }, modulesDir, pins: noRelease }),
    /kubectl \(from TESSERA_KUBE_BIN\) is not an executable file: run `chmod \+x/,
  );
});

void test('a TESSERA_KUBE_BIN that is not a directory is an error, not a silent build', async () => {
  await assert.rejects(
    ensureBinaries({ components: ['kubectl'], env: { ...process.env, TESSERA_KUBE_BIN: join(workDir, 'nowhere') }, modulesDir, pins: noRelease }),
    /TESSERA_KUBE_BIN=.*nowhere is not a directory/,
  );
});

void test('a cached binary is used without network or Go', async () => {
  const cache = await freshCache();
  const cached = await cacheEntry(cache, noRelease('kubectl', '9.9.9'), 'cached');
  const paths = await ensureBinaries({
    components: ['kubectl'],
    env: { TESSERA_CACHE: cache, PATH: join(workDir, 'no-go-here') },
    modulesDir,
    pins: tinyPins(() => ({ url: `${base}/kubectl`, checksum: { kind: 'sha256-file', url: `${base}/kubectl.sha256` } })),
    fetch: refuseNetwork,
  });
  assert.deepEqual(paths, { kubectl: cached });
});

void test('a verified release download is installed into the cache and used from there next time', async () => {
  const cache = await freshCache();
  const pins = tinyPins(() => ({ url: `${base}/kubectl`, checksum: { kind: 'sha256-file', url: `${base}/kubectl.sha256` } }));
  const env = { ...process.env, TESSERA_CACHE: cache };
  const progress = recorder();

  const first = await resolveBinaries({ components: ['kubectl'], env, modulesDir, pins, onProgress: progress.onProgress });
  assert.equal(first.kubectl.source, 'release');
  assert.equal(first.kubectl.path, cacheEntryPath(cache, 'kubectl', '9.9.9'));
  assert.deepEqual(await readFile(first.kubectl.path), servedBinary);
  assert.equal(await binaryVersion(first.kubectl.path, 'kubectl'), '7.7.7');
  assert.deepEqual(await readProvenance(cache, 'kubectl', '9.9.9'), {
    component: 'kubectl',
    version: '9.9.9',
    source: 'release',
    installedAt: (await readProvenance(cache, 'kubectl', '9.9.9'))?.installedAt,
    url: `${base}/kubectl`,
    sha256: servedSha256,
  });
  assert.deepEqual(progress.steps(), [`kubectl 9.9.9: downloaded and verified ${base}/kubectl`]);

  const second = await resolveBinaries({ components: ['kubectl'], env, modulesDir, pins, fetch: refuseNetwork });
  assert.equal(second.kubectl.source, 'cache');
  assert.match(second.kubectl.detail, new RegExp(`downloaded .* from ${base}/kubectl \\(sha256 verified\\)`));
});

void test('a release whose checksum does not match is rejected and the binary is built with Go instead', async () => {
  const cache = await freshCache();
  const progress = recorder();
  const resolved = await resolveBinaries({
    components: ['kubectl'],
    env: { ...process.env, TESSERA_CACHE: cache },
    modulesDir,
    pins: tinyPins(() => ({ url: `${base}/kubectl`, checksum: { kind: 'sha256-file', url: `${base}/kubectl.wrong.sha256` } })),
    onProgress: progress.onProgress,
  });
  assert.equal(resolved.kubectl.source, 'build');
  assert.equal(await binaryVersion(resolved.kubectl.path, 'kubectl'), '9.9.9');
  assert.notDeepEqual(await readFile(resolved.kubectl.path), servedBinary);
  const [why] = progress.steps();
  assert.match(why ?? '', new RegExp(`^kubectl 9\\.9\\.9: release download failed \\(checksum mismatch for ${base}/kubectl: .*\\); building from source with Go$`));
  assert.equal((await readProvenance(cache, 'kubectl', '9.9.9'))?.source, 'build');
});

void test('an unreachable release server costs one attempt; later groups skip it and are built', async () => {
  const cache = await freshCache();
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await new Promise((resolve) => closed.once('listening', resolve));
  const deadBase = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((resolve) => closed.close(resolve));
  let fetches = 0;
  const countingFetch: typeof fetch = (input, init) => {
    fetches += 1;
    return fetch(input, init);
  };
  const progress = recorder();
  // kubectl (9.9.9) and kwok (0.0.1) are two build groups of the tiny module.
  const resolved = await resolveBinaries({
    components: ['kubectl', 'kwok'],
    env: { ...process.env, TESSERA_CACHE: cache },
    modulesDir,
    pins: tinyPins((component) => ({ url: `${deadBase}/${component}`, checksum: { kind: 'sha256-file', url: `${deadBase}/${component}.sha256` } })),
    fetch: countingFetch,
    onProgress: progress.onProgress,
  });
  assert.equal(resolved.kubectl.source, 'build');
  assert.equal(resolved.kwok.source, 'build');
  assert.equal(fetches, 1);
  const reasons = progress.steps().filter((step) => step.includes('building from source'));
  assert.match(reasons[0] ?? '', /^kubectl 9\.9\.9: release download failed \(.*ECONNREFUSED.*\); building from source with Go$/);
  assert.match(reasons[1] ?? '', /^kwok 0\.0\.1: release download skipped: 127\.0\.0\.1:\d+ was unreachable earlier in this run; building from source with Go$/);
});

void test('components of one module are built by a single go build, with progress', async () => {
  const cache = await freshCache();
  const progress = recorder();
  const paths = await ensureBinaries({
    components: ['kubectl', 'kube-scheduler'],
    env: { ...process.env, TESSERA_CACHE: cache, TESSERA_OFFLINE: '1' },
    modulesDir,
    pins: noRelease,
    onProgress: progress.onProgress,
  });
  assert.equal(await binaryVersion(paths.kubectl, 'kubectl'), '9.9.9');
  assert.equal(await binaryVersion(paths['kube-scheduler'], 'kube-scheduler'), '9.9.9');
  const steps = progress.steps();
  assert.equal(steps.filter((step) => step.startsWith('building kubectl, kube-scheduler 9.9.9 with go')).length, 1);
  assert.match(steps[0] ?? '', /release downloads are off \(TESSERA_OFFLINE is set\)/);
  assert.ok(progress.events.some((event) => event.kind === 'progress' && /packages compiled/.test(event.message)));
  assert.match(steps.at(-1) ?? '', /^built kubectl, kube-scheduler 9\.9\.9 in \d+s$/);
});

void test('two processes asking at once build once; the second waits and takes the cached result', async () => {
  const cache = await freshCache();
  const env = { ...process.env, TESSERA_CACHE: cache, TESSERA_OFFLINE: '1' };
  const [a, b] = await Promise.all([
    resolveBinaries({ components: ['kube-scheduler'], env, modulesDir, pins: noRelease }),
    resolveBinaries({ components: ['kube-scheduler'], env, modulesDir, pins: noRelease }),
  ]);
  assert.deepEqual([a['kube-scheduler'].source, b['kube-scheduler'].source].sort(), ['build', 'cache']);
  assert.equal(a['kube-scheduler'].path, b['kube-scheduler'].path);
});

void test('without Go, the error says what is missing and every way to fix it', async () => {
  const cache = await freshCache();
  await assert.rejects(
    ensureBinaries({ components: ['kubectl'], env: { TESSERA_CACHE: cache, TESSERA_OFFLINE: '1', PATH: join(workDir, 'no-go-here') }, modulesDir, pins: noRelease }),
    (error: unknown) => {
      assert.ok(error instanceof GoToolchainMissingError);
      assert.match(error.message, /^cannot get kubectl 9\.9\.9: release downloads are off \(TESSERA_OFFLINE is set\), and building from source needs Go 1\.26\.0 or newer, but `go` is not on PATH\./);
      assert.match(error.message, /https:\/\/go\.dev\/dl\//);
      assert.match(error.message, /set TESSERA_KUBE_BIN/);
      return true;
    },
  );
});

void test('inspectBinaries reports what is ready without producing anything', async () => {
  const cache = await freshCache();
  await cacheEntry(cache, noRelease('kubectl', '9.9.9'), 'cached');
  const found = await inspectBinaries({ components: ['kubectl', 'kwok'], env: { TESSERA_CACHE: cache }, pins: noRelease });
  assert.equal(found.kubectl?.source, 'cache');
  assert.equal(found.kwok, undefined);
});
