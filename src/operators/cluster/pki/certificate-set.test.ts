import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCertificateSet, pkiSecretNames, userCertificateLifetime } from './certificate-set.ts';
import type { Cluster } from '../../../api/v1alpha1/cluster.ts';
import type { CertificateSetEntry, CertificateSetInput } from './certificate-set.ts';

function clusterOf(metadata: Cluster['metadata'], spec: Omit<Cluster['spec'], 'version'> = {}): Cluster {
  return { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata, spec: { version: '1.37.2', ...spec } };
}

const standardCluster = clusterOf(
  { name: 'shop', namespace: 'team-a', uid: '0b7c1e52-8f0a-4d0e-9a55-3f1f3c7f2a10' },
  {
    network: { serviceCIDR: '10.100.0.0/16', clusterDomain: 'guest.local' },
    users: [
      { name: 'alice', groups: ['view-only', 'auditors'] },
      { name: 'bob' },
    ],
  },
);

function standardInput(overrides: Partial<CertificateSetInput> = {}): CertificateSetInput {
  return {
    cluster: standardCluster,
    apiServerClusterIP: '10.43.0.17',
    endpoint: 'https://shop-kube-apiserver.team-a.svc:6443',
    etcdMemberNames: ['shop-etcd-0', 'shop-etcd-1', 'shop-etcd-2'],
    ...overrides,
  };
}

function entryNamed(set: CertificateSetEntry[], secretName: string): CertificateSetEntry {
  const entry = set.find((candidate) => candidate.secretName === secretName);
  assert.ok(entry, `set has no entry ${secretName}`);
  return entry;
}

