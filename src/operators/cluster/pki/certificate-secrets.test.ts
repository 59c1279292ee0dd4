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

const shop = guestCluster('shop', [{ name: 'alice', groups: ['view-only', 'auditors'] }, { name: 'bob' }]);

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

  void test('the service-account Secret holds an RSA key pair that belongs together', () => {
    const privateKeyPem = text(first.secrets, 'shop-sa', 'sa.key');
    const publicKeyPem = text(first.secrets, 'shop-sa', 'sa.pub');
    const derived = openssl('pkey', '-in', writeTemporary(privateKeyPem), '-pubout');
    assert.equal(derived, publicKeyPem);
    assert.equal(createPublicKey(publicKeyPem).asymmetricKeyType, 'rsa');
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
    const withCarol = guestCluster('shop', [...(shop.spec.users ?? []), { name: 'carol', groups: ['editors'] }]);
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
    assert.equal(renewal.earliestNotAfter.getTime(), t1.getTime() + validity);

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
    const withoutBob = guestCluster('shop', [{ name: 'alice', groups: ['view-only', 'auditors'] }]);
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
