import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { describeCertificate, verifyIssuedBy } from '../../../pki/leaf-certificate.ts';
import { parseKubeconfig } from '../../../pki/kubeconfig.ts';
import { buildCertificateSet } from './certificate-set.ts';
import type { Cluster } from '../../../api/v1alpha1/cluster.ts';
import type { CertificateSetEntry, CertificateSetInput } from './certificate-set.ts';
import {
  certificateLifetimesOf,
  checksumOf,
  notAfterAnnotation,
  reconcileCertificateSecrets,
  signerFingerprintAnnotation,
} from './certificate-secrets.ts';
import type { CertificateSecretsInput, CertificateSecretsResult } from './certificate-secrets.ts';

const hour = 60 * 60 * 1000;
const day = 24 * hour;
const validity = 365 * day;
const caValidity = 3650 * day;
const renewBefore = 30 * day;
const t0 = new Date('2026-03-01T12:00:00Z');

let directory: string;
let fileCounter = 0;
function writeTemporary(contents: string): string {
  const path = join(directory, `file-${fileCounter++}.pem`);
  writeFileSync(path, contents);
  return path;
}

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `openssl verify` at a given time; true when the chain and the options check out. */
function opensslVerifies(caCertPem: string, certPem: string, at: Date, ...options: string[]): { ok: boolean; output: string } {
  const result = spawnSync(
    'openssl',
    ['verify', '-CAfile', writeTemporary(caCertPem), '-attime', String(Math.floor(at.getTime() / 1000)), ...options, writeTemporary(certPem)],
    { encoding: 'utf8' },
  );
  return { ok: result.status === 0, output: result.stdout + result.stderr };
}

function guestCluster(name: string, users: Cluster['spec']['users'], certificates?: Cluster['spec']['certificates']): Cluster {
  return {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name, namespace: 'team-a', uid: `uid-of-${name}` },
    spec: { version: '1.37.2', network: { serviceCIDR: '10.100.0.0/16', clusterDomain: 'guest.local' }, users, ...(certificates ? { certificates } : {}) },
  };
}

// Year-long user certificates, so the users renew with the platform's leaves in the tests of the
// renewal window; the short-lived default (24h) has tests of its own below.
const shop = guestCluster('shop', [
  { name: 'alice', groups: ['view-only', 'auditors'], validity: '8760h' },
  { name: 'bob', validity: '8760h' },
]);

function setFor(cluster: Cluster, overrides: Partial<CertificateSetInput> = {}): CertificateSetEntry[] {
  const name = cluster.metadata.name;
  return buildCertificateSet({
    cluster,
    apiServerClusterIP: '10.43.0.17',
    endpoint: `https://${name}-kube-apiserver.team-a.svc:6443`,
    etcdMemberNames: [`${name}-etcd-0`, `${name}-etcd-1`, `${name}-etcd-2`],
    ...overrides,
  });
}

function reconcile(input: Partial<CertificateSecretsInput> & Pick<CertificateSecretsInput, 'set' | 'now'>): Promise<CertificateSecretsResult> {
  return reconcileCertificateSecrets({ cluster: shop, existing: new Map(), validity, caValidity, renewBefore, ...input });
}

/** The Secrets as the informer cache would hand them back. */
function asExisting(secrets: readonly V1Secret[]): Map<string, V1Secret> {
  return new Map(secrets.map((secret) => [String(secret.metadata?.name), structuredClone(secret)]));
}

function secretNamed(secrets: readonly V1Secret[], name: string): V1Secret {
  const secret = secrets.find((candidate) => candidate.metadata?.name === name);
  assert.ok(secret, `no Secret ${name}`);
  return secret;
}

