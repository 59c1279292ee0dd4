// Turns a guest's certificate set into the Secrets that should exist: issues what is missing,
// keeps what is still good byte for byte (so applying a converged guest writes nothing), and
// reissues leaves and kubeconfigs that are due. CAs and the service-account key are never
// replaced here: every leaf, kubeconfig and token hangs off them, so losing one is reported or
// refused, and rotating one is a deliberate act (delete its Secret).
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { parseDuration, withDefaults } from '../../../api/v1alpha1/cluster.ts';
import type { Cluster } from '../../../api/v1alpha1/cluster.ts';
import { createCertificateAuthority } from '../../../pki/certificate-authority.ts';
import type { KeyPairPem } from '../../../pki/certificate-authority.ts';
import { certificateNeedsRenewal, describeCertificate, issueCertificate, verifyIssuedBy } from '../../../pki/leaf-certificate.ts';
import { parseKubeconfig, renderKubeconfig } from '../../../pki/kubeconfig.ts';
import { createServiceAccountKeyPair } from '../../../pki/service-account-key.ts';
import { clusterOwnerReference } from '../render-context.ts';
import { CLUSTER_LABEL, COMPONENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, ownedLabels } from '../names.ts';
import { clusterIdentity } from './certificate-set.ts';
import type { CertificateKind, CertificateSetEntry } from './certificate-set.ts';

export const notAfterAnnotation = 'tessera.dev/not-after';
/** Lower-case hex SHA-256 of the signer certificate's DER (what `openssl x509 -outform der | sha256sum` prints). */
export const signerFingerprintAnnotation = 'tessera.dev/signer-fingerprint';

export type CertificateSecretsInput = {
  cluster: Cluster;
  set: readonly CertificateSetEntry[];
  /** The guest's Secrets as they are now (from the informer cache), by name. */
  existing: ReadonlyMap<string, V1Secret>;
  now: Date;
  /** Leaf and kubeconfig certificate lifetime, in milliseconds (spec.certificates.validity). */
  validity: number;
  /** CA lifetime for newly created CAs, in milliseconds (spec.certificates.caValidity). */
  caValidity: number;
  /** Renewal window before notAfter, in milliseconds (spec.certificates.renewBefore). */
  renewBefore: number;
};

export type CertificateSecretsResult = {
  /** Desired full Secrets, in set order. Unchanged ones carry exactly the existing `data` strings. */
  secrets: V1Secret[];
  /** Names issued because their Secret did not exist. */
  created: string[];
  /** Names of existing Secrets reissued with new material. */
  renewed: string[];
  /** Why each created or renewed Secret changed, by name (for Events and logs). */
  reasons: Record<string, string>;
  /**
   * Earliest notAfter among the platform's leaves and kubeconfigs (status.certificates.notAfter);
   * extra users' short-lived certificates are reported in `userCertificates` instead.
   */
  earliestNotAfter: Date;
  /** Earliest notAfter among the CAs (status.certificates.caNotAfter). */
  caNotAfter: Date;
  /**
   * When the next renewal falls due, extra users' certificates included
   * (status.certificates.renewAt): requeue then.
   */
  renewAt: Date;
  /** Each extra user's certificate, in set order: when it expires and when it will be renewed. */
  userCertificates: UserCertificateState[];
  /** CAs inside the renewal window or expired: they are not rotated automatically. */
  expiringCertificateAuthorities: string[];
  /** Existing PKI or kubeconfig Secrets of this cluster that the set no longer names (e.g. a removed user). */
  obsolete: string[];
};

export type UserCertificateState = {
  /** spec.users[].name. */
  user: string;
  secretName: string;
  notAfter: Date;
  /** notAfter less the user's renewal window; equal to notAfter when the CA ends first (not renewable). */
  renewAt: Date;
};

const caller = 'reconcileCertificateSecrets';
/** A user certificate that outlives now + its validity by more than this was issued under a longer one. */
const shortenedValidityTolerance = 60_000;
const extendedKeyUsageOid = { server: '1.3.6.1.5.5.7.3.1', client: '1.3.6.1.5.5.7.3.2' } as const;

type SecretType = 'kubernetes.io/tls' | 'Opaque';
const secretTypeByKind: Record<CertificateKind, SecretType> = {
  ca: 'kubernetes.io/tls',
  leaf: 'kubernetes.io/tls',
  'service-account': 'Opaque',
  kubeconfig: 'Opaque',
};

