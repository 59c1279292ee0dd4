// Bootstrap tokens: "<id>.<secret>" credentials that let a machine join the guest. Each is a
// Secret kube-system/bootstrap-token-<id> that the API server's token authenticator reads and the
// controller-manager's token cleaner deletes once expired. Tessera keeps one valid token at all
// times and hands it to machines (the Node operator).
import { KUBE_SYSTEM, guestMetadata, type GuestObject } from './guest-object.ts';
import { NODE_BOOTSTRAP_TOKEN_GROUP } from './bootstrap-rbac.ts';

export type BootstrapToken = {
  /** Public part, [a-z0-9]{6}; also the Secret's name suffix. */
  id: string;
  /** Private part, [a-z0-9]{16}. */
  secret: string;
  issuedAt: Date;
  expiresAt: Date;
};

/** Fills a buffer of the given size with random bytes; production passes crypto.randomBytes. */
export type RandomSource = (size: number) => Uint8Array;

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = 'bootstrap-token-';
/** kubeadm's default token lifetime. */
export const DEFAULT_BOOTSTRAP_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
/** The Secret has no issue time of its own; the rotation decision needs it to know the TTL. */
export const ISSUED_AT_ANNOTATION = 'tessera.dev/issued-at';

const ID_PATTERN = /^[a-z0-9]{6}$/;
const SECRET_PATTERN = /^[a-z0-9]{16}$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
// The largest multiple of 36 below 256: bytes at or above it are dropped so every character is
// equally likely (a plain `byte % 36` would favour the first 4 characters).
const UNBIASED_BYTE_LIMIT = 252;

function randomText(length: number, random: RandomSource): string {
  let text = '';
  while (text.length < length) {
    const bytes = random(length * 2);
    if (bytes.length === 0) throw new Error('bootstrap token: the random source returned no bytes; pass e.g. crypto.randomBytes');
    for (const byte of bytes) {
      if (byte < UNBIASED_BYTE_LIMIT && text.length < length) text += ALPHABET[byte % ALPHABET.length];
    }
  }
  return text;
}

export function generateBootstrapToken(options: { random: RandomSource; now: Date; ttlMs?: number }): BootstrapToken {
  const ttlMs = options.ttlMs ?? DEFAULT_BOOTSTRAP_TOKEN_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new Error(`bootstrap token: ttlMs ${ttlMs} must be a positive number of milliseconds`);
  return {
    id: randomText(6, options.random),
    secret: randomText(16, options.random),
    issuedAt: new Date(options.now.getTime()),
    expiresAt: new Date(options.now.getTime() + ttlMs),
  };
}

/** The credential a machine presents: "<id>.<secret>". */
export function bootstrapTokenString(token: BootstrapToken): string {
  return `${token.id}.${token.secret}`;
}

export function bootstrapTokenSecretName(id: string): string {
  return `${BOOTSTRAP_TOKEN_SECRET_PREFIX}${id}`;
}

