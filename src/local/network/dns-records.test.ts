import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { buildDnsTable, reverseDnsName } from './dns-records.ts';

function pod(name: string, ip: string, options: { namespace?: string; ready?: boolean; hostname?: string; subdomain?: string; labels?: Record<string, string> } = {}): V1Pod {
  return {
    metadata: { name, namespace: options.namespace ?? 'default', labels: options.labels ?? { app: 'web' } },
    spec: {
      containers: [{ name: 'main', ports: [{ name: 'peer', containerPort: 2380 }, { name: 'http', containerPort: 8080 }] }],
      ...(options.hostname ? { hostname: options.hostname } : {}),
      ...(options.subdomain ? { subdomain: options.subdomain } : {}),
    },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] },
  };
}

function service(name: string, spec: NonNullable<V1Service['spec']>, namespace = 'default'): V1Service {
  return { metadata: { name, namespace }, spec };
}

const api = service('kubernetes', { clusterIP: '127.96.0.1', clusterIPs: ['127.96.0.1'], ports: [{ name: 'https', port: 443, targetPort: 6443 }, { port: 8443 }] });
const frontend = service('frontend', { clusterIP: '127.96.0.20', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }, 'shop');
const peers = service('web', { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'peer', port: 2380, targetPort: 'peer' }, { port: 9999 }] });
const statefulPods = [
  pod('web-0', '127.1.0.10', { hostname: 'web-0', subdomain: 'web' }),
  pod('web-1', '127.1.0.11', { hostname: 'web-1', subdomain: 'web' }),
  pod('web-2', '127.1.0.12', { hostname: 'web-2', subdomain: 'web', ready: false }),
  pod('loose', '127.1.0.13'),
];

void test('a ClusterIP Service name answers its ClusterIP, case-insensitively and with or without a trailing dot', () => {
  const table = buildDnsTable({ services: [api], pods: [] });
  const expected = [{ type: 'A', address: '127.96.0.1' }];
  assert.deepEqual(table.lookup('kubernetes.default.svc.cluster.local', 'A'), expected);
  assert.deepEqual(table.lookup('Kubernetes.DEFAULT.svc.Cluster.Local.', 'a'), expected);
});

void test('a ClusterIP Service has SRV records for named ports only, pointing at the Service name', () => {
  const table = buildDnsTable({ services: [api], pods: [] });
  assert.deepEqual(table.lookup('_https._tcp.kubernetes.default.svc.cluster.local', 'SRV'), [
    { type: 'SRV', priority: 0, weight: 100, port: 443, target: 'kubernetes.default.svc.cluster.local' },
  ]);
  assert.equal(table.lookup('_8443._tcp.kubernetes.default.svc.cluster.local', 'SRV'), undefined);
});

void test('a ClusterIP has a PTR record back to its Service name', () => {
  const table = buildDnsTable({ services: [api], pods: [] });
  assert.equal(reverseDnsName('127.96.0.1'), '1.0.96.127.in-addr.arpa');
  assert.deepEqual(table.lookup('1.0.96.127.in-addr.arpa', 'PTR'), [{ type: 'PTR', target: 'kubernetes.default.svc.cluster.local' }]);
});

void test('a headless Service name answers the IPs of its ready endpoints', () => {
  const table = buildDnsTable({ services: [peers], pods: statefulPods });
  assert.deepEqual(table.lookup('web.default.svc.cluster.local', 'A'), [
    { type: 'A', address: '127.1.0.13' },
    { type: 'A', address: '127.1.0.10' },
    { type: 'A', address: '127.1.0.11' },
  ]);
});

void test('StatefulSet pods are reachable as <hostname>.<service>.<ns>.svc; others by their dashed IP', () => {
  const table = buildDnsTable({ services: [peers], pods: statefulPods });
  assert.deepEqual(table.lookup('web-0.web.default.svc.cluster.local', 'A'), [{ type: 'A', address: '127.1.0.10' }]);
  assert.deepEqual(table.lookup('127-1-0-13.web.default.svc.cluster.local', 'A'), [{ type: 'A', address: '127.1.0.13' }]);
  // web-2 is not ready and the Service does not publish not-ready addresses
  assert.equal(table.lookup('web-2.web.default.svc.cluster.local', 'A'), undefined);
  assert.deepEqual(table.lookup('10.0.1.127.in-addr.arpa', 'PTR'), [{ type: 'PTR', target: 'web-0.web.default.svc.cluster.local' }]);
});

void test('publishNotReadyAddresses puts not-ready peers in DNS, so etcd members find each other before Ready', () => {
  const publishing = service('web', { ...peers.spec, publishNotReadyAddresses: true });
  const table = buildDnsTable({ services: [publishing], pods: statefulPods });
  assert.deepEqual(table.lookup('web-2.web.default.svc.cluster.local', 'A'), [{ type: 'A', address: '127.1.0.12' }]);
  assert.equal(table.lookup('web.default.svc.cluster.local', 'A')?.length, 4);
});