type Authority = { material: KeyPairPem; fingerprint: string; notAfter: Date };

/** What a Secret of the set ends up holding, and whether that is new. */
type Outcome = {
  data: Record<string, string>;
  notAfter?: Date;
  signerFingerprint?: string;
  change?: { kind: 'created' | 'renewed'; reason: string };
};

export async function reconcileCertificateSecrets(input: CertificateSecretsInput): Promise<CertificateSecretsResult> {
  const { name: clusterName, namespace } = clusterIdentity(input.cluster, caller);
  const { now, validity, caValidity, renewBefore } = input;
  requireDurations(validity, caValidity, renewBefore, now);
  const entries = requireConsistentSet(input.set);
  for (const entry of entries) requireSecretType(entry, input.existing.get(entry.secretName));

  const outcomes = new Map<string, Outcome>();
  const authorities = new Map<string, Authority>();

  // CAs first: everything else is signed by one of them.
  await Promise.all(
    entries.map(async (entry) => {
      const existing = input.existing.get(entry.secretName);
      if (entry.kind === 'ca') {
        const authority = existing ? readAuthority(entry, existing) : await createAuthority(entry, now, caValidity);
        authorities.set(entry.secretName, authority);
        outcomes.set(entry.secretName, {
          data: existing
            ? pick(existing, ['tls.crt', 'tls.key'])
            : { 'tls.crt': encode(authority.material.certPem), 'tls.key': encode(authority.material.keyPem) },
          notAfter: authority.notAfter,
          ...(existing ? {} : { change: { kind: 'created', reason: 'missing' } }),
        });
      } else if (entry.kind === 'service-account') {
        outcomes.set(entry.secretName, existing ? keepServiceAccountKey(entry, existing) : createServiceAccountKey());
      }
    }),
  );

  await Promise.all(
    entries.map(async (entry) => {
      if (entry.kind !== 'leaf' && entry.kind !== 'kubeconfig') return;
      const signer = authorities.get(entry.signer) as Authority;
      const existing = input.existing.get(entry.secretName);
      const lifetime = entry.lifetime ?? { validity, renewBefore };
      const reason = existing ? reasonToReissue(entry, existing, signer, clusterName, now, lifetime) : 'missing';
      const outcome =
        reason === undefined
          ? keepSigned(entry, existing as V1Secret, signer)
          : await issueSigned(entry, signer, clusterName, now, lifetime.validity, { kind: existing ? 'renewed' : 'created', reason });
      outcomes.set(entry.secretName, outcome);
    }),
  );

  const secrets: V1Secret[] = [];
  const created: string[] = [];
  const renewed: string[] = [];
  const reasons: Record<string, string> = {};
  let earliestNotAfter: Date | undefined;
  let caNotAfter: Date | undefined;
  let renewAt: Date | undefined;
  const userCertificates: UserCertificateState[] = [];
  const expiringCertificateAuthorities: string[] = [];
  for (const entry of entries) {
    const outcome = outcomes.get(entry.secretName) as Outcome;
    secrets.push(secretFor(entry, outcome, input.cluster, clusterName, namespace));
    if (outcome.change) {
      (outcome.change.kind === 'created' ? created : renewed).push(entry.secretName);
      reasons[entry.secretName] = outcome.change.reason;
    }
    const notAfter = outcome.notAfter;
    if (notAfter === undefined) continue;
    if (entry.kind === 'ca') {
      caNotAfter = earliest(caNotAfter, notAfter);
      if (now.getTime() >= notAfter.getTime() - renewBefore) expiringCertificateAuthorities.push(entry.secretName);
    } else {
      if (entry.user === undefined) earliestNotAfter = earliest(earliestNotAfter, notAfter);
      // A leaf already ending with its CA cannot be extended by reissuing; the CA is reported instead.
      const signer = authorities.get(entry.signer) as Authority;
      const renewable = notAfter.getTime() < signer.notAfter.getTime();
      const due = new Date(notAfter.getTime() - (entry.lifetime?.renewBefore ?? renewBefore));
      if (renewable) renewAt = earliest(renewAt, due);
      if (entry.user !== undefined) userCertificates.push({ user: entry.user, secretName: entry.secretName, notAfter, renewAt: renewable ? due : notAfter });
    }
  }
  if (earliestNotAfter === undefined || caNotAfter === undefined) {
    throw new Error(`${caller}: set must hold at least one CA and one certificate it signs; build it with buildCertificateSet`);
  }

  const wanted = new Set(entries.map((entry) => entry.secretName));
  const obsolete = [...input.existing.values()]
    .filter((secret) => {
      const labels = secret.metadata?.labels ?? {};
      return (
        labels[CLUSTER_LABEL] === clusterName &&
        labels[MANAGED_BY_LABEL] === MANAGED_BY &&
        (labels[COMPONENT_LABEL] === 'pki' || labels[COMPONENT_LABEL] === 'kubeconfig') &&
        !wanted.has(secret.metadata?.name ?? '')
      );
    })
    .map((secret) => secret.metadata?.name ?? '')
    .sort();

  return {
    secrets,
    created,
    renewed,
    reasons,
    earliestNotAfter,
    caNotAfter,
    renewAt: renewAt ?? earliestNotAfter,
    userCertificates,
    expiringCertificateAuthorities,
    obsolete,
  };
}

