import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  bootstrapTokenString,
  decideBootstrapTokenRotation,
  generateBootstrapToken,
  newestValidBootstrapToken,
  parseBootstrapTokenSecret,
  renderBootstrapTokenSecret,
  type BootstrapToken,
  type RandomSource,
} from './bootstrap-token.ts';
import type { GuestObject } from './guest-object.ts';

/** Deterministic bytes: SHA-256 of seed and a counter. */
function seededRandom(seed: string): RandomSource {
  let counter = 0;
  return (size) => {
    const bytes = Buffer.alloc(size);
    for (let filled = 0; filled < size; ) filled += createHash('sha256').update(`${seed}:${counter++}`).digest().copy(bytes, filled);
    return bytes;
  };
}

const now = new Date('2026-03-01T12:00:00Z');
const hour = 60 * 60 * 1000;

test('a generated token has a 6-character id and a 16-character secret from [a-z0-9], and lives 24h by default', () => {
  const token = generateBootstrapToken({ random: seededRandom('a'), now });
  assert.match(token.id, /^[a-z0-9]{6}$/);
  assert.match(token.secret, /^[a-z0-9]{16}$/);
  assert.match(bootstrapTokenString(token), /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.equal(token.issuedAt.toISOString(), '2026-03-01T12:00:00.000Z');
  assert.equal(token.expiresAt.toISOString(), '2026-03-02T12:00:00.000Z');
});

test('the same random source gives the same token; another gives another', () => {
  const first = generateBootstrapToken({ random: seededRandom('seed'), now });
  assert.deepEqual(generateBootstrapToken({ random: seededRandom('seed'), now }), first);
  assert.notEqual(generateBootstrapToken({ random: seededRandom('other'), now }).id, first.id);
});

test('any random bytes give a well-formed token (bytes that would bias the alphabet are skipped)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (pattern) => {
      let offset = 0;
      // Cycles through the pattern; a pattern of only bytes >= 252 would never finish, so add one.
      const source = [...pattern, 7];
      const random: RandomSource = (size) => Uint8Array.from({ length: size }, () => source[offset++ % source.length] ?? 0);
      const token = generateBootstrapToken({ random, now, ttlMs: hour });
      return /^[a-z0-9]{6}$/.test(token.id) && /^[a-z0-9]{16}$/.test(token.secret);
    }),
  );
});

test('the token Secret is what the API server authenticator and bootstrap signer read', () => {
  const token: BootstrapToken = { id: 'abcdef', secret: '0123456789abcdef', issuedAt: now, expiresAt: new Date(now.getTime() + 24 * hour) };
  const secret = renderBootstrapTokenSecret(token) as GuestObject & { type: string; data: Record<string, string> };
  assert.equal(secret.metadata.name, 'bootstrap-token-abcdef');
  assert.equal(secret.metadata.namespace, 'kube-system');
  assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
  const data = Object.fromEntries(Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
  assert.equal(data['token-id'], 'abcdef');
  assert.equal(data['token-secret'], '0123456789abcdef');
  assert.equal(data['expiration'], '2026-03-02T12:00:00Z');
  assert.equal(data['usage-bootstrap-authentication'], 'true');
  assert.equal(data['usage-bootstrap-signing'], 'true');
  assert.equal(data['auth-extra-groups'], 'system:bootstrappers:kubeadm:default-node-token');
});

test('a token read back from its Secret equals the token written', () => {
  const token = generateBootstrapToken({ random: seededRandom('round-trip'), now, ttlMs: 6 * hour });
  assert.deepEqual(parseBootstrapTokenSecret(renderBootstrapTokenSecret(token)), token);
});

test('a Secret whose name does not match its token id is refused', () => {
  const secret = renderBootstrapTokenSecret(generateBootstrapToken({ random: seededRandom('x'), now }));
  secret.metadata.name = 'bootstrap-token-zzzzzz';
  assert.throws(() => parseBootstrapTokenSecret(secret), /name must be bootstrap-token-/);
});

test('rotation: no token, an expired token and a token in its last third are replaced', () => {
  const token: BootstrapToken = { id: 'abcdef', secret: '0123456789abcdef', issuedAt: now, expiresAt: new Date(now.getTime() + 24 * hour) };
  const at = (hours: number) => new Date(now.getTime() + hours * hour);
  assert.deepEqual(decideBootstrapTokenRotation(undefined, now), { rotate: true, reason: 'missing' });
  assert.deepEqual(decideBootstrapTokenRotation(token, at(0)), { rotate: false, rotateAt: at(16) });
  assert.deepEqual(decideBootstrapTokenRotation(token, at(15.99)), { rotate: false, rotateAt: at(16) });
  assert.deepEqual(decideBootstrapTokenRotation(token, at(16)), { rotate: true, reason: 'expiring' });
  assert.deepEqual(decideBootstrapTokenRotation(token, at(23.9)), { rotate: true, reason: 'expiring' });
  assert.deepEqual(decideBootstrapTokenRotation(token, at(24)), { rotate: true, reason: 'expired' });
});

test('rotating when told to keeps a valid token at every moment', () => {
  const random = seededRandom('timeline');
  const ttlMs = 3 * hour;
  const tokens: BootstrapToken[] = [];
  for (let minute = 0; minute <= 24 * 60; minute += 7) {
    const clock = new Date(now.getTime() + minute * 60_000);
    const current = newestValidBootstrapToken(tokens, clock);
    if (decideBootstrapTokenRotation(current, clock).rotate) tokens.push(generateBootstrapToken({ random, now: clock, ttlMs }));
    const valid = newestValidBootstrapToken(tokens, clock);
    assert.ok(valid, `a valid token exists at minute ${minute}`);
    // The token handed out always has at least a third of its lifetime left.
    assert.ok(valid.expiresAt.getTime() - clock.getTime() > ttlMs / 3 - 7 * 60_000);
  }
  assert.ok(tokens.length >= 8 && tokens.length <= 13, `rotated about every 2h over 24h: ${tokens.length} tokens`);
});
