// Official release downloads, verified against the checksum upstream publishes. Meant to fail
// fast: a machine without internet should learn that in seconds and go on to build instead.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { ChecksumSource } from './versions.ts';

export interface DownloadOptions {
  fetch: typeof globalThis.fetch;
  /** Time allowed until response headers arrive. */
  headersTimeoutMs: number;
  /** Time allowed without a single body byte once the response has started. */
  idleTimeoutMs: number;
  onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
}

export const DEFAULT_DOWNLOAD_OPTIONS: Omit<DownloadOptions, 'fetch'> = { headersTimeoutMs: 5_000, idleTimeoutMs: 30_000 };

/** Why a download failed; `network` means later downloads in the same run are not worth trying. */
export type DownloadFailure = 'network' | 'http' | 'checksum' | 'archive';

export class DownloadError extends Error {
  readonly failure: DownloadFailure;
  /** The URL that failed, when the failure is about one. */
  readonly url: string | undefined;
  constructor(failure: DownloadFailure, message: string, url?: string) {
    super(message);
    this.name = 'DownloadError';
    this.failure = failure;
    this.url = url;
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function describeFetchError(url: string, error: unknown, timedOut: 'headers' | 'idle' | undefined, options: DownloadOptions): DownloadError {
  if (timedOut === 'headers') return new DownloadError('network', `${url}: no response within ${options.headersTimeoutMs} ms`, url);
  if (timedOut === 'idle') return new DownloadError('network', `${url}: stalled for ${options.idleTimeoutMs} ms`, url);
  // undici reports the system error (ENOTFOUND, ECONNREFUSED, ...) as the cause of "fetch failed".
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const text = cause instanceof Error ? cause.message : String(cause);
  return new DownloadError('network', `${url}: ${code && !text.includes(code) ? `${code} ${text}` : text}`, url);
}

/**
 * GETs url and hands each body chunk to onChunk, enforcing the header and idle timeouts.
 * Resolves with the number of bytes received.
 */
async function streamUrl(url: string, options: DownloadOptions, onChunk: (chunk: Uint8Array) => Promise<void> | void): Promise<number> {
  const controller = new AbortController();
  let timedOut: 'headers' | 'idle' | undefined;
  let timer = setTimeout(() => {
    timedOut = 'headers';
    controller.abort();
  }, options.headersTimeoutMs);
  const armIdle = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = 'idle';
      controller.abort();
    }, options.idleTimeoutMs);
  };
  try {
    let response: Response;
    try {
      response = await options.fetch(url, { signal: controller.signal, redirect: 'follow' });
    } catch (error) {
      throw describeFetchError(url, error, timedOut, options);
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel().catch(() => undefined);
      throw new DownloadError('http', `${url}: HTTP ${response.status} ${response.statusText}`.trimEnd(), url);
    }
    const length = Number(response.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : undefined;
    let received = 0;
    armIdle();
    try {
      for await (const chunk of response.body) {
        armIdle();
        received += chunk.byteLength;
        await onChunk(chunk);
        options.onProgress?.(received, total);
      }
    } catch (error) {
      if (error instanceof DownloadError) throw error;
      throw describeFetchError(url, error, timedOut, options);
    }
    if (total !== undefined && received !== total) {
      throw new DownloadError('network', `${url}: connection closed after ${received} of ${total} bytes`, url);
    }
    return received;
  } finally {
    clearTimeout(timer);
  }
}

async function fetchText(url: string, options: DownloadOptions): Promise<string> {
  const chunks: Uint8Array[] = [];
  await streamUrl(url, { ...options, onProgress: undefined }, (chunk) => {
    chunks.push(chunk);
  });
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads the SHA-256 upstream publishes for an artifact, in whichever format it uses. */
export async function fetchPublishedSha256(checksum: ChecksumSource, options: DownloadOptions): Promise<string> {
  const text = await fetchText(checksum.url, options);
  let digest: string | undefined;
  switch (checksum.kind) {
    case 'sha256-file':
      digest = text.trim().split(/\s+/)[0];
      break;
    case 'sha256sums':
      for (const line of text.split('\n')) {
        const [hash, name] = line.trim().split(/\s+/);
        // sha256sum marks binary mode with a leading "*" on the name.
        if (name !== undefined && name.replace(/^\*/, '') === checksum.entry) digest = hash;
      }
      if (digest === undefined) throw new DownloadError('checksum', `${checksum.url} lists no checksum for ${checksum.entry}`);
      break;
    case 'github-asset-digest': {
      let release: { assets?: { name?: string; digest?: string | null }[] };
      try {
        release = JSON.parse(text) as typeof release;
      } catch {
        throw new DownloadError('checksum', `${checksum.url} is not the JSON of a GitHub release`);
      }
      const asset = release.assets?.find((candidate) => candidate.name === checksum.asset);
      if (!asset) throw new DownloadError('checksum', `${checksum.url} has no asset named ${checksum.asset}`);
      digest = asset.digest?.startsWith('sha256:') ? asset.digest.slice('sha256:'.length) : undefined;
      if (digest === undefined) throw new DownloadError('checksum', `${checksum.url} publishes no sha256 digest for ${checksum.asset}`);
      break;
    }
  }
  digest = digest?.toLowerCase();
  if (digest === undefined || !SHA256_HEX.test(digest)) {
    throw new DownloadError('checksum', `${checksum.url} does not hold a SHA-256 (got "${text.slice(0, 80).trim()}")`);
  }
  return digest;
}

/**
 * Downloads url to destination and checks its SHA-256 against the expected one. On a mismatch
 * the file is truncated to nothing, so it can never be mistaken for the real artifact.
 */
export async function downloadVerified(url: string, expectedSha256: string, destination: string, options: DownloadOptions): Promise<void> {
  const hash = createHash('sha256');
  const file = await open(destination, 'w', 0o600);
  let actual: string;
  try {
    await streamUrl(url, options, async (chunk) => {
      hash.update(chunk);
      await file.write(chunk);
    });
    actual = hash.digest('hex');
    if (actual !== expectedSha256) await file.truncate(0);
  } finally {
    await file.close();
  }
  if (actual !== expectedSha256) {
    throw new DownloadError('checksum', `checksum mismatch for ${url}: published sha256 ${expectedSha256}, downloaded file has ${actual}`, url);
  }
}

/** Extracts members of a .tar.gz into directory with the system tar, keeping only base names. */
export async function extractTarMembers(archive: string, members: readonly string[], directory: string): Promise<void> {
  const strip = members.map((member) => member.split('/').length - 1);
  if (new Set(strip).size > 1) throw new Error(`tar members ${members.join(', ')} must sit at the same depth`);
  const args = ['-xzf', archive, '-C', directory, `--strip-components=${strip[0] ?? 0}`, '--', ...members];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        new DownloadError(
          'archive',
          error.code === 'ENOENT' ? 'cannot unpack the release archive: `tar` is not on PATH' : `tar: ${error.message}`,
        ),
      );
    });
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new DownloadError('archive', `tar ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}
