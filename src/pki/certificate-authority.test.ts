import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from './certificate-authority.ts';
import type { KeyPairPem } from './certificate-authority.ts';

let directory: string;
before(() => {
  directory = mkdtempSync(join(tmpdir(), 'tessera-pki-ca-'));
});
after(() => rmSync(directory, { recursive: true, force: true }));

let fileCounter = 0;
function writeTemporary(contents: string): string {
  const path = join(directory, `file-${fileCounter++}.pem`);
  writeFileSync(path, contents);
  return path;
}

function openssl(...args: string[]): string {
  // stderr is captured so openssl's key-generation progress dots stay out of the test report.
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function opensslDate(certPath: string, field: 'startdate' | 'enddate'): Date {
  // "notBefore=2026-11-23 15:15:41Z" with -dateopt iso_8601
  const line = openssl('x509', '-in', certPath, '-noout', `-${field}`, '-dateopt', 'iso_8601').trim();
  return new Date(line.slice(line.indexOf('=') + 1).replace(' ', 'T'));
}

void describe('createCertificateAuthority', () => {
  const now = new Date('2026-01-15T10:00:00.000Z');
  let ca: KeyPairPem;
  let caPath: string;
  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'kubernetes', now });
    caPath = writeTemporary(ca.certPem);
  });

  void test('makes a self-signed certificate that openssl verifies against itself', () => {
    const result = spawnSync('openssl', ['verify', '-CAfile', caPath, '-attime', String(now.getTime() / 1000), caPath], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /: OK/);
  });

  void test('has CN=commonName as subject and issuer', () => {
    assert.equal(openssl('x509', '-in', caPath, '-noout', '-subject', '-nameopt', 'RFC2253').trim(), 'subject=CN=kubernetes');
    assert.equal(openssl('x509', '-in', caPath, '-noout', '-issuer', '-nameopt', 'RFC2253').trim(), 'issuer=CN=kubernetes');
  });

  void test('marks CA:TRUE and keyCertSign, cRLSign, digitalSignature, both critical, with a subject key identifier', () => {
    const text = openssl('x509', '-in', caPath, '-noout', '-text');
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign\n/);
    assert.match(text, /X509v3 Subject Key Identifier: \n\s+([0-9A-F]{2}:){19}[0-9A-F]{2}\n/);
    assert.doesNotMatch(text, /Extended Key Usage/);
  });

  void test('signs with ECDSA P-256 and SHA-256', () => {
    const text = openssl('x509', '-in', caPath, '-noout', '-text');
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Public Key Algorithm: id-ecPublicKey/);
    assert.match(text, /NIST CURVE: P-256/);
  });

  void test('writes the private key as PKCS#8 PEM that belongs to the certificate', () => {
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(ca.certPem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    const keyPath = writeTemporary(ca.keyPem);
    assert.match(openssl('pkey', '-in', keyPath, '-check', '-noout'), /Key is valid/);
    assert.equal(openssl('pkey', '-in', keyPath, '-pubout'), openssl('x509', '-in', caPath, '-noout', '-pubkey'));
  });

  void test('is valid from five minutes before now for 3650 days by default', () => {
    assert.equal(opensslDate(caPath, 'startdate').getTime(), now.getTime() - 5 * 60 * 1000);
    assert.equal(opensslDate(caPath, 'enddate').getTime(), now.getTime() + 3650 * 24 * 60 * 60 * 1000);
  });

  void test('honours validityDays', async () => {
    const shortLived = await createCertificateAuthority({ commonName: 'etcd-ca', validityDays: 2, now });
    assert.equal(opensslDate(writeTemporary(shortLived.certPem), 'enddate').getTime(), now.getTime() + 2 * 24 * 60 * 60 * 1000);
  });

  void test('gives every CA its own key and serial number', async () => {
    const other = await createCertificateAuthority({ commonName: 'kubernetes', now });
    const otherPath = writeTemporary(other.certPem);
    assert.notEqual(openssl('x509', '-in', otherPath, '-noout', '-pubkey'), openssl('x509', '-in', caPath, '-noout', '-pubkey'));
    assert.notEqual(openssl('x509', '-in', otherPath, '-noout', '-serial'), openssl('x509', '-in', caPath, '-noout', '-serial'));
  });

  void test('rejects a missing commonName and a non-positive validityDays, naming the field', async () => {
    await assert.rejects(createCertificateAuthority({ commonName: '' }), /createCertificateAuthority: commonName is required/);
    await assert.rejects(
      createCertificateAuthority({ commonName: 'kubernetes', validityDays: 0 }),
      /createCertificateAuthority: validityDays must be a positive number/,
    );
    await assert.rejects(
      createCertificateAuthority({ commonName: 'kubernetes', now: new Date('not a date') }),
      /createCertificateAuthority: now must be a valid Date/,
    );
  });
});