export type CertificateLifetimes = Pick<CertificateSecretsInput, 'validity' | 'caValidity' | 'renewBefore'>;

/** spec.certificates, defaulted, in milliseconds, as reconcileCertificateSecrets takes them. */
export function certificateLifetimesOf(cluster: Cluster): CertificateLifetimes {
  const certificates = withDefaults(cluster.spec).certificates;
  const read = (field: keyof typeof certificates) => {
    try {
      return parseDuration(certificates[field]);
    } catch (error) {
      throw new Error(`spec.certificates.${field}: ${errorMessage(error)}`, { cause: error });
    }
  };
  return { validity: read('validity'), caValidity: read('caValidity'), renewBefore: read('renewBefore') };
}

/**
 * SHA-256 (hex) over the data of the named Secrets, for a pod-template annotation: when any of
 * them is renewed the checksum changes and the Deployment or Pod rolls. Order of `names` does not matter.
 */
export function checksumOf(secrets: readonly V1Secret[], names: readonly string[]): string {
  const byName = new Map(secrets.map((secret) => [secret.metadata?.name, secret]));
  const hash = createHash('sha256');
  for (const name of [...new Set(names)].sort()) {
    const secret = byName.get(name);
    if (secret === undefined) {
      throw new Error(`checksumOf: no Secret named ${JSON.stringify(name)} among the ${secrets.length} given; pass the result's secrets`);
    }
    // Length-prefixed fields, so no two different inputs hash the same text.
    const data = secret.data ?? {};
    const fields = [name, ...Object.keys(data).sort().flatMap((key) => [key, data[key] ?? ''])];
    for (const field of fields) hash.update(`${field.length}:${field};`);
  }
  return hash.digest('hex');
}

function requireDurations(validity: number, caValidity: number, renewBefore: number, now: Date): void {
  const positive = (value: number) => Number.isFinite(value) && value > 0;
  if (!positive(validity)) throw new Error(`${caller}: validity must be a positive number of milliseconds (spec.certificates.validity), got ${String(validity)}`);
  if (!positive(caValidity)) throw new Error(`${caller}: caValidity must be a positive number of milliseconds (spec.certificates.caValidity), got ${String(caValidity)}`);
  if (!Number.isFinite(renewBefore) || renewBefore < 0) {
    throw new Error(`${caller}: renewBefore must be zero or a positive number of milliseconds (spec.certificates.renewBefore), got ${String(renewBefore)}`);
  }
  // A window as long as the lifetime would make every fresh certificate due at once: endless reissuing.
  if (renewBefore >= validity) {
    throw new Error(`${caller}: spec.certificates.renewBefore (${renewBefore} ms) must be shorter than spec.certificates.validity (${validity} ms)`);
  }
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new Error(`${caller}: now must be a valid Date, got ${String(now)}`);
}

