// @peculiar/x509 2.2.0 resolves its algorithms through tsyringe, which throws at import time
// unless a Reflect metadata polyfill is loaded first. ES modules evaluate imports in order, so
// this import must stay above the @peculiar/x509 one.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { KeyPairPem } from './certificate-authority.ts';
import {
  certificateSigningAlgorithm,
  clockSkewAllowanceMs,
  generateCertificateKeyPair,
  privateKeyToPem,
  randomSerialNumberHex,
  requireNonEmptyText,
  requireValidDate,
} from './certificate-material.ts';

/** 'server' adds extendedKeyUsage serverAuth, 'client' adds clientAuth. */
export type CertificateUsage = 'server' | 'client';

export type LeafCertificateOptions = {
  ca: KeyPairPem;
  /** Kubernetes reads the user name from the CN of a client certificate. */
  commonName: string;
  /** Kubernetes reads the groups (e.g. "system:masters") from O. */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usages: CertificateUsage[];
  /** Lifetime in milliseconds, counted from `now`. */
  validity: number;
  /** Default: the current time. */
  now?: Date;
};

export type CertificateDescription = {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  /** IPv6 in compressed lower-case form (RFC 5952). */
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  /** The issuer's distinguished name as Node prints it, attributes joined by ", ", e.g. "CN=kubernetes". */
  issuer: string;
  /** Upper-case hex without separators, as `openssl x509 -serial` prints it. */
  serialNumber: string;
};

const issuingCaller = 'issueCertificate';
const extendedKeyUsageByUsage: Record<CertificateUsage, x509.ExtendedKeyUsage> = {
  server: x509.ExtendedKeyUsage.serverAuth,
  client: x509.ExtendedKeyUsage.clientAuth,
};

/**
 * Issues an ECDSA P-256 certificate signed by `ca`. notBefore is backdated five minutes for
 * clock skew; notAfter is `now + validity`, cut back to the CA's own notAfter when it would
 * outlive the CA, so the expiry a renewal decision reads is the real end of the chain.
 */
export async function issueCertificate(options: LeafCertificateOptions): Promise<KeyPairPem> {
  const commonName = requireNonEmptyText(options.commonName, 'commonName', issuingCaller, 'kube-apiserver');
  const organizations = (options.organizations ?? []).map((organization, index) =>
    requireNonEmptyText(organization, `organizations[${index}]`, issuingCaller, 'system:masters'),
  );
  const dnsNames = (options.dnsNames ?? []).map((dnsName, index) => requireDnsName(dnsName, `dnsNames[${index}]`));
  const ipAddresses = (options.ipAddresses ?? []).map((ip, index) => requireIpAddress(ip, `ipAddresses[${index}]`));
  const usages = requireUsages(options.usages);
  if (usages.includes('server') && dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new Error(
      `${issuingCaller}: a 'server' certificate needs dnsNames or ipAddresses: Go clients (kubectl, ` +
        'kube-apiserver, etcd) match the host only against subject alternative names, never the CN',
    );
  }
  if (!Number.isFinite(options.validity) || options.validity <= 0) {
    throw new Error(
      `${issuingCaller}: validity must be a positive number of milliseconds, got ${String(options.validity)}`,
    );
  }
  const now = requireValidDate(options.now ?? new Date(), 'now', issuingCaller);
  const ca = await signingAuthority(options.ca);

  const requestedNotAfter = now.getTime() + options.validity;
  const notAfter = new Date(Math.min(requestedNotAfter, ca.certificate.validToDate.getTime()));
  const notBefore = new Date(now.getTime() - clockSkewAllowanceMs);
  if (notAfter.getTime() <= now.getTime()) {
    throw new Error(
      `${issuingCaller}: ca.certPem expired at ${ca.certificate.validToDate.toISOString()}; rotate the CA before issuing`,
    );
  }

  const keys = await generateCertificateKeyPair();
  const subjectAlternativeNames: x509.JsonGeneralNames = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    // CA:FALSE stated outright (as kubeadm does) so no verifier can take the leaf for a CA.
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(usages.map((usage) => extendedKeyUsageByUsage[usage])),
    ca.authorityKeyIdentifier,
  ];
  if (subjectAlternativeNames.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(subjectAlternativeNames));
  }

  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumberHex(),
      // Go orders O before CN; Kubernetes reads both regardless of order.
      subject: new x509.Name([
        ...organizations.map((organization) => ({ O: [{ utf8String: organization }] })),
        { CN: [{ utf8String: commonName }] },
      ]),
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: ca.signingKey,
      signingAlgorithm: ca.signingAlgorithm,
      extensions,
    },
    webcrypto,
  );
  return {
    certPem: new X509Certificate(Buffer.from(certificate.rawData)).toString(),
    keyPem: privateKeyToPem(keys.privateKey),
  };
}