function text(secrets: readonly V1Secret[], name: string, key: string): string {
  const value = secretNamed(secrets, name).data?.[key];
  assert.ok(value, `Secret ${name} has no ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

/** The certificate a Secret carries: tls.crt, or the client certificate of its kubeconfig. */
function certificateOf(secrets: readonly V1Secret[], entry: CertificateSetEntry): string {
  if (entry.kind !== 'kubeconfig') return text(secrets, entry.secretName, 'tls.crt');
  const clientCertPem = parseKubeconfig(text(secrets, entry.secretName, 'kubeconfig')).clientCertPem;
  assert.ok(clientCertPem);
  return clientCertPem;
}

const sorted = (values: readonly string[]) => [...values].sort();
function entryOf(set: readonly CertificateSetEntry[], secretName: string): CertificateSetEntry {
  const entry = set.find((candidate) => candidate.secretName === secretName);
  assert.ok(entry, `set has no entry ${secretName}`);
  return entry;
}
const signedEntries = (set: readonly CertificateSetEntry[]) => set.filter((entry) => entry.kind === 'leaf' || entry.kind === 'kubeconfig');

let standardSet: CertificateSetEntry[];
let first: CertificateSecretsResult;

before(async () => {
  directory = mkdtempSync(join(tmpdir(), 'tessera-cluster-pki-'));
  standardSet = setFor(shop);
  first = await reconcile({ set: standardSet, now: t0 });
});
after(() => rmSync(directory, { recursive: true, force: true }));

void describe('reconcileCertificateSecrets', () => {
  void test('issues the full Standard set from scratch (timed)', async (t) => {
    const runs: number[] = [];
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      const result = await reconcile({ set: standardSet, now: t0 });
      runs.push(performance.now() - started);
      assert.equal(result.created.length, standardSet.length);
    }
    const median = [...runs].sort((a, b) => a - b)[2] ?? Number.NaN;
    const report =
      `full Standard certificate set (${standardSet.length} Secrets: 3 CAs, SA key, ${signedEntries(standardSet).length} leaves and kubeconfigs) ` +
      `issued from scratch: median ${median.toFixed(1)} ms of 5 runs (${runs.map((ms) => ms.toFixed(1)).join(', ')} ms)`;
    t.diagnostic(report);
    console.log(report);

    assert.deepEqual(first.created, standardSet.map((entry) => entry.secretName));
    assert.deepEqual(first.renewed, []);
    assert.deepEqual(first.obsolete, []);
    assert.deepEqual(first.expiringCertificateAuthorities, []);
    assert.deepEqual(new Set(Object.values(first.reasons)), new Set(['missing']));
    assert.equal(first.earliestNotAfter.toISOString(), new Date(t0.getTime() + validity).toISOString());
    assert.equal(first.caNotAfter.toISOString(), new Date(t0.getTime() + caValidity).toISOString());
    assert.equal(first.renewAt.toISOString(), new Date(t0.getTime() + validity - renewBefore).toISOString());
  });

  void test('writes each Secret with its type, keys, labels, owner and annotations', () => {
    const keysByKind = { ca: ['tls.crt', 'tls.key'], leaf: ['tls.crt', 'tls.key', 'ca.crt'], 'service-account': ['sa.key', 'sa.pub'], kubeconfig: ['kubeconfig'] };
    const typeByKind = { ca: 'kubernetes.io/tls', leaf: 'kubernetes.io/tls', 'service-account': 'Opaque', kubeconfig: 'Opaque' };
    assert.deepEqual(first.secrets.map((secret) => secret.metadata?.name), standardSet.map((entry) => entry.secretName));
    for (const entry of standardSet) {
      const secret = secretNamed(first.secrets, entry.secretName);
      assert.equal(secret.type, typeByKind[entry.kind], entry.secretName);
      assert.deepEqual(Object.keys(secret.data ?? {}), keysByKind[entry.kind], entry.secretName);
      assert.equal(secret.metadata?.namespace, 'team-a');
      assert.deepEqual(secret.metadata?.labels, {
        'tessera.dev/cluster': 'shop',
        'app.kubernetes.io/managed-by': 'tessera',
        'tessera.dev/component': entry.kind === 'kubeconfig' ? 'kubeconfig' : 'pki',
      });
      assert.deepEqual(secret.metadata?.ownerReferences, [
        { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name: 'shop', uid: 'uid-of-shop', controller: true, blockOwnerDeletion: true },
      ]);
      const annotations = secret.metadata?.annotations ?? {};
      assert.equal(notAfterAnnotation in annotations, entry.kind !== 'service-account', entry.secretName);
      assert.equal(signerFingerprintAnnotation in annotations, entry.kind === 'leaf' || entry.kind === 'kubeconfig', entry.secretName);
    }
  });

  void test('every certificate says what the set asks for and verifies against its signer with openssl', () => {
    for (const entry of standardSet.filter((candidate) => candidate.kind !== 'service-account')) {
      const certPem = certificateOf(first.secrets, entry);
      const signerPem = text(first.secrets, entry.signer, 'tls.crt');
      const description = describeCertificate(certPem);
      assert.equal(description.commonName, entry.commonName, entry.secretName);
      assert.deepEqual(sorted(description.organizations), sorted(entry.organizations), entry.secretName);
      assert.deepEqual(sorted(description.dnsNames), sorted(entry.dnsNames), entry.secretName);
      assert.deepEqual(sorted(description.ipAddresses), sorted(entry.ipAddresses), entry.secretName);

      const purposes = entry.kind === 'ca' ? [[]] : entry.usages.map((usage) => ['-purpose', usage === 'server' ? 'sslserver' : 'sslclient']);
      for (const purpose of purposes) {
        const verified = opensslVerifies(signerPem, certPem, t0, ...purpose);
        assert.ok(verified.ok, `${entry.secretName} ${purpose.join(' ')}: ${verified.output}`);
      }

      const annotations = secretNamed(first.secrets, entry.secretName).metadata?.annotations ?? {};
      const enddate = openssl('x509', '-in', writeTemporary(certPem), '-noout', '-enddate', '-dateopt', 'iso_8601').trim();
      assert.equal(annotations[notAfterAnnotation], enddate.replace(/^notAfter=(\S+) (\S+)$/, '$1T$2'), entry.secretName);
      if (entry.kind === 'ca') continue;
      const signerDer = execFileSync('openssl', ['x509', '-in', writeTemporary(signerPem), '-outform', 'der']);
      assert.equal(annotations[signerFingerprintAnnotation], createHash('sha256').update(signerDer).digest('hex'), entry.secretName);
      if (entry.kind === 'leaf') assert.equal(text(first.secrets, entry.secretName, 'ca.crt'), signerPem, `${entry.secretName} ca.crt`);
    }
  });

  void test('the apiserver and etcd serving certs match the names clients dial, per openssl', () => {
    const caPem = text(first.secrets, 'shop-ca', 'tls.crt');
    const apiServerPem = text(first.secrets, 'shop-apiserver', 'tls.crt');
    for (const host of ['kubernetes.default.svc.guest.local', 'shop-kube-apiserver.team-a.svc', 'shop-kube-apiserver-internal.team-a.svc.cluster.local', 'localhost']) {
      const verified = opensslVerifies(caPem, apiServerPem, t0, '-purpose', 'sslserver', '-verify_hostname', host);
      assert.ok(verified.ok, `${host}: ${verified.output}`);
    }
    for (const ip of ['10.100.0.1', '10.43.0.17', '127.0.0.1']) {
      const verified = opensslVerifies(caPem, apiServerPem, t0, '-purpose', 'sslserver', '-verify_ip', ip);
      assert.ok(verified.ok, `${ip}: ${verified.output}`);
    }
    assert.equal(opensslVerifies(caPem, apiServerPem, t0, '-verify_ip', '10.96.0.1').ok, false, 'an address outside the SANs must fail');

    const etcdCaPem = text(first.secrets, 'shop-etcd-ca', 'tls.crt');
    const memberPem = text(first.secrets, 'shop-etcd-2', 'tls.crt');
    for (const host of ['shop-etcd-2.shop-etcd.team-a.svc', 'shop-etcd-client.team-a.svc.cluster.local']) {
      assert.ok(opensslVerifies(etcdCaPem, memberPem, t0, '-purpose', 'sslserver', '-verify_hostname', host).ok, host);
    }
    assert.equal(opensslVerifies(etcdCaPem, memberPem, t0, '-verify_hostname', 'shop-etcd-1.shop-etcd.team-a.svc').ok, false);
    assert.equal(opensslVerifies(caPem, memberPem, t0).ok, false, 'etcd certs must not chain to the cluster CA');
  });

  void test('kubeconfigs parse, name the right server and CA, and carry a client cert whose CN and O are the user and groups', () => {
    const caPem = text(first.secrets, 'shop-ca', 'tls.crt');
    for (const entry of standardSet.filter((candidate) => candidate.kind === 'kubeconfig')) {
      const fields = parseKubeconfig(text(first.secrets, entry.secretName, 'kubeconfig'));
      assert.equal(fields.clusterName, 'shop');
      assert.equal(fields.server, entry.server);
      assert.equal(fields.userName, entry.commonName);
      assert.equal(fields.caCertPem, caPem);
      assert.ok(fields.clientCertPem && fields.clientKeyPem);
      const description = describeCertificate(fields.clientCertPem);
      assert.equal(description.commonName, entry.commonName);
      assert.deepEqual(description.organizations, entry.organizations);
      assert.ok(opensslVerifies(caPem, fields.clientCertPem, t0, '-purpose', 'sslclient').ok, entry.secretName);
    }
    const alice = describeCertificate(certificateOf(first.secrets, standardSet.find((entry) => entry.secretName === 'shop-user-alice-kubeconfig') as CertificateSetEntry));
    assert.deepEqual([alice.commonName, sorted(alice.organizations)], ['alice', ['auditors', 'view-only']]);
  });

  void test('the service-account Secret holds an ECDSA P-256 key pair that belongs together', () => {
    const privateKeyPem = text(first.secrets, 'shop-sa', 'sa.key');
    const publicKeyPem = text(first.secrets, 'shop-sa', 'sa.pub');
    const derived = openssl('pkey', '-in', writeTemporary(privateKeyPem), '-pubout');
    assert.equal(derived, publicKeyPem);
    assert.equal(createPublicKey(publicKeyPem).asymmetricKeyType, 'ec');
  });

  void test('a second reconcile of a converged guest changes nothing, byte for byte', async () => {
    const existing = asExisting(first.secrets);
    const second = await reconcile({ set: setFor(shop), existing, now: new Date(t0.getTime() + 10 * day) });
    assert.deepEqual(second.created, []);
    assert.deepEqual(second.renewed, []);
    assert.deepEqual(second.reasons, {});
    assert.equal(JSON.stringify(second.secrets), JSON.stringify(first.secrets));
    for (const secret of second.secrets) {
      const before = existing.get(String(secret.metadata?.name))?.data ?? {};
      for (const [key, value] of Object.entries(secret.data ?? {})) assert.equal(value, before[key]);
    }
    assert.equal(second.renewAt.getTime(), first.renewAt.getTime());
    const apiServerInputs = ['shop-ca', 'shop-apiserver', 'shop-sa', 'shop-apiserver-etcd-client'];
    assert.equal(checksumOf(second.secrets, apiServerInputs), checksumOf(first.secrets, apiServerInputs));
  });

  void test('inside the renewal window exactly the leaves and kubeconfigs that are due are reissued', async () => {
    // carol joins 100 days later, so her kubeconfig is not due when the rest are.
    const withCarol = guestCluster('shop', [...(shop.spec.users ?? []), { name: 'carol', groups: ['editors'], validity: '8760h' }]);
    const carolSet = setFor(withCarol);
    const t1 = new Date(t0.getTime() + 100 * day);
    const joined = await reconcile({ cluster: withCarol, set: carolSet, existing: asExisting(first.secrets), now: t1 });
    assert.deepEqual(joined.created, ['shop-user-carol-kubeconfig']);
    assert.deepEqual(joined.renewed, []);

    const windowOpens = t0.getTime() + validity - renewBefore;
    const justBefore = await reconcile({ cluster: withCarol, set: carolSet, existing: asExisting(joined.secrets), now: new Date(windowOpens - 1000) });
    assert.deepEqual(justBefore.renewed, []);
    assert.equal(JSON.stringify(justBefore.secrets), JSON.stringify(joined.secrets));

    const t2 = new Date(windowOpens + hour);
    const renewal = await reconcile({ cluster: withCarol, set: carolSet, existing: asExisting(joined.secrets), now: t2 });
    const due = signedEntries(carolSet)
      .map((entry) => entry.secretName)
      .filter((name) => name !== 'shop-user-carol-kubeconfig');
    assert.deepEqual(renewal.renewed, due);
    assert.deepEqual(renewal.created, []);
    for (const name of due) assert.match(renewal.reasons[name] ?? '', /inside the renewal window/);

    for (const entry of carolSet) {
      const before = JSON.stringify(secretNamed(joined.secrets, entry.secretName).data);
      const afterRenewal = JSON.stringify(secretNamed(renewal.secrets, entry.secretName).data);
      assert.equal(afterRenewal === before, !due.includes(entry.secretName), entry.secretName);
      if (!due.includes(entry.secretName)) continue;
      const certPem = certificateOf(renewal.secrets, entry);
      assert.equal(describeCertificate(certPem).notAfter.getTime(), t2.getTime() + validity, entry.secretName);
      assert.ok(opensslVerifies(text(renewal.secrets, entry.signer, 'tls.crt'), certPem, t2).ok, entry.secretName);
    }
    // Next due: carol's kubeconfig, issued at t1.
    assert.equal(renewal.renewAt.getTime(), t1.getTime() + validity - renewBefore);
    // Users are counted apart: the platform's own certificates were all renewed at t2.
    assert.equal(renewal.earliestNotAfter.getTime(), t2.getTime() + validity);
    assert.equal(renewal.userCertificates.find((state) => state.user === 'carol')?.notAfter.getTime(), t1.getTime() + validity);

    const apiServerInputs = ['shop-ca', 'shop-apiserver', 'shop-sa'];
    assert.notEqual(checksumOf(renewal.secrets, apiServerInputs), checksumOf(joined.secrets, apiServerInputs));
    assert.equal(checksumOf(renewal.secrets, ['shop-user-carol-kubeconfig', 'shop-sa']), checksumOf(joined.secrets, ['shop-sa', 'shop-user-carol-kubeconfig']));

    const settled = await reconcile({ cluster: withCarol, set: carolSet, existing: asExisting(renewal.secrets), now: new Date(t2.getTime() + hour) });
    assert.deepEqual([settled.created, settled.renewed], [[], []]);
  });

  void test('a changed Service IP reissues only the apiserver serving cert', async () => {
    const moved = setFor(shop, { apiServerClusterIP: '10.43.0.99' });
    const result = await reconcile({ set: moved, existing: asExisting(first.secrets), now: new Date(t0.getTime() + day) });
    assert.deepEqual(result.renewed, ['shop-apiserver']);
    assert.deepEqual(result.created, []);
    assert.match(result.reasons['shop-apiserver'] ?? '', /IP \+10\.43\.0\.99 -10\.43\.0\.17/);
    const description = describeCertificate(text(result.secrets, 'shop-apiserver', 'tls.crt'));
    assert.ok(description.ipAddresses.includes('10.43.0.99'));
    assert.ok(!description.ipAddresses.includes('10.43.0.17'));
    for (const secret of result.secrets.filter((candidate) => candidate.metadata?.name !== 'shop-apiserver')) {
      assert.equal(JSON.stringify(secret), JSON.stringify(secretNamed(first.secrets, String(secret.metadata?.name))));
    }
  });

  void test('a changed endpoint re-renders only the kubeconfigs that point at it', async () => {
    const endpoint = 'https://10.43.0.17:6443';
    const result = await reconcile({ set: setFor(shop, { endpoint }), existing: asExisting(first.secrets), now: new Date(t0.getTime() + day) });
    assert.deepEqual(result.renewed, ['shop-admin-kubeconfig', 'shop-user-alice-kubeconfig', 'shop-user-bob-kubeconfig']);
    assert.equal(parseKubeconfig(text(result.secrets, 'shop-admin-kubeconfig', 'kubeconfig')).server, endpoint);
  });

  void test('a replaced CA reissues exactly what it signs, detected by the signer fingerprint', async () => {
    const existing = asExisting(first.secrets);
    existing.delete('shop-front-proxy-ca');
    const now = new Date(t0.getTime() + day);
    const result = await reconcile({ set: standardSet, existing, now });
    assert.deepEqual(result.created, ['shop-front-proxy-ca']);
    assert.deepEqual(result.renewed, ['shop-front-proxy-client']);
    assert.match(result.reasons['shop-front-proxy-client'] ?? '', /signer shop-front-proxy-ca changed/);
    const newCaPem = text(result.secrets, 'shop-front-proxy-ca', 'tls.crt');
    const clientPem = text(result.secrets, 'shop-front-proxy-client', 'tls.crt');
    assert.ok(opensslVerifies(newCaPem, clientPem, now).ok);
    assert.equal(opensslVerifies(text(first.secrets, 'shop-front-proxy-ca', 'tls.crt'), clientPem, now).ok, false);
    assert.notEqual(
      secretNamed(result.secrets, 'shop-front-proxy-client').metadata?.annotations?.[signerFingerprintAnnotation],
      secretNamed(first.secrets, 'shop-front-proxy-client').metadata?.annotations?.[signerFingerprintAnnotation],
    );
  });

  void test("guest A's admin certificate fails verification against guest B's CA", async () => {
    const other = guestCluster('other', []);
    const otherResult = await reconcile({ cluster: other, set: setFor(other), now: t0 });
    const adminOfShop = parseKubeconfig(text(first.secrets, 'shop-admin-kubeconfig', 'kubeconfig')).clientCertPem as string;
    const caOfShop = text(first.secrets, 'shop-ca', 'tls.crt');
    const caOfOther = text(otherResult.secrets, 'other-ca', 'tls.crt');
    const rejected = opensslVerifies(caOfOther, adminOfShop, t0, '-purpose', 'sslclient');
    assert.equal(rejected.ok, false, rejected.output);
    assert.equal(verifyIssuedBy(adminOfShop, caOfOther), false);
    assert.ok(opensslVerifies(caOfShop, adminOfShop, t0, '-purpose', 'sslclient').ok);
  });

  void test('never rotates an expiring CA: it is reported, and leaves that already end with it are kept', async () => {
    const shortCaValidity = 100 * day;
    const created = await reconcile({ set: standardSet, now: t0, caValidity: shortCaValidity });
    const caEnd = t0.getTime() + shortCaValidity;
    assert.equal(created.earliestNotAfter.getTime(), caEnd, 'leaves are cut back to the CA lifetime');
    for (const now of [new Date(caEnd - 20 * day), new Date(caEnd + day)]) {
      const result = await reconcile({ set: standardSet, existing: asExisting(created.secrets), now, caValidity: shortCaValidity });
      assert.deepEqual([result.created, result.renewed], [[], []], now.toISOString());
      assert.deepEqual(result.expiringCertificateAuthorities, ['shop-ca', 'shop-front-proxy-ca', 'shop-etcd-ca']);
      assert.equal(result.caNotAfter.getTime(), caEnd);
      assert.equal(result.renewAt.getTime(), caEnd);
      assert.equal(JSON.stringify(result.secrets), JSON.stringify(created.secrets));
    }
  });

  void test('reissues an unreadable leaf but refuses to replace a broken CA or service-account key', async () => {
    const existing = asExisting(first.secrets);
    const kubeletClient = existing.get('shop-apiserver-kubelet-client') as V1Secret;
    kubeletClient.data = { ...kubeletClient.data, 'tls.key': secretNamed(first.secrets, 'shop-front-proxy-client').data?.['tls.key'] ?? '' };
    const repaired = await reconcile({ set: standardSet, existing, now: t0 });
    assert.deepEqual(repaired.renewed, ['shop-apiserver-kubelet-client']);
    assert.match(repaired.reasons['shop-apiserver-kubelet-client'] ?? '', /unreadable: the key does not belong/);

    const brokenCa = asExisting(first.secrets);
    (brokenCa.get('shop-etcd-ca') as V1Secret).data = { 'tls.crt': Buffer.from('garbage').toString('base64'), 'tls.key': 'Zm9v' };
    await assert.rejects(reconcile({ set: standardSet, existing: brokenCa, now: t0 }), /CA Secret shop-etcd-ca .*never replaced automatically.*delete it to issue a new CA/);

    const brokenServiceAccount = asExisting(first.secrets);
    const otherKey = asExisting((await reconcile({ set: standardSet, now: t0 })).secrets).get('shop-sa')?.data?.['sa.pub'] ?? '';
    (brokenServiceAccount.get('shop-sa') as V1Secret).data = { ...secretNamed(first.secrets, 'shop-sa').data, 'sa.pub': otherKey };
    await assert.rejects(reconcile({ set: standardSet, existing: brokenServiceAccount, now: t0 }), /Secret shop-sa must hold a PEM key pair .* that belong together/);
  });

  void test('reports Secrets the set no longer names, such as a removed user', async () => {
    const withoutBob = guestCluster('shop', [{ name: 'alice', groups: ['view-only', 'auditors'], validity: '8760h' }]);
    const existing = asExisting(first.secrets);
    existing.set('unrelated', { metadata: { name: 'unrelated', labels: { 'tessera.dev/cluster': 'shop' } } });
    const result = await reconcile({ cluster: withoutBob, set: setFor(withoutBob), existing, now: t0 });
    assert.deepEqual(result.obsolete, ['shop-user-bob-kubeconfig']);
    assert.ok(!result.secrets.some((secret) => secret.metadata?.name === 'shop-user-bob-kubeconfig'));
    assert.deepEqual([result.created, result.renewed], [[], []]);
  });

  void test('rejects inputs that cannot converge, naming the field and the fix', async () => {
    await assert.rejects(reconcile({ set: standardSet, now: t0, renewBefore: validity }), /spec\.certificates\.renewBefore .* must be shorter than spec\.certificates\.validity/);
    await assert.rejects(reconcile({ set: standardSet, now: t0, validity: 0 }), /validity must be a positive number/);
    const wrongType = asExisting(first.secrets);
    (wrongType.get('shop-ca') as V1Secret).type = 'Opaque';
    await assert.rejects(reconcile({ set: standardSet, existing: wrongType, now: t0 }), /Secret shop-ca has type Opaque but must be kubernetes\.io\/tls; delete it/);
    const orphan = standardSet.filter((entry) => entry.secretName !== 'shop-etcd-ca');
    await assert.rejects(reconcile({ set: orphan, now: t0 }), /shop-apiserver-etcd-client names signer shop-etcd-ca, which is not a CA in the set/);
  });
});

void describe('short-lived user certificates', () => {
  // Default validity 24h; the renewal window is a third of it (8h), shorter than the cluster's 30 days.
  const office = guestCluster('shop', [{ name: 'alice', groups: ['view-only'] }, { name: 'bob', validity: '2h' }]);
  const officeSet = () => setFor(office);
  const reconcileOffice = (existing: Map<string, V1Secret>, now: Date, cluster: Cluster = office) =>
    reconcile({ cluster, set: setFor(cluster), existing, now });
  const userNames = ['shop-user-alice-kubeconfig', 'shop-user-bob-kubeconfig'];
  let issued: CertificateSecretsResult;
  before(async () => {
    issued = await reconcileOffice(new Map(), t0);
  });

  void test('each user certificate lives its own validity, and expires then per openssl', () => {
    const caPem = text(issued.secrets, 'shop-ca', 'tls.crt');
    const set = officeSet();
    for (const [name, lifetime] of [
      ['shop-user-alice-kubeconfig', 24 * hour],
      ['shop-user-bob-kubeconfig', 2 * hour],
    ] as const) {
      const certPem = certificateOf(issued.secrets, entryOf(set, name));
      assert.equal(describeCertificate(certPem).notAfter.getTime(), t0.getTime() + lifetime, name);
      assert.ok(opensslVerifies(caPem, certPem, new Date(t0.getTime() + lifetime - 60_000), '-purpose', 'sslclient').ok, `${name} valid until the end`);
      const expired = opensslVerifies(caPem, certPem, new Date(t0.getTime() + lifetime + 60_000), '-purpose', 'sslclient');
      assert.ok(!expired.ok && /expired/.test(expired.output), `${name} expired after its validity: ${expired.output}`);
    }
    // The platform's certificates keep spec.certificates.validity, the admin kubeconfig included.
    const adminPem = certificateOf(issued.secrets, entryOf(set, 'shop-admin-kubeconfig'));
    assert.equal(describeCertificate(adminPem).notAfter.getTime(), t0.getTime() + validity);
  });

  void test('the result reports each user certificate and requeues for the first user renewal, leaving status notAfter to the platform', () => {
    assert.deepEqual(issued.userCertificates, [
      { user: 'alice', secretName: 'shop-user-alice-kubeconfig', notAfter: new Date(t0.getTime() + 24 * hour), renewAt: new Date(t0.getTime() + 16 * hour) },
      { user: 'bob', secretName: 'shop-user-bob-kubeconfig', notAfter: new Date(t0.getTime() + 2 * hour), renewAt: new Date(t0.getTime() + (2 * hour * 2) / 3) },
    ]);
    assert.equal(issued.renewAt.getTime(), t0.getTime() + (2 * hour * 2) / 3, "bob's renewal comes first");
    assert.equal(issued.earliestNotAfter.getTime(), t0.getTime() + validity, 'user certificates do not pull the platform expiry forward');
  });

  void test('renewal: only the due user certificate is reissued, the old one keeps working until it expires, the admin kubeconfig is untouched', async () => {
    const bobDue = t0.getTime() + (2 * hour * 2) / 3;
    const before = await reconcileOffice(asExisting(issued.secrets), new Date(bobDue - 1000));
    assert.deepEqual([before.created, before.renewed], [[], []]);

    const t1 = new Date(bobDue + 60_000);
    const renewed = await reconcileOffice(asExisting(issued.secrets), t1);
    assert.deepEqual(renewed.renewed, ['shop-user-bob-kubeconfig']);
    assert.match(renewed.reasons['shop-user-bob-kubeconfig'] ?? '', /inside the renewal window/);
    const set = officeSet();
    const caPem = text(issued.secrets, 'shop-ca', 'tls.crt');
    const oldBob = certificateOf(issued.secrets, entryOf(set, 'shop-user-bob-kubeconfig'));
    const newBob = certificateOf(renewed.secrets, entryOf(set, 'shop-user-bob-kubeconfig'));
    assert.equal(describeCertificate(newBob).notAfter.getTime(), t1.getTime() + 2 * hour);
    assert.ok(opensslVerifies(caPem, oldBob, t1, '-purpose', 'sslclient').ok, 'the copy handed out earlier still works until its own expiry');
    assert.ok(opensslVerifies(caPem, newBob, new Date(t0.getTime() + 2 * hour + 60_000), '-purpose', 'sslclient').ok, 'the renewed one outlives it');
    for (const name of ['shop-admin-kubeconfig', 'shop-user-alice-kubeconfig']) {
      assert.equal(JSON.stringify(secretNamed(renewed.secrets, name).data), JSON.stringify(secretNamed(issued.secrets, name).data), name);
    }
    assert.equal(renewed.renewAt.getTime(), t1.getTime() + (2 * hour * 2) / 3, "bob's next renewal is again the first");

    // alice at 16h: her Secret is renewed with 8h left; keeping it renewed is all a listed user needs.
    const t2 = new Date(t0.getTime() + 16 * hour + 60_000);
    const aliceRenewed = await reconcileOffice(asExisting(renewed.secrets), t2);
    assert.ok(aliceRenewed.renewed.includes('shop-user-alice-kubeconfig'));
    assert.equal(describeCertificate(certificateOf(aliceRenewed.secrets, entryOf(set, 'shop-user-alice-kubeconfig'))).notAfter.getTime(), t2.getTime() + 24 * hour);
  });

  void test('the admin kubeconfig keeps working across renewals: same CA, same server, a fresh certificate that verifies', async () => {
    const t1 = new Date(t0.getTime() + validity - renewBefore + hour);
    const renewed = await reconcileOffice(asExisting(issued.secrets), t1);
    assert.ok(renewed.renewed.includes('shop-admin-kubeconfig'));
    const before = parseKubeconfig(text(issued.secrets, 'shop-admin-kubeconfig', 'kubeconfig'));
    const afterRenewal = parseKubeconfig(text(renewed.secrets, 'shop-admin-kubeconfig', 'kubeconfig'));
    assert.equal(afterRenewal.caCertPem, before.caCertPem);
    assert.equal(afterRenewal.server, before.server);
    assert.notEqual(afterRenewal.clientCertPem, before.clientCertPem);
    const caPem = text(renewed.secrets, 'shop-ca', 'tls.crt');
    assert.ok(opensslVerifies(caPem, afterRenewal.clientCertPem ?? '', t1, '-purpose', 'sslclient').ok);
    assert.ok(opensslVerifies(caPem, before.clientCertPem ?? '', t1, '-purpose', 'sslclient').ok, 'a copy taken before the renewal still works');
  });

  void test('a shortened validity replaces a longer-lived certificate at once', async () => {
    const longLived = guestCluster('shop', [{ name: 'alice', groups: ['view-only'], validity: '8760h' }, { name: 'bob', validity: '2h' }]);
    const year = await reconcileOffice(new Map(), t0, longLived);
    const t1 = new Date(t0.getTime() + hour);
    const shortened = await reconcileOffice(asExisting(year.secrets), t1);
    assert.deepEqual(shortened.renewed, ['shop-user-alice-kubeconfig']);
    assert.match(shortened.reasons['shop-user-alice-kubeconfig'] ?? '', /validity shortened/);
    assert.equal(describeCertificate(certificateOf(shortened.secrets, entryOf(officeSet(), 'shop-user-alice-kubeconfig'))).notAfter.getTime(), t1.getTime() + 24 * hour);
  });

  void test('a removed user is reported obsolete and no longer renewed or counted', async () => {
    const aliceOnly = guestCluster('shop', [{ name: 'alice', groups: ['view-only'] }]);
    const result = await reconcileOffice(asExisting(issued.secrets), new Date(t0.getTime() + hour), aliceOnly);
    assert.deepEqual(result.obsolete, ['shop-user-bob-kubeconfig']);
    assert.deepEqual(result.userCertificates.map((state) => state.user), ['alice']);
    assert.equal(result.renewAt.getTime(), t0.getTime() + 16 * hour, "alice's renewal, not bob's");
    assert.deepEqual(
      result.secrets.map((secret) => secret.metadata?.name).filter((name) => userNames.includes(String(name))),
      ['shop-user-alice-kubeconfig'],
    );
  });

  void test('a user certificate already ending with its CA is kept and not counted for renewal', async () => {
    const caValidityShort = 12 * hour;
    const capped = await reconcile({ cluster: office, set: officeSet(), now: t0, caValidity: caValidityShort, validity: 6 * hour, renewBefore: hour });
    const alice = capped.userCertificates.find((state) => state.user === 'alice');
    assert.equal(alice?.notAfter.getTime(), t0.getTime() + caValidityShort, 'cut back to the CA');
    assert.equal(alice?.renewAt.getTime(), alice?.notAfter.getTime());
  });
});

void describe('certificateLifetimesOf', () => {
  void test('reads spec.certificates in milliseconds, with the contract defaults', () => {
    assert.deepEqual(certificateLifetimesOf(guestCluster('shop', [])), { validity: 8760 * hour, caValidity: 87600 * hour, renewBefore: 720 * hour });
    assert.deepEqual(certificateLifetimesOf(guestCluster('shop', [], { validity: '30m', renewBefore: '10m' })), {
      validity: 30 * 60 * 1000,
      caValidity: 87600 * hour,
      renewBefore: 10 * 60 * 1000,
    });
    assert.throws(() => certificateLifetimesOf(guestCluster('shop', [], { validity: '1y' })), /spec\.certificates\.validity: invalid duration "1y"/);
  });
});

void describe('checksumOf', () => {
  void test('does not depend on the order of names and names a missing Secret', () => {
    assert.equal(checksumOf(first.secrets, ['shop-ca', 'shop-sa']), checksumOf(first.secrets, ['shop-sa', 'shop-ca', 'shop-sa']));
    assert.notEqual(checksumOf(first.secrets, ['shop-ca']), checksumOf(first.secrets, ['shop-ca', 'shop-sa']));
    assert.match(checksumOf(first.secrets, ['shop-ca']), /^[0-9a-f]{64}$/);
    assert.throws(() => checksumOf(first.secrets, ['shop-nope']), /no Secret named "shop-nope"/);
  });
});