function requireConsistentSet(set: readonly CertificateSetEntry[]): readonly CertificateSetEntry[] {
  const byName = new Map<string, CertificateSetEntry>();
  for (const entry of set) {
    if (byName.has(entry.secretName)) throw new Error(`${caller}: set names Secret ${entry.secretName} twice; build it with buildCertificateSet`);
    byName.set(entry.secretName, entry);
  }
  for (const entry of set) {
    if (entry.kind !== 'leaf' && entry.kind !== 'kubeconfig') continue;
    if (byName.get(entry.signer)?.kind !== 'ca') {
      throw new Error(`${caller}: set entry ${entry.secretName} names signer ${entry.signer}, which is not a CA in the set`);
    }
    if (entry.kind === 'kubeconfig' && !entry.server) throw new Error(`${caller}: set entry ${entry.secretName} is a kubeconfig without a server URL`);
    const lifetime = entry.lifetime;
    if (lifetime && !(Number.isFinite(lifetime.validity) && lifetime.validity > 0 && lifetime.renewBefore >= 0 && lifetime.renewBefore < lifetime.validity)) {
      throw new Error(
        `${caller}: set entry ${entry.secretName} has lifetime ${JSON.stringify(lifetime)}: validity must be positive and renewBefore shorter than it; ` +
          'build it with buildCertificateSet (userCertificateLifetime)',
      );
    }
  }
  return set;
}

// A Secret's type is immutable in Kubernetes, so applying over one of another type would fail
// on every reconcile; say so once, with the fix.
function requireSecretType(entry: CertificateSetEntry, existing: V1Secret | undefined): void {
  const wanted = secretTypeByKind[entry.kind];
  if (existing?.type !== undefined && existing.type !== wanted) {
    throw new Error(
      `${caller}: Secret ${entry.secretName} has type ${existing.type} but must be ${wanted}; ` +
        'delete it (Secret types cannot change) and it will be issued again',
    );
  }
}

async function createAuthority(entry: CertificateSetEntry, now: Date, caValidity: number): Promise<Authority> {
  const material = await createCertificateAuthority({ commonName: entry.commonName, validityDays: caValidity / (24 * 3600 * 1000), now });
  return authorityOf(material);
}

function readAuthority(entry: CertificateSetEntry, secret: V1Secret): Authority {
  const certPem = decode(secret, 'tls.crt');
  const keyPem = decode(secret, 'tls.key');
  // Replacing a CA would silently invalidate every certificate and kubeconfig handed out.
  const refuse = (problem: string) =>
    new Error(
      `${caller}: CA Secret ${entry.secretName} ${problem}; it is never replaced automatically. ` +
        'Restore it, or delete it to issue a new CA (every certificate it signed is then reissued)',
    );
  if (certPem === undefined || keyPem === undefined) throw refuse('lacks tls.crt or tls.key');
  let certificate: X509Certificate;
  let key: KeyObject;
  try {
    certificate = new X509Certificate(certPem);
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw refuse(`does not hold a PEM certificate and key (${errorMessage(error)})`);
  }
  if (!certificate.ca) throw refuse('holds a certificate that is not a CA');
  if (!certificate.checkPrivateKey(key)) throw refuse('holds a tls.key that does not belong to tls.crt');
  return authorityOf({ certPem, keyPem });
}

function authorityOf(material: KeyPairPem): Authority {
  const certificate = new X509Certificate(material.certPem);
  return { material, fingerprint: createHash('sha256').update(certificate.raw).digest('hex'), notAfter: certificate.validToDate };
}

function createServiceAccountKey(): Outcome {
  const keys = createServiceAccountKeyPair();
  return {
    data: { 'sa.key': encode(keys.privateKeyPem), 'sa.pub': encode(keys.publicKeyPem) },
    change: { kind: 'created', reason: 'missing' },
  };
}