// RFC 3339 without fractional seconds, the form kubeadm writes; Go's parser accepts both.
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function renderBootstrapTokenSecret(token: BootstrapToken): GuestObject {
  if (!ID_PATTERN.test(token.id)) throw new Error(`bootstrap token: id ${JSON.stringify(token.id)} must match [a-z0-9]{6}`);
  if (!SECRET_PATTERN.test(token.secret)) throw new Error('bootstrap token: secret must match [a-z0-9]{16}');
  const stringData: Record<string, string> = {
    'token-id': token.id,
    'token-secret': token.secret,
    expiration: rfc3339(token.expiresAt),
    'usage-bootstrap-authentication': 'true',
    'usage-bootstrap-signing': 'true',
    'auth-extra-groups': NODE_BOOTSTRAP_TOKEN_GROUP,
    description: 'Tessera: joins machines to this cluster',
  };
  // `data`, not `stringData`: stringData is write-only, so server-side apply would see it as a
  // field it owns but that never appears on the object.
  const data = Object.fromEntries(Object.entries(stringData).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
  const metadata = guestMetadata(bootstrapTokenSecretName(token.id), KUBE_SYSTEM);
  metadata.annotations = { [ISSUED_AT_ANNOTATION]: rfc3339(token.issuedAt) };
  return { apiVersion: 'v1', kind: 'Secret', metadata, type: BOOTSTRAP_TOKEN_SECRET_TYPE, data };
}

type SecretLike = {
  metadata?: { name?: string; creationTimestamp?: string; annotations?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
};

function parseTime(text: string | undefined, field: string): Date {
  const time = text === undefined ? Number.NaN : Date.parse(text);
  if (Number.isNaN(time)) throw new Error(`bootstrap token Secret: ${field} ${JSON.stringify(text)} is not an RFC 3339 time`);
  return new Date(time);
}

/**
 * Reads a token back from its Secret as the API server returns it (base64 `data`). The issue time
 * comes from Tessera's annotation, else the Secret's creationTimestamp (tokens made by others).
 */
export function parseBootstrapTokenSecret(secret: SecretLike): BootstrapToken {
  const name = secret.metadata?.name ?? '(unnamed)';
  if (secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) throw new Error(`Secret ${name}: type ${JSON.stringify(secret.type)} is not ${BOOTSTRAP_TOKEN_SECRET_TYPE}`);
  const field = (key: string): string | undefined => {
    const value = secret.data?.[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  const id = field('token-id') ?? '';
  const tokenSecret = field('token-secret') ?? '';
  if (!ID_PATTERN.test(id)) throw new Error(`Secret ${name}: data.token-id must match [a-z0-9]{6}`);
  if (!SECRET_PATTERN.test(tokenSecret)) throw new Error(`Secret ${name}: data.token-secret must match [a-z0-9]{16}`);
  if (name !== bootstrapTokenSecretName(id)) throw new Error(`Secret ${name}: name must be ${bootstrapTokenSecretName(id)} for data.token-id ${id}`);
  const issuedAtText = secret.metadata?.annotations?.[ISSUED_AT_ANNOTATION] ?? secret.metadata?.creationTimestamp;
  return {
    id,
    secret: tokenSecret,
    issuedAt: parseTime(issuedAtText, `metadata.annotations[${ISSUED_AT_ANNOTATION}]`),
    expiresAt: parseTime(field('expiration'), 'data.expiration'),
  };
}

export type BootstrapTokenRotation =
  | { rotate: true; reason: 'missing' | 'expired' | 'expiring' }
  /** The token is good until `rotateAt`: requeue then. */
  | { rotate: false; rotateAt: Date };

/**
 * A token is replaced once it is expired or in the last third of its lifetime. The old token
 * stays valid for that last third (the token cleaner removes it when it expires), so a machine
 * that was just handed the old token can still join and a valid token always exists.
 */
export function decideBootstrapTokenRotation(token: BootstrapToken | undefined, now: Date): BootstrapTokenRotation {
  if (token === undefined) return { rotate: true, reason: 'missing' };
  const expiresAt = token.expiresAt.getTime();
  if (now.getTime() >= expiresAt) return { rotate: true, reason: 'expired' };
  const ttl = expiresAt - token.issuedAt.getTime();
  const rotateAt = expiresAt - ttl / 3;
  // ttl <= 0 means the issue time is not before the expiry (a hand-edited annotation): replace it.
  if (ttl <= 0 || now.getTime() >= rotateAt) return { rotate: true, reason: 'expiring' };
  return { rotate: false, rotateAt: new Date(rotateAt) };
}

/** The token to hand out: the unexpired one that lives longest, if any. */
export function newestValidBootstrapToken(tokens: readonly BootstrapToken[], now: Date): BootstrapToken | undefined {
  let best: BootstrapToken | undefined;
  for (const token of tokens) {
    if (token.expiresAt.getTime() <= now.getTime()) continue;
    if (best === undefined || token.expiresAt.getTime() > best.expiresAt.getTime()) best = token;
  }
  return best;
}
