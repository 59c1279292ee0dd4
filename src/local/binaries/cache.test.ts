import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cacheEntryPath,
  cacheRoot,
  createStagingDir,
  installEntry,
  isExecutableFile,
  readProvenance,
  removeAbandonedStaging,
  withCacheLock,
} from './cache.ts';
import type { Provenance } from './cache.ts';

async function tempRoot(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'tessera-cache-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

function provenance(version: string): Provenance {
  return { component: 'kubectl', version, source: 'build', installedAt: new Date().toISOString(), moduleDir: 'kubernetes-1.37', goVersion: '1.26.8' };
}

/** A pid that certainly belongs to no running process: one that has just exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  assert.ok(child.pid);
  return child.pid;
}

void test('the cache lives in TESSERA_CACHE, else under XDG_CACHE_HOME, else ~/.cache/tessera', () => {
  assert.equal(cacheRoot({ TESSERA_CACHE: '/x/cache', HOME: '/home/a' }), '/x/cache');
  assert.equal(cacheRoot({ XDG_CACHE_HOME: '/xdg', HOME: '/home/a' }), '/xdg/tessera');
  assert.equal(cacheRoot({ HOME: '/home/a' }), '/home/a/.cache/tessera');
});

void test('installEntry makes an executable entry with its provenance and leaves nothing in staging', async (t) => {
  const root = await tempRoot(t);
  const staging = await createStagingDir(root, 'build');
  await writeFile(join(staging, 'kubectl'), '#!/bin/sh\necho v1.37.2\n', { mode: 0o600 });

  const path = await installEntry(root, join(staging, 'kubectl'), provenance('1.37.2'));

  assert.equal(path, cacheEntryPath(root, 'kubectl', '1.37.2'));
  assert.equal(path, join(root, 'kubectl-1.37.2', 'kubectl'));
  assert.ok(await isExecutableFile(path));
  assert.equal((await readProvenance(root, 'kubectl', '1.37.2'))?.goVersion, '1.26.8');
  await rm(staging, { recursive: true });
  assert.deepEqual(await readdir(join(root, '.staging')), []);
});

void test('installEntry keeps an entry another process installed first', async (t) => {
  const root = await tempRoot(t);
  for (const content of ['first', 'second']) {
    const staging = await createStagingDir(root, 'build');
    await writeFile(join(staging, 'kubectl'), content);
    await installEntry(root, join(staging, 'kubectl'), provenance('1.37.2'));
  }
  assert.equal(await readFile(cacheEntryPath(root, 'kubectl', '1.37.2'), 'utf8'), 'first');
});

void test('installEntry replaces an entry directory that has no binary in it', async (t) => {
  const root = await tempRoot(t);
  await mkdir(join(root, 'kubectl-1.37.2'), { recursive: true });
  await writeFile(join(root, 'kubectl-1.37.2', 'notes.txt'), 'left by hand');
  const staging = await createStagingDir(root, 'build');
  await writeFile(join(staging, 'kubectl'), 'binary');
  const path = await installEntry(root, join(staging, 'kubectl'), provenance('1.37.2'));
  assert.equal(await readFile(path, 'utf8'), 'binary');
});

void test('a writer killed half way through leaves no cache entry, and its staging is removed later', async (t) => {
  const root = await tempRoot(t);
  const cacheModule = new URL('./cache.ts', import.meta.url).href;
  // The child stages half a binary the way a download or build does, then is killed.
  const script = `
    import { createStagingDir } from ${JSON.stringify(cacheModule)};
    import { writeFile } from 'node:fs/promises';
    const dir = await createStagingDir(${JSON.stringify(root)}, 'kube-apiserver-1.37.2-build');
    await writeFile(dir + '/kube-apiserver', Buffer.alloc(4096), { mode: 0o755 });
    process.stdout.write('staged\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  child.kill('SIGKILL');
  await once(child, 'exit');

  assert.equal(await isExecutableFile(cacheEntryPath(root, 'kube-apiserver', '1.37.2')), false);
  assert.equal((await readdir(join(root, '.staging'))).length, 1);
  const ours = await createStagingDir(root, 'live');
  await removeAbandonedStaging(root);
  assert.deepEqual(await readdir(join(root, '.staging')), [ours.split('/').at(-1)]);
});

void test('a second holder of the cache lock waits until the first releases it', async (t) => {
  const root = await tempRoot(t);
  const order: string[] = [];
  const waitedFor: number[] = [];
  let releaseFirst = (): void => undefined;
  const first = withCacheLock(root, 'kubernetes-1.37-1.37.2', async () => {
    order.push('first start');
    await new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    order.push('first end');
  });
  await sleep(50);
  const second = withCacheLock(root, 'kubernetes-1.37-1.37.2', async () => {
    order.push('second');
  }, { pollMs: 20, onWait: (pid) => waitedFor.push(pid) });
  await sleep(200);
  assert.deepEqual(order, ['first start']);
  releaseFirst();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first start', 'first end', 'second']);
  assert.deepEqual(waitedFor, [process.pid]);
  await assert.rejects(stat(join(root, '.locks', 'kubernetes-1.37-1.37.2.lock')), { code: 'ENOENT' });
});

void test('a lock left by a dead process is taken over at once', async (t) => {
  const root = await tempRoot(t);
  await mkdir(join(root, '.locks'));
  await writeFile(join(root, '.locks', 'etcd-3.7-3.7.3.lock'), String(await deadPid()));
  const started = Date.now();
  const value = await withCacheLock(root, 'etcd-3.7-3.7.3', async () => 'ran', { pollMs: 20 });
  assert.equal(value, 'ran');
  assert.ok(Date.now() - started < 1_000);
});

void test('a lock whose heartbeat stopped is taken over even when its pid is alive', async (t) => {
  const root = await tempRoot(t);
  await mkdir(join(root, '.locks'));
  // Our own pid is alive, but a holder that stops refreshing the file counts as gone.
  await writeFile(join(root, '.locks', 'kwok-0.8.0.lock'), String(process.pid));
  await sleep(120);
  const value = await withCacheLock(root, 'kwok-0.8.0', async () => 'ran', { pollMs: 20, staleAfterMs: 100 });
  assert.equal(value, 'ran');
});

void test('isExecutableFile is false for directories, missing files and files without the x bit', async (t) => {
  const root = await tempRoot(t);
  await writeFile(join(root, 'plain'), 'x', { mode: 0o644 });
  await writeFile(join(root, 'tool'), 'x', { mode: 0o755 });
  assert.equal(await isExecutableFile(root), false);
  assert.equal(await isExecutableFile(join(root, 'missing')), false);
  assert.equal(await isExecutableFile(join(root, 'tool')), true);
  assert.equal(await isExecutableFile(join(root, 'plain')), false);
});