// A new key pair would invalidate every service account token in the guest, so a broken one is refused.
function keepServiceAccountKey(entry: CertificateSetEntry, secret: V1Secret): Outcome {
  const privateKeyPem = decode(secret, 'sa.key');
  const publicKeyPem = decode(secret, 'sa.pub');
  let matches = false;
  try {
    if (privateKeyPem !== undefined && publicKeyPem !== undefined) {
      const derived = createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' });
      matches = derived.equals(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' }));
    }
  } catch {
    matches = false;
  }
  if (!matches) {
    throw new Error(
      `${caller}: Secret ${entry.secretName} must hold a PEM key pair in sa.key and sa.pub that belong together; ` +
        "it is never replaced automatically (that would invalidate every service account token). Restore it, or delete it to create a new pair",
    );
  }
  return { data: pick(secret, ['sa.key', 'sa.pub']) };
}

type SignedMaterial = { certPem: string; keyPem: string; bundledCaPem: string };

/** Why an existing leaf or kubeconfig must be reissued, or undefined when it is still right. */
function reasonToReissue(
  entry: CertificateSetEntry,
  secret: V1Secret,
  signer: Authority,
  clusterName: string,
  now: Date,
  lifetime: { validity: number; renewBefore: number },
): string | undefined {
  let material: SignedMaterial;
  if (entry.kind === 'kubeconfig') {
    const text = decode(secret, 'kubeconfig');
    if (text === undefined) return 'unreadable: key kubeconfig is missing';
    let fields;
    try {
      fields = parseKubeconfig(text);
    } catch (error) {
      return `unreadable: ${errorMessage(error)}`;
    }
    if (fields.server !== entry.server) return `server changed from ${fields.server} to ${String(entry.server)}`;
    if (fields.clusterName !== clusterName || fields.userName !== entry.commonName) return 'cluster or user name changed';
    if (fields.clientCertPem === undefined || fields.clientKeyPem === undefined) return 'unreadable: no client certificate';
    material = { certPem: fields.clientCertPem, keyPem: fields.clientKeyPem, bundledCaPem: fields.caCertPem };
  } else {
    const certPem = decode(secret, 'tls.crt');
    const keyPem = decode(secret, 'tls.key');
    const bundledCaPem = decode(secret, 'ca.crt');
    if (certPem === undefined || keyPem === undefined || bundledCaPem === undefined) return 'unreadable: tls.crt, tls.key or ca.crt is missing';
    material = { certPem, keyPem, bundledCaPem };
  }

  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(material.certPem);
    if (!certificate.checkPrivateKey(createPrivateKey(material.keyPem))) return 'unreadable: the key does not belong to the certificate';
  } catch (error) {
    return `unreadable: ${errorMessage(error)}`;
  }

  if (
    secret.metadata?.annotations?.[signerFingerprintAnnotation] !== signer.fingerprint ||
    material.bundledCaPem !== signer.material.certPem ||
    !verifyIssuedBy(material.certPem, signer.material.certPem)
  ) {
    return `signer ${entry.signer} changed`;
  }

  const mismatch = subjectMismatch(entry, certificate);
  if (mismatch !== undefined) return mismatch;

  const description = describeCertificate(material.certPem);
  if (now.getTime() < description.notBefore.getTime()) return `not valid until ${rfc3339(description.notBefore)}`;
  // Reissuing cannot outlast the CA (issueCertificate caps notAfter there), so a leaf that
  // already ends with its CA is kept rather than reissued on every reconcile.
  const extendable = signer.notAfter.getTime() > Math.max(description.notAfter.getTime(), now.getTime());
  if (extendable && certificateNeedsRenewal(material.certPem, { renewBefore: lifetime.renewBefore, now })) {
    return `inside the renewal window (notAfter ${rfc3339(description.notAfter)})`;
  }
  // A short-lived certificate must never outlast its lifetime: after spec.users[].validity is
  // shortened, the longer-lived one is replaced at once rather than at its old renewal time.
  if (entry.lifetime && description.notAfter.getTime() > now.getTime() + entry.lifetime.validity + shortenedValidityTolerance) {
    return `validity shortened: notAfter ${rfc3339(description.notAfter)} is later than now plus ${entry.lifetime.validity} ms`;
  }
  return undefined;
}

/** What differs between the certificate and what the set asks for, or undefined. */
function subjectMismatch(entry: CertificateSetEntry, certificate: X509Certificate): string | undefined {
  const description = describeCertificate(certificate.toString());
  const differences: string[] = [];
  const compare = (what: string, actual: readonly string[], wanted: readonly string[]) => {
    const added = wanted.filter((value) => !actual.includes(value));
    const removed = actual.filter((value) => !wanted.includes(value));
    if (added.length > 0 || removed.length > 0) {
      differences.push(`${what} ${[...added.map((value) => `+${value}`), ...removed.map((value) => `-${value}`)].join(' ')}`);
    }
  };
  compare('CN', [description.commonName], [entry.commonName]);
  compare('O', description.organizations, entry.organizations);
  compare('DNS', description.dnsNames.map((name) => name.toLowerCase()), entry.dnsNames.map((name) => name.toLowerCase()));
  compare('IP', description.ipAddresses, entry.ipAddresses);
  compare('usage', certificate.keyUsage ?? [], entry.usages.map((usage) => extendedKeyUsageOid[usage]));
  return differences.length > 0 ? `subject or SANs changed: ${differences.join('; ')}` : undefined;
}

