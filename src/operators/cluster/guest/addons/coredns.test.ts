import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreDnsVersionFor, dnsServiceIp, renderCoreDns, renderCorefile } from './coredns.ts';
import type { GuestObject } from '../guest-object.ts';

type Port = { protocol: string; port: number };
type Container = { image: string; livenessProbe: { httpGet: unknown }; readinessProbe: { httpGet: unknown } };
type AffinityTerm = { podAffinityTerm: { topologyKey: string; labelSelector: { matchExpressions: unknown[] } } };
type Rendered = GuestObject & {
  data: { Corefile: string };
  subjects: unknown[];
  spec: {
    clusterIP: string;
    selector: Record<string, string>;
    ports: Port[];
    replicas: number;
    template: { spec: { dnsPolicy: string; containers: [Container]; affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [AffinityTerm] } } } };
  };
};
const find = (objects: GuestObject[], kind: string) => objects.find((object) => object.kind === kind) as Rendered;

test('the kube-dns address is the 10th address of the service CIDR', () => {
  assert.equal(dnsServiceIp('10.96.0.0/12'), '10.96.0.10');
  assert.equal(dnsServiceIp('172.20.0.0/16'), '172.20.0.10');
  assert.equal(dnsServiceIp('192.168.4.0/28'), '192.168.4.10');
  assert.equal(dnsServiceIp('fd00:10:96::/108'), 'fd00:10:96::a');
  // Dual stack: the primary (first) family serves DNS.
  assert.equal(dnsServiceIp('10.96.0.0/16,fd00::/108'), '10.96.0.10');
});

test('a service CIDR that is malformed, has host bits set or is too small is refused naming the field', () => {
  assert.throws(() => dnsServiceIp('10.96.0.0'), /spec\.network\.serviceCIDR "10\.96\.0\.0" has no prefix length/);
  assert.throws(() => dnsServiceIp('10.96.0.1/12'), /has host bits set; write 10\.96\.0\.0\/12/);
  assert.throws(() => dnsServiceIp('10.96.0.0/29'), /too small/);
});

test('CoreDNS runs at the version kubeadm ships for the guest minor', () => {
  assert.equal(coreDnsVersionFor('1.36.3'), '1.14.2');
  assert.equal(coreDnsVersionFor('1.37.2'), '1.14.6');
  assert.throws(() => coreDnsVersionFor('1.20.0'), /spec\.version 1\.20\.0: no CoreDNS version is catalogued/);
});

test('the Corefile serves the cluster domain and forwards everything else to the node resolver', () => {
  const corefile = renderCorefile('tenant.example');
  assert.match(corefile, /^\s*kubernetes tenant\.example in-addr\.arpa ip6\.arpa \{/m);
  assert.match(corefile, /^\s*forward \. \/etc\/resolv\.conf/m);
  assert.match(corefile, /^\s*disable success tenant\.example$/m);
  assert.doesNotMatch(corefile, /cluster\.local/);
  assert.throws(() => renderCorefile('Bad Domain'), /spec\.network\.clusterDomain "Bad Domain" is not a DNS domain/);
});

test('CoreDNS is a ServiceAccount, its RBAC, the Corefile, a Deployment and the kube-dns Service', () => {
  const objects = renderCoreDns({ version: '1.14.6', clusterDomain: 'cluster.local', serviceCIDR: '10.96.0.0/12' });
  assert.deepEqual(
    objects.map((object) => `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`),
    ['ServiceAccount kube-system/coredns', 'ClusterRole /system:coredns', 'ClusterRoleBinding /system:coredns', 'ConfigMap kube-system/coredns', 'Deployment kube-system/coredns', 'Service kube-system/kube-dns'],
  );
  assert.match(find(objects, 'ConfigMap').data.Corefile, /kubernetes cluster\.local /);
  assert.deepEqual(find(objects, 'ClusterRoleBinding').subjects, [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }]);

  const service = find(objects, 'Service');
  assert.equal(service.spec.clusterIP, '10.96.0.10');
  assert.deepEqual(service.spec.selector, { 'k8s-app': 'kube-dns' });
  assert.deepEqual(service.spec.ports.map((port) => `${port.protocol}/${port.port}`), ['UDP/53', 'TCP/53', 'TCP/9153']);
});

test('the CoreDNS Deployment has 2 replicas kept apart, and probes on /health :8080 and /ready :8181', () => {
  const deployment = find(renderCoreDns({ version: '1.14.6', clusterDomain: 'cluster.local', serviceCIDR: '10.96.0.0/12' }), 'Deployment');
  assert.equal(deployment.spec.replicas, 2);
  const pod = deployment.spec.template.spec;
  const [term] = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  assert.equal(term.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(term.podAffinityTerm.labelSelector.matchExpressions, [{ key: 'k8s-app', operator: 'In', values: ['kube-dns'] }]);
  const [container] = pod.containers;
  assert.equal(container.image, 'registry.k8s.io/coredns/coredns:v1.14.6');
  assert.deepEqual(container.livenessProbe.httpGet, { path: '/health', port: 8080, scheme: 'HTTP' });
  assert.deepEqual(container.readinessProbe.httpGet, { path: '/ready', port: 8181, scheme: 'HTTP' });
  assert.equal(pod.dnsPolicy, 'Default', 'CoreDNS must not resolve through itself');
});
