// The binary cache outside the repository: `<root>/<component>-<version>/<component>` plus a
// `source.json` saying where the binary came from. An entry appears in one rename of a fully
// written directory, so a build or download killed half way never leaves a binary that looks
// finished. A lock file per build serialises processes that would otherwise build the same
// thing at once (parallel test files on a fresh machine).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, readdir, rename, rm, stat, utimes, writeFile, chmod } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Component } from './versions.ts';

export interface Provenance {
  component: Component;
  version: string;
  source: 'release' | 'build';
  installedAt: string;
  /** For a release: the artifact downloaded and its verified SHA-256. */
  url?: string;
  sha256?: string;
  /** For a build: the wrapper module and the Go that compiled it. */
  moduleDir?: string;
  goVersion?: string;
}

/** `$TESSERA_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/tessera`. */
export function cacheRoot(env: NodeJS.ProcessEnv): string {
  if (env['TESSERA_CACHE']) return env['TESSERA_CACHE'];
  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(base, 'tessera');
}

export function cacheEntryDir(root: string, component: Component, version: string): string {
  return join(root, `${component}-${version}`);
}

export function cacheEntryPath(root: string, component: Component, version: string): string {
  return join(cacheEntryDir(root, component, version), component);
}

/** True when path is a regular file this process may execute. */
export async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function readProvenance(root: string, component: Component, version: string): Promise<Provenance | undefined> {
  try {
    const text = await readFile(join(cacheEntryDir(root, component, version), 'source.json'), 'utf8');
    return JSON.parse(text) as Provenance;
  } catch {
    return undefined;
  }
}

function stagingRoot(root: string): string {
  return join(root, '.staging');
}

/**
 * A fresh scratch directory on the cache's filesystem (so the final rename is atomic), named
 * with this process's pid so a later run can tell an abandoned one from a live one.
 */
export async function createStagingDir(root: string, label: string): Promise<string> {
  const dir = join(stagingRoot(root), `${label}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging directories left by processes that died mid-build. */
export async function removeAbandonedStaging(root: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(stagingRoot(root));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid)) {
      await rm(join(stagingRoot(root), name), { recursive: true, force: true });
    }
  }
}

/**
 * Moves a finished binary into the cache: it goes into a complete entry directory inside the
 * staging area first, then that directory is renamed into place. When another process
 * installed the same entry first, its entry stays and ours is discarded.
 */
export async function installEntry(root: string, binaryPath: string, provenance: Provenance): Promise<string> {
  const { component, version } = provenance;
  const staged = await createStagingDir(root, `${component}-${version}-entry`);
  try {
    await rename(binaryPath, join(staged, component));
    await chmod(join(staged, component), 0o755);
    await writeFile(join(staged, 'source.json'), `${JSON.stringify(provenance, null, 2)}\n`);
    const finalDir = cacheEntryDir(root, component, version);
    const finalPath = cacheEntryPath(root, component, version);
    try {
      await rename(staged, finalDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      if (await isExecutableFile(finalPath)) return finalPath;
      // A directory without its binary was not made by installEntry (renames are whole):
      // replace it.
      await rm(finalDir, { recursive: true, force: true });
      await rename(staged, finalDir);
    }
    return finalPath;
  } finally {
    await rm(staged, { recursive: true, force: true });
  }
}

export interface LockOptions {
  /** Called when another live process holds the lock, and again every `reportEveryMs`. */
  onWait?: (holderPid: number) => void;
  pollMs?: number;
  reportEveryMs?: number;
  /** A holder refreshes the lock's mtime; one untouched this long is abandoned. */
  staleAfterMs?: number;
}

const HEARTBEAT_MS = 10_000;

/**
 * Runs fn while holding `<root>/.locks/<name>.lock`. The lock is a file created exclusively,
 * holding the owner's pid; a lock whose owner is dead, or whose heartbeat stopped, is taken over.
 */
export async function withCacheLock<T>(root: string, name: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const { pollMs = 250, reportEveryMs = 30_000, staleAfterMs = 6 * HEARTBEAT_MS } = options;
  const dir = join(root, '.locks');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.lock`);
  let lastReport = 0;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLockHolder(path);
    if (holder === undefined) continue; // released between our open and read
    const abandoned =
      (holder.pid > 0 && !isProcessAlive(holder.pid)) || Date.now() - holder.modifiedMs > staleAfterMs;
    if (abandoned) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() - lastReport >= reportEveryMs) {
      lastReport = Date.now();
      options.onWait?.(holder.pid);
    }
    await sleep(pollMs);
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    await rm(path, { force: true });
  }
}

async function readLockHolder(path: string): Promise<{ pid: number; modifiedMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    // An empty file is a lock being created right now: pid 0 means "alive, check the mtime".
    return { pid: Number(text.trim()) || 0, modifiedMs: info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