type CertificateAuthorityForSigning = {
  certificate: X509Certificate;
  subject: x509.Name;
  authorityKeyIdentifier: x509.AuthorityKeyIdentifierExtension;
  signingKey: webcrypto.CryptoKey;
  signingAlgorithm: { name: string; hash: string };
};

/**
 * CAs read for signing lately, by their PEMs: a guest's certificates are issued a dozen at a
 * time by the same three CAs, and reading one (parsing, checking the key) cost more than the
 * signature. Only what the PEMs determine is kept, so a changed CA is simply another entry.
 */
const recentAuthorities = new Map<string, Promise<CertificateAuthorityForSigning>>();
const RECENT_AUTHORITIES = 32;

function signingAuthority(ca: KeyPairPem | undefined): Promise<CertificateAuthorityForSigning> {
  if (ca === undefined || ca === null || typeof ca.certPem !== 'string' || typeof ca.keyPem !== 'string') return readCertificateAuthority(ca);
  const key = `${ca.certPem}\n${ca.keyPem}`;
  let authority = recentAuthorities.get(key);
  if (!authority) {
    authority = readCertificateAuthority(ca);
    authority.catch(() => recentAuthorities.delete(key));
    recentAuthorities.set(key, authority);
    if (recentAuthorities.size > RECENT_AUTHORITIES) recentAuthorities.delete(recentAuthorities.keys().next().value as string);
  }
  return authority;
}

