// What every certificate Tessera mints shares, CA or leaf: its key type, how a private key
// is written out, how serial numbers are drawn and how far notBefore is backdated.
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';

// ECDSA P-256: key generation takes well under a millisecond (RSA 2048 takes tens to hundreds),
// and every Kubernetes component and etcd accept it for serving and client certificates.
export const certificateKeyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const certificateSigningAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;

// Peers whose clocks run a little behind the issuer's must not see a certificate that is not
// valid yet; kubeadm backdates by the same five minutes.
export const clockSkewAllowanceMs = 5 * 60 * 1000;

export async function generateCertificateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(certificateKeyAlgorithm, true, ['sign', 'verify']);
}

/** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), the form Go's keyutil, etcd and openssl all read. */
export function privateKeyToPem(privateKey: webcrypto.CryptoKey): string {
  return KeyObject.from(privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * A random positive serial of at most 16 bytes, as hex. Clearing the top bit keeps the DER
 * INTEGER positive without a 0x00 pad byte, so it never grows past 16 bytes (RFC 5280 allows 20).
 */
export function randomSerialNumberHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  // An all-zero draw would be serial 0, which RFC 5280 forbids; the odds are 2^-127 but it is cheap to rule out.
  if (bytes.every((byte) => byte === 0)) bytes[15] = 1;
  return bytes.toString('hex');
}

export function requireNonEmptyText(value: unknown, field: string, caller: string, example: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`${caller}: ${field} is required: give a non-empty string, e.g. ${JSON.stringify(example)}`);
  }
  return value;
}

export function requireValidDate(value: unknown, field: string, caller: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new Error(`${caller}: ${field} must be a valid Date, got ${String(value)}`);
  }
  return value;
}
