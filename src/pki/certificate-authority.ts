// @peculiar/x509 2.2.0 resolves its algorithms through tsyringe, which throws at import time
// unless a Reflect metadata polyfill is loaded first. ES modules evaluate imports in order, so
// this import must stay above the @peculiar/x509 one.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, webcrypto } from 'node:crypto';
import {
  certificateSigningAlgorithm,
  clockSkewAllowanceMs,
  generateCertificateKeyPair,
  privateKeyToPem,
  randomSerialNumberHex,
  requireNonEmptyText,
  requireValidDate,
} from './certificate-material.ts';

/** A certificate and its private key, both PEM (the key as PKCS#8). */
export type KeyPairPem = { certPem: string; keyPem: string };

export type CertificateAuthorityOptions = {
  commonName: string;
  /** Default 3650 (ten years, as kubeadm does for its CAs). */
  validityDays?: number;
  /** Default: the current time. */
  now?: Date;
};

const dayMs = 24 * 60 * 60 * 1000;
const caller = 'createCertificateAuthority';

/** A self-signed ECDSA P-256 root CA for signing Kubernetes and etcd certificates. */
export async function createCertificateAuthority(options: CertificateAuthorityOptions): Promise<KeyPairPem> {
  const commonName = requireNonEmptyText(options.commonName, 'commonName', caller, 'kubernetes');
  const validityDays = options.validityDays ?? 3650;
  if (!Number.isFinite(validityDays) || validityDays <= 0) {
    throw new Error(`${caller}: validityDays must be a positive number of days, got ${String(validityDays)}`);
  }
  const now = requireValidDate(options.now ?? new Date(), 'now', caller);

  const keys = await generateCertificateKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumberHex(),
      name: new x509.Name([{ CN: [{ utf8String: commonName }] }]),
      notBefore: new Date(now.getTime() - clockSkewAllowanceMs),
      notAfter: new Date(now.getTime() + validityDays * dayMs),
      keys,
      signingAlgorithm: certificateSigningAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        // Leaves name this identifier in their authority key identifier, so chain builders pick
        // the right CA when an old and a new one share a subject during rotation.
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return {
    certPem: new X509Certificate(Buffer.from(certificate.rawData)).toString(),
    keyPem: privateKeyToPem(keys.privateKey),
  };
}
