import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPublicKey, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServiceAccountKeyPair } from './service-account-key.ts';
import type { ServiceAccountKeyPair } from './service-account-key.ts';

let directory: string;
before(() => {
  directory = mkdtempSync(join(tmpdir(), 'tessera-pki-sa-'));
});
after(() => rmSync(directory, { recursive: true, force: true }));

let fileCounter = 0;
function writeTemporary(contents: string | Buffer): string {
  const path = join(directory, `file-${fileCounter++}`);
  writeFileSync(path, contents);
  return path;
}

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function base64Url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

// The signing input of a JWS compact token, as kube-apiserver builds for a service account token.
function signingInput(claims: Record<string, unknown>): string {
  return `${base64Url(JSON.stringify({ alg: 'ES256', kid: 'tessera-test' }))}.${base64Url(JSON.stringify(claims))}`;
}

void describe('createServiceAccountKeyPair', () => {
  let keys: ServiceAccountKeyPair;
  before(() => {
    keys = createServiceAccountKeyPair();
  });

  void test('writes a PKCS#8 private key and an SPKI public key, the PEM blocks kube-apiserver reads', () => {
    assert.match(keys.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    assert.match(keys.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
  });

  void test('makes a valid ECDSA P-256 key whose public half is the public key returned', () => {
    const privatePath = writeTemporary(keys.privateKeyPem);
    assert.match(openssl('pkey', '-in', privatePath, '-check', '-noout'), /Key is valid/);
    assert.match(openssl('pkey', '-pubin', '-in', writeTemporary(keys.publicKeyPem), '-noout', '-text_pub'), /Public-Key: \(256 bit\)[\s\S]*NIST CURVE: P-256/);
    assert.equal(openssl('pkey', '-in', privatePath, '-pubout'), keys.publicKeyPem);
    assert.equal(createPublicKey(keys.privateKeyPem).asymmetricKeyType, 'ec');
  });

  void test('signs a JWT-like payload with ES256 that node:crypto and openssl both verify with the public key', () => {
    const input = signingInput({ iss: 'https://kubernetes.default.svc', sub: 'system:serviceaccount:kube-system:default' });
    // A JWS carries an ES256 signature as r || s (IEEE P1363); openssl wants DER.
    const jwsSignature = sign('sha256', Buffer.from(input), { key: keys.privateKeyPem, dsaEncoding: 'ieee-p1363' });
    assert.equal(jwsSignature.length, 64);
    const token = `${input}.${base64Url(jwsSignature)}`;

    const [header, payload, encodedSignature] = token.split('.');
    assert.equal(verify('sha256', Buffer.from(`${header}.${payload}`), { key: keys.publicKeyPem, dsaEncoding: 'ieee-p1363' }, Buffer.from(encodedSignature ?? '', 'base64url')), true);

    const signature = sign('sha256', Buffer.from(input), keys.privateKeyPem);
    const result = spawnSync(
      'openssl',
      ['dgst', '-sha256', '-verify', writeTemporary(keys.publicKeyPem), '-signature', writeTemporary(signature), writeTemporary(input)],
      { encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Verified OK/);
  });

  void test('rejects a tampered payload and a signature from another key pair', () => {
    const input = signingInput({ sub: 'system:serviceaccount:default:app' });
    const signature = sign('sha256', Buffer.from(input), keys.privateKeyPem);
    const tampered = signingInput({ sub: 'system:serviceaccount:kube-system:admin' });
    assert.equal(verify('sha256', Buffer.from(tampered), keys.publicKeyPem, signature), false);

    const other = createServiceAccountKeyPair();
    assert.notEqual(other.publicKeyPem, keys.publicKeyPem);
    assert.equal(verify('sha256', Buffer.from(input), other.publicKeyPem, signature), false);
  });
});