void test('a headless Service has one SRV record per endpoint and named port, on the endpoint port', () => {
  const table = buildDnsTable({ services: [peers], pods: statefulPods });
  assert.deepEqual(table.lookup('_peer._tcp.web.default.svc.cluster.local', 'SRV'), [
    { type: 'SRV', priority: 0, weight: 100, port: 2380, target: '127-1-0-13.web.default.svc.cluster.local' },
    { type: 'SRV', priority: 0, weight: 100, port: 2380, target: 'web-0.web.default.svc.cluster.local' },
    { type: 'SRV', priority: 0, weight: 100, port: 2380, target: 'web-1.web.default.svc.cluster.local' },
  ]);
});

void test('a headless Service without ready endpoints is NXDOMAIN, as the specification asks', () => {
  const table = buildDnsTable({ services: [peers], pods: [pod('web-0', '127.1.0.10', { ready: false })] });
  assert.equal(table.lookup('web.default.svc.cluster.local', 'A'), undefined);
  assert.equal(table.isClusterName('web.default.svc.cluster.local'), true);
});

void test('an ExternalName Service is a CNAME, answered for any query type but the CNAME itself', () => {
  const external = service('search', { type: 'ExternalName', externalName: 'www.example.com.' });
  const table = buildDnsTable({ services: [external], pods: [] });
  const alias = [{ type: 'CNAME', target: 'www.example.com' }];
  assert.deepEqual(table.lookup('search.default.svc.cluster.local', 'A'), alias);
  assert.deepEqual(table.lookup('search.default.svc.cluster.local', 'CNAME'), alias);
  assert.deepEqual(table.lookup('search.default.svc.cluster.local', 'AAAA'), alias);
});

void test('pod records answer for IPs of existing pods in that namespace only', () => {
  const table = buildDnsTable({ services: [], pods: [pod('a', '127.1.0.10', { namespace: 'shop' })] });
  assert.deepEqual(table.lookup('127-1-0-10.shop.pod.cluster.local', 'A'), [{ type: 'A', address: '127.1.0.10' }]);
  assert.equal(table.lookup('127-1-0-10.default.pod.cluster.local', 'A'), undefined);
  assert.equal(table.lookup('127-1-0-99.shop.pod.cluster.local', 'A'), undefined);
});

void test('a known name without records of the asked type is empty rather than absent', () => {
  const table = buildDnsTable({ services: [api, frontend], pods: [] });
  assert.deepEqual(table.lookup('kubernetes.default.svc.cluster.local', 'AAAA'), []);
  assert.deepEqual(table.lookup('frontend.shop.svc.cluster.local', 'TXT'), []);
});

void test('names between records and the zone exist without data; unrelated names do not exist', () => {
  const table = buildDnsTable({ services: [frontend], pods: [] });
  assert.deepEqual(table.lookup('shop.svc.cluster.local', 'A'), []);
  assert.deepEqual(table.lookup('svc.cluster.local', 'A'), []);
  assert.deepEqual(table.lookup('cluster.local', 'A'), []);
  assert.deepEqual(table.lookup('_tcp.frontend.shop.svc.cluster.local', 'SRV'), []);
  assert.equal(table.lookup('default.svc.cluster.local', 'A'), undefined);
  assert.equal(table.lookup('frontend.default.svc.cluster.local', 'A'), undefined);
  assert.equal(table.lookup('example.com', 'A'), undefined);
});

void test('the schema version is published as TXT at dns-version.<zone>', () => {
  const table = buildDnsTable({ services: [], pods: [] });
  assert.deepEqual(table.lookup('dns-version.cluster.local', 'TXT'), [{ type: 'TXT', text: '1.0.1' }]);
});

void test('another cluster domain is honoured, and only names under it are cluster names', () => {
  const table = buildDnsTable({ services: [api], pods: [], clusterDomain: 'Tenant-A.Example.' });
  assert.equal(table.clusterDomain, 'tenant-a.example');
  assert.deepEqual(table.lookup('kubernetes.default.svc.tenant-a.example', 'A'), [{ type: 'A', address: '127.96.0.1' }]);
  assert.equal(table.lookup('kubernetes.default.svc.cluster.local', 'A'), undefined);
  assert.equal(table.isClusterName('x.tenant-a.example.'), true);
  assert.equal(table.isClusterName('tenant-a.example'), true);
  assert.equal(table.isClusterName('xtenant-a.example'), false);
});

void test('ANY returns every record at a name', () => {
  const table = buildDnsTable({ services: [api], pods: [] });
  assert.deepEqual(table.lookup('kubernetes.default.svc.cluster.local', 'ANY'), [{ type: 'A', address: '127.96.0.1' }]);
});

void test('a Service whose ClusterIP is not allocated yet has no records', () => {
  const table = buildDnsTable({ services: [service('new', { clusterIP: '', ports: [{ name: 'http', port: 80 }] })], pods: [] });
  assert.equal(table.lookup('new.default.svc.cluster.local', 'A'), undefined);
});