function keepSigned(entry: CertificateSetEntry, secret: V1Secret, signer: Authority): Outcome {
  const certPem =
    entry.kind === 'kubeconfig'
      ? (parseKubeconfig(decode(secret, 'kubeconfig') as string).clientCertPem as string)
      : (decode(secret, 'tls.crt') as string);
  return {
    data: pick(secret, dataKeysOf(entry.kind)),
    notAfter: new X509Certificate(certPem).validToDate,
    signerFingerprint: signer.fingerprint,
  };
}

async function issueSigned(
  entry: CertificateSetEntry,
  signer: Authority,
  clusterName: string,
  now: Date,
  validity: number,
  change: Outcome['change'],
): Promise<Outcome> {
  let issued: KeyPairPem;
  try {
    issued = await issueCertificate({
      ca: signer.material,
      commonName: entry.commonName,
      organizations: entry.organizations,
      dnsNames: entry.dnsNames,
      ipAddresses: entry.ipAddresses,
      usages: entry.usages,
      validity,
      now,
    });
  } catch (error) {
    throw new Error(`${caller}: cannot issue Secret ${entry.secretName} (signer ${entry.signer}): ${errorMessage(error)}`, { cause: error });
  }
  const data: Record<string, string> =
    entry.kind === 'kubeconfig'
      ? {
          kubeconfig: encode(
            renderKubeconfig({
              clusterName,
              server: entry.server as string,
              caCertPem: signer.material.certPem,
              userName: entry.commonName,
              clientCertPem: issued.certPem,
              clientKeyPem: issued.keyPem,
            }),
          ),
        }
      : { 'tls.crt': encode(issued.certPem), 'tls.key': encode(issued.keyPem), 'ca.crt': encode(signer.material.certPem) };
  return { data, notAfter: new X509Certificate(issued.certPem).validToDate, signerFingerprint: signer.fingerprint, change };
}

function secretFor(entry: CertificateSetEntry, outcome: Outcome, cluster: Cluster, clusterName: string, namespace: string): V1Secret {
  const annotations: Record<string, string> = {};
  if (outcome.notAfter !== undefined) annotations[notAfterAnnotation] = rfc3339(outcome.notAfter);
  if (outcome.signerFingerprint !== undefined) annotations[signerFingerprintAnnotation] = outcome.signerFingerprint;
  const uid = cluster.metadata.uid;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: entry.secretName,
      namespace,
      labels: ownedLabels(clusterName, entry.component),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      // Garbage collection removes the PKI with the Cluster; the uid is known once it exists.
      ...(uid
        ? { ownerReferences: [clusterOwnerReference(cluster)] }
        : {}),
    },
    type: secretTypeByKind[entry.kind],
    data: outcome.data,
  };
}

function dataKeysOf(kind: CertificateKind): string[] {
  switch (kind) {
    case 'ca':
      return ['tls.crt', 'tls.key'];
    case 'leaf':
      return ['tls.crt', 'tls.key', 'ca.crt'];
    case 'service-account':
      return ['sa.key', 'sa.pub'];
    case 'kubeconfig':
      return ['kubeconfig'];
  }
}

/** The named keys of the Secret's data, exactly as stored. */
function pick(secret: V1Secret, keys: readonly string[]): Record<string, string> {
  const data: Record<string, string> = {};
  for (const key of keys) data[key] = secret.data?.[key] ?? '';
  return data;
}

function decode(secret: V1Secret, key: string): string | undefined {
  const value = secret.data?.[key];
  return value === undefined || value === '' ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

function encode(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** RFC 3339 in the form Kubernetes writes timestamps: seconds precision, UTC. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function earliest(current: Date | undefined, candidate: Date): Date {
  return current === undefined || candidate.getTime() < current.getTime() ? candidate : current;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