async function readCertificateAuthority(ca: KeyPairPem | undefined): Promise<CertificateAuthorityForSigning> {
  if (ca === undefined || ca === null) {
    throw new Error(`${issuingCaller}: ca is required: give the { certPem, keyPem } of the signing CA`);
  }
  const certificate = parseCertificatePem(ca.certPem, 'ca.certPem', issuingCaller);
  if (!certificate.ca) {
    throw new Error(`${issuingCaller}: ca.certPem is not a CA certificate (basicConstraints CA:TRUE is missing)`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(requireNonEmptyText(ca.keyPem, 'ca.keyPem', issuingCaller, '-----BEGIN PRIVATE KEY-----'));
  } catch (error) {
    throw new Error(`${issuingCaller}: ca.keyPem is not a PEM private key: ${errorMessage(error)}`, { cause: error });
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new Error(`${issuingCaller}: ca.keyPem is not the private key of ca.certPem; pass the pair that belong together`);
  }

  const parsed = new x509.X509Certificate(certificate.raw);
  const subjectKeyIdentifier = parsed.getExtension(x509.SubjectKeyIdentifierExtension);
  // Name the CA by its own subject key identifier when it has one (RFC 5280 4.2.1.1), so a
  // CA made elsewhere (kubeadm, openssl) chains the same way as ours.
  const authorityKeyIdentifier = subjectKeyIdentifier
    ? new x509.AuthorityKeyIdentifierExtension(subjectKeyIdentifier.keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(parsed.publicKey, false, webcrypto);
  return {
    certificate,
    subject: parsed.subjectName,
    authorityKeyIdentifier,
    ...importSigningKey(privateKey),
  };
}

// CAs Tessera creates are ECDSA P-256; RSA is accepted too so an existing cluster's CA
// (kubeadm makes RSA 2048 ones) can keep signing.
function importSigningKey(privateKey: KeyObject): Pick<CertificateAuthorityForSigning, 'signingKey' | 'signingAlgorithm'> {
  const keyType = privateKey.asymmetricKeyType;
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (keyType === 'ec' && curve === 'prime256v1') {
    return {
      signingKey: privateKey.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']),
      signingAlgorithm: certificateSigningAlgorithm,
    };
  }
  if (keyType === 'rsa') {
    return {
      signingKey: privateKey.toCryptoKey({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']),
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    };
  }
  throw new Error(
    `${issuingCaller}: ca.keyPem is a ${keyType ?? 'unknown'}${curve ? ` ${curve}` : ''} key; ` +
      'only ECDSA P-256 and RSA CA keys can sign',
  );
}

/** What a certificate says about itself, read with node:crypto. */
export function describeCertificate(certPem: string): CertificateDescription {
  const certificate = parseCertificatePem(certPem, 'certPem', 'describeCertificate');
  const subject = certificate.toLegacyObject().subject as Record<string, string | string[] | undefined>;
  const alternativeNames = parseSubjectAltName(certificate.subjectAltName ?? '');
  return {
    commonName: valuesOf(subject['CN'])[0] ?? '',
    organizations: valuesOf(subject['O']),
    dnsNames: alternativeNames.filter((name) => name.type === 'DNS').map((name) => name.value),
    ipAddresses: alternativeNames
      .filter((name) => name.type === 'IP Address')
      .map((name) => ipaddr.parse(name.value).toString()),
    notBefore: certificate.validFromDate,
    notAfter: certificate.validToDate,
    issuer: certificate.issuer.split('\n').join(', '),
    serialNumber: certificate.serialNumber.toUpperCase(),
  };
}

export type RenewalPolicy = {
  /** Renew once the time left until notAfter is at most this many milliseconds. */
  renewBefore: number;
  now: Date;
};

/**
 * True once `now` has reached notAfter - renewBefore (the boundary itself counts), and also
 * while the certificate is not valid yet: peers would reject it, and a fresh one starts now.
 */
export function certificateNeedsRenewal(certPem: string, policy: RenewalPolicy): boolean {
  const caller = 'certificateNeedsRenewal';
  const certificate = parseCertificatePem(certPem, 'certPem', caller);
  if (!Number.isFinite(policy.renewBefore) || policy.renewBefore < 0) {
    throw new Error(`${caller}: renewBefore must be zero or a positive number of milliseconds, got ${String(policy.renewBefore)}`);
  }
  const now = requireValidDate(policy.now, 'now', caller).getTime();
  if (now < certificate.validFromDate.getTime()) return true;
  return now >= certificate.validToDate.getTime() - policy.renewBefore;
}

/**
 * True when `caCertPem` names itself as the issuer of `certPem` and its key verifies the
 * signature. Validity dates are not checked. Throws when either input is not a certificate.
 */
export function verifyIssuedBy(certPem: string, caCertPem: string): boolean {
  const certificate = parseCertificatePem(certPem, 'certPem', 'verifyIssuedBy');
  const authority = parseCertificatePem(caCertPem, 'caCertPem', 'verifyIssuedBy');
  return certificate.checkIssued(authority) && certificate.verify(authority.publicKey);
}

function parseCertificatePem(pem: unknown, field: string, caller: string): X509Certificate {
  requireNonEmptyText(pem, field, caller, '-----BEGIN CERTIFICATE-----');
  try {
    return new X509Certificate(pem as string);
  } catch (error) {
    throw new Error(`${caller}: ${field} is not a PEM certificate: ${errorMessage(error)}`, { cause: error });
  }
}

function requireDnsName(value: unknown, field: string): string {
  const dnsName = requireNonEmptyText(value, field, issuingCaller, 'kubernetes.default.svc');
  // Labels of letters, digits, '-' and '_' (Kubernetes Service names are plain DNS labels);
  // a leading '*.' wildcard is allowed.
  const label = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
  if (dnsName.length > 253 || !new RegExp(`^(?:\\*\\.)?${label}(?:\\.${label})*\\.?$`).test(dnsName)) {
    throw new Error(`${issuingCaller}: ${field} ${JSON.stringify(dnsName)} is not a DNS name (e.g. "kubernetes.default.svc")`);
  }
  return dnsName;
}

function requireIpAddress(value: unknown, field: string): string {
  const text = requireNonEmptyText(value, field, issuingCaller, '10.96.0.1');
  const version = isIP(text);
  if (version === 0) {
    throw new Error(`${issuingCaller}: ${field} ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
  }
  // @peculiar/x509 parses only the plain eight-group IPv6 form (no embedded IPv4), so hand it that.
  return version === 6 ? ipaddr.IPv6.parse(text).toNormalizedString() : text;
}

function requireUsages(value: unknown): CertificateUsage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new Error(`${issuingCaller}: usages is required: give ['server'], ['client'] or ['server', 'client']`);
  }
  const usages: CertificateUsage[] = [];
  value.forEach((usage: unknown, index) => {
    if (usage !== 'server' && usage !== 'client') {
      throw new Error(`${issuingCaller}: usages[${index}] is ${JSON.stringify(usage)}; use 'server' or 'client'`);
    }
    if (!usages.includes(usage)) usages.push(usage);
  });
  return usages;
}

type AlternativeName = { type: string; value: string };

// Node prints SANs as "DNS:a, IP Address:10.0.0.1" and JSON-quotes any value that holds a
// separator (DNS:"a\u002c b"), so quoted values are decoded with JSON.parse.
function parseSubjectAltName(text: string): AlternativeName[] {
  const names: AlternativeName[] = [];
  const entry = /([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  let match: RegExpExecArray | null;
  while (entry.lastIndex < text.length && (match = entry.exec(text)) !== null) {
    const [, type = '', rawValue = ''] = match;
    names.push({ type, value: rawValue.startsWith('"') ? (JSON.parse(rawValue) as string) : rawValue });
  }
  return names;
}

function valuesOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