void describe('buildCertificateSet', () => {
  void test('names every Secret of a Standard guest, CAs first, with its kind and signer', () => {
    const set = buildCertificateSet(standardInput());
    assert.deepEqual(
      set.map((entry) => [entry.secretName, entry.kind, entry.signer, entry.component]),
      [
        ['shop-ca', 'ca', 'shop-ca', 'pki'],
        ['shop-front-proxy-ca', 'ca', 'shop-front-proxy-ca', 'pki'],
        ['shop-etcd-ca', 'ca', 'shop-etcd-ca', 'pki'],
        ['shop-sa', 'service-account', 'shop-sa', 'pki'],
        ['shop-apiserver', 'leaf', 'shop-ca', 'pki'],
        ['shop-apiserver-kubelet-client', 'leaf', 'shop-ca', 'pki'],
        ['shop-front-proxy-client', 'leaf', 'shop-front-proxy-ca', 'pki'],
        ['shop-apiserver-etcd-client', 'leaf', 'shop-etcd-ca', 'pki'],
        ['shop-etcd-operator-client', 'leaf', 'shop-etcd-ca', 'pki'],
        ['shop-etcd-0', 'leaf', 'shop-etcd-ca', 'pki'],
        ['shop-etcd-1', 'leaf', 'shop-etcd-ca', 'pki'],
        ['shop-etcd-2', 'leaf', 'shop-etcd-ca', 'pki'],
        ['shop-admin-kubeconfig', 'kubeconfig', 'shop-ca', 'kubeconfig'],
        ['shop-controller-manager-kubeconfig', 'kubeconfig', 'shop-ca', 'kubeconfig'],
        ['shop-scheduler-kubeconfig', 'kubeconfig', 'shop-ca', 'kubeconfig'],
        ['shop-user-alice-kubeconfig', 'kubeconfig', 'shop-ca', 'kubeconfig'],
        ['shop-user-bob-kubeconfig', 'kubeconfig', 'shop-ca', 'kubeconfig'],
      ],
    );
  });

  void test('gives the apiserver serving cert the in-guest names, the first service IP, the Service IP and both Services of the meta cluster', () => {
    const apiServer = entryNamed(buildCertificateSet(standardInput()), 'shop-apiserver');
    assert.equal(apiServer.commonName, 'kube-apiserver');
    assert.deepEqual(apiServer.usages, ['server']);
    assert.deepEqual(apiServer.dnsNames, [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.guest.local',
      'shop-kube-apiserver',
      'shop-kube-apiserver.team-a',
      'shop-kube-apiserver.team-a.svc',
      'shop-kube-apiserver.team-a.svc.cluster.local',
      'shop-kube-apiserver-internal',
      'shop-kube-apiserver-internal.team-a',
      'shop-kube-apiserver-internal.team-a.svc',
      'shop-kube-apiserver-internal.team-a.svc.cluster.local',
    ]);
    assert.deepEqual(apiServer.ipAddresses, ['127.0.0.1', '10.100.0.1', '10.43.0.17']);
  });

  void test('adds the endpoint host and extra SANs to the serving cert once each, telling names from addresses', () => {
    const apiServer = entryNamed(
      buildCertificateSet(
        standardInput({
          endpoint: 'https://API.Shop.Example.com:443',
          extraSans: ['203.0.113.9', 'api.shop.example.com', '10.43.0.17', 'FD00:0::9'],
        }),
      ),
      'shop-apiserver',
    );
    assert.deepEqual(apiServer.dnsNames.slice(-1), ['api.shop.example.com']);
    assert.deepEqual(apiServer.ipAddresses, ['127.0.0.1', '10.100.0.1', '10.43.0.17', '203.0.113.9', 'fd00::9']);
  });

  void test('uses the defaults of the Cluster contract when the network is not given', () => {
    const apiServer = entryNamed(
      buildCertificateSet(standardInput({ cluster: clusterOf({ name: 'shop', namespace: 'team-a' }) })),
      'shop-apiserver',
    );
    assert.ok(apiServer.ipAddresses.includes('10.96.0.1'));
    assert.ok(apiServer.dnsNames.includes('kubernetes.default.svc.cluster.local'));
  });

  void test('takes the first address of an IPv6 service range', () => {
    const cluster = clusterOf({ name: 'shop', namespace: 'team-a' }, { network: { serviceCIDR: 'fd00:10:96::/112' } });
    const apiServer = entryNamed(buildCertificateSet(standardInput({ cluster, apiServerClusterIP: 'fd00:43::17' })), 'shop-apiserver');
    assert.deepEqual(apiServer.ipAddresses, ['127.0.0.1', 'fd00:10:96::1', 'fd00:43::17']);
  });

  void test('gives each etcd member a server and client cert for its DNS names, since its pod IP is unknown in advance', () => {
    const member = entryNamed(buildCertificateSet(standardInput()), 'shop-etcd-1');
    assert.equal(member.signer, 'shop-etcd-ca');
    assert.deepEqual(member.usages, ['server', 'client']);
    assert.deepEqual(member.dnsNames, [
      'shop-etcd-1',
      'shop-etcd-1.shop-etcd.team-a.svc',
      'shop-etcd-1.shop-etcd.team-a.svc.cluster.local',
      'shop-etcd-client.team-a.svc',
      'shop-etcd-client.team-a.svc.cluster.local',
      'localhost',
    ]);
    assert.deepEqual(member.ipAddresses, ['127.0.0.1']);
  });

  void test('names the client identities and groups the guest API server, etcd and the operator expect', () => {
    const set = buildCertificateSet(standardInput());
    const identity = (name: string) => {
      const entry = entryNamed(set, name);
      return { commonName: entry.commonName, organizations: entry.organizations, usages: entry.usages };
    };
    assert.deepEqual(identity('shop-apiserver-kubelet-client'), {
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['kubeadm:cluster-admins'],
      usages: ['client'],
    });
    assert.deepEqual(identity('shop-front-proxy-client'), { commonName: 'front-proxy-client', organizations: [], usages: ['client'] });
    assert.deepEqual(identity('shop-apiserver-etcd-client'), { commonName: 'kube-apiserver-etcd-client', organizations: [], usages: ['client'] });
    assert.deepEqual(identity('shop-etcd-operator-client'), { commonName: 'tessera-operator', organizations: [], usages: ['client'] });
    assert.deepEqual(identity('shop-admin-kubeconfig'), { commonName: 'kubernetes-admin', organizations: ['system:masters'], usages: ['client'] });
    assert.deepEqual(identity('shop-controller-manager-kubeconfig'), {
      commonName: 'system:kube-controller-manager',
      organizations: [],
      usages: ['client'],
    });
    assert.deepEqual(identity('shop-scheduler-kubeconfig'), { commonName: 'system:kube-scheduler', organizations: [], usages: ['client'] });
    assert.deepEqual(identity('shop-user-alice-kubeconfig'), { commonName: 'alice', organizations: ['view-only', 'auditors'], usages: ['client'] });
    assert.deepEqual(identity('shop-user-bob-kubeconfig'), { commonName: 'bob', organizations: [], usages: ['client'] });
  });

  void test('points admin and user kubeconfigs at the endpoint and the components at the internal headless Service', () => {
    const set = buildCertificateSet(standardInput());
    assert.equal(entryNamed(set, 'shop-admin-kubeconfig').server, 'https://shop-kube-apiserver.team-a.svc:6443');
    assert.equal(entryNamed(set, 'shop-user-alice-kubeconfig').server, 'https://shop-kube-apiserver.team-a.svc:6443');
    const internal = 'https://shop-kube-apiserver-internal.team-a.svc.cluster.local:6443';
    assert.equal(entryNamed(set, 'shop-controller-manager-kubeconfig').server, internal);
    assert.equal(entryNamed(set, 'shop-scheduler-kubeconfig').server, internal);
  });

  void test('extra users get short-lived certificates: 24h by default, renewed with a third left or the cluster window if shorter', () => {
    const hour = 3_600_000;
    const set = buildCertificateSet(standardInput());
    assert.deepEqual(
      set.filter((entry) => entry.user !== undefined).map((entry) => [entry.secretName, entry.user, entry.lifetime]),
      [
        ['shop-user-alice-kubeconfig', 'alice', { validity: 24 * hour, renewBefore: 8 * hour }],
        ['shop-user-bob-kubeconfig', 'bob', { validity: 24 * hour, renewBefore: 8 * hour }],
      ],
    );
    for (const entry of set.filter((candidate) => candidate.user === undefined)) {
      assert.equal(entry.lifetime, undefined, `${entry.secretName} follows spec.certificates`);
    }
    const custom = buildCertificateSet(
      standardInput({
        cluster: clusterOf(standardCluster.metadata, { users: [{ name: 'ci', validity: '90m' }, { name: 'ops', validity: '8760h' }], certificates: { validity: '8760h', renewBefore: '2h' } }),
      }),
    );
    assert.deepEqual(entryNamed(custom, 'shop-user-ci-kubeconfig').lifetime, { validity: 1.5 * hour, renewBefore: 0.5 * hour });
    assert.deepEqual(entryNamed(custom, 'shop-user-ops-kubeconfig').lifetime, { validity: 8760 * hour, renewBefore: 2 * hour }, 'the cluster window is shorter than a third');
    assert.deepEqual(userCertificateLifetime(30 * 60_000, 720 * hour), { validity: 30 * 60_000, renewBefore: 10 * 60_000 });
  });

  void test('refuses a system: group for an extra user even if the API server let it through', () => {
    assert.throws(
      () => buildCertificateSet(standardInput({ cluster: clusterOf(standardCluster.metadata, { users: [{ name: 'mallory', groups: ['ops', 'system:masters'] }] }) })),
      /spec\.users\[0\]\.groups\[1\] "system:masters" must not start with "system:": .*a certificate cannot be revoked; use a group RBAC binds/,
    );
    assert.throws(
      () => buildCertificateSet(standardInput({ cluster: clusterOf(standardCluster.metadata, { users: [{ name: 'jane', validity: '1d' }] }) })),
      /spec\.users\[0\]\.validity: invalid duration "1d"/,
    );
    assert.throws(
      () => buildCertificateSet(standardInput({ cluster: clusterOf(standardCluster.metadata, { users: [{ name: 'jane', validity: '0s' }] }) })),
      /spec\.users\[0\]\.validity must be a positive duration/,
    );
  });

  void test('a Minimal guest has one etcd member certificate', () => {
    const set = buildCertificateSet(standardInput({ etcdMemberNames: ['shop-etcd-0'] }));
    assert.deepEqual(
      set.filter((entry) => entry.signer === 'shop-etcd-ca' && entry.kind === 'leaf').map((entry) => entry.secretName),
      ['shop-apiserver-etcd-client', 'shop-etcd-operator-client', 'shop-etcd-0'],
    );
  });

  void test('pkiSecretNames agrees with the set', () => {
    const names = pkiSecretNames('shop');
    const set = buildCertificateSet(standardInput({ etcdMemberNames: ['shop-etcd-0'] }));
    const listed = [
      names.clusterCa,
      names.frontProxyCa,
      names.etcdCa,
      names.serviceAccount,
      names.apiServer,
      names.apiServerKubeletClient,
      names.frontProxyClient,
      names.apiServerEtcdClient,
      names.etcdOperatorClient,
      names.etcdMember('shop-etcd-0'),
      names.adminKubeconfig,
      names.controllerManagerKubeconfig,
      names.schedulerKubeconfig,
      names.userKubeconfig('alice'),
      names.userKubeconfig('bob'),
    ];
    assert.deepEqual(set.map((entry) => entry.secretName), listed);
  });

  void test('rejects input it cannot name or sign, naming the field and the fix', () => {
    const withCluster = (metadata: Cluster['metadata'], spec: Omit<Cluster['spec'], 'version'> = {}) => () =>
      buildCertificateSet(standardInput({ cluster: clusterOf(metadata, spec) }));
    assert.throws(withCluster({ name: 'shop' }), /metadata\.namespace is required/);
    assert.throws(withCluster({ name: 'Shop', namespace: 'a' }), /metadata\.name "Shop" must be a DNS label/);
    assert.throws(withCluster({ name: 'shop', namespace: 'a' }, { users: [{ name: 'Jane Doe' }] }), /spec\.users\[0\]\.name "Jane Doe"/);
    assert.throws(withCluster({ name: 'shop', namespace: 'a' }, { users: [{ name: 'jane' }, { name: 'jane' }] }), /spec\.users\[1\]\.name "jane" is listed twice/);
    assert.throws(withCluster({ name: 'shop', namespace: 'a' }, { users: [{ name: 'jane', groups: [''] }] }), /spec\.users\[0\]\.groups\[0\]/);
    assert.throws(
      withCluster({ name: 'shop', namespace: 'a' }, { network: { serviceCIDR: '10.96.0.0' } }),
      /spec\.network\.serviceCIDR "10\.96\.0\.0" has no prefix length/,
    );
    assert.throws(() => buildCertificateSet(standardInput({ apiServerClusterIP: 'None' })), /apiServerClusterIP "None" is not an IP address/);
    assert.throws(() => buildCertificateSet(standardInput({ endpoint: 'http://x:6443' })), /endpoint "http:\/\/x:6443" must use https/);
    assert.throws(() => buildCertificateSet(standardInput({ etcdMemberNames: ['etcd-0'] })), /etcdMemberNames\[0\] "etcd-0" must be named shop-etcd-<index>/);
    assert.throws(() => buildCertificateSet(standardInput({ etcdMemberNames: [] })), /etcdMemberNames is empty/);
    assert.throws(() => buildCertificateSet(standardInput({ extraSans: [''] })), /extraSans\[0\] must be a DNS name or an IP address/);
  });
});
