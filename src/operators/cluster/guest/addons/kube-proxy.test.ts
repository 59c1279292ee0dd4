import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { renderKubeProxy } from './kube-proxy.ts';
import type { GuestObject } from '../guest-object.ts';

type Rendered = GuestObject & {
  data: Record<string, string>;
  roleRef: { name: string };
  subjects: unknown[];
  spec: { template: { spec: { containers: [{ image: string }]; hostNetwork: boolean; serviceAccountName: string; tolerations: unknown[] } } };
};
const find = (objects: GuestObject[], kind: string) => objects.find((object) => object.kind === kind) as Rendered;
const parameters = { version: '1.37.2', proxyMode: 'iptables' as const, podCIDR: '10.244.0.0/16', server: 'https://shop-kube-apiserver.tenants.svc:6443' };

test('the proxy mode and the pod CIDR reach the KubeProxyConfiguration', () => {
  for (const proxyMode of ['iptables', 'ipvs'] as const) {
    const configMap = find(renderKubeProxy({ ...parameters, proxyMode, podCIDR: '10.32.0.0/12' }), 'ConfigMap');
    const configuration = parse(configMap.data['config.conf'] ?? '');
    assert.equal(configuration.kind, 'KubeProxyConfiguration');
    assert.equal(configuration.apiVersion, 'kubeproxy.config.k8s.io/v1alpha1');
    assert.equal(configuration.mode, proxyMode);
    assert.equal(configuration.clusterCIDR, '10.32.0.0/12');
    assert.equal(configuration.clientConnection.kubeconfig, '/var/lib/kube-proxy/kubeconfig.conf');
  }
});

test('kube-proxy reaches the guest endpoint with its ServiceAccount token', () => {
  const kubeconfig = parse(find(renderKubeProxy(parameters), 'ConfigMap').data['kubeconfig.conf'] ?? '');
  assert.equal(kubeconfig.clusters[0].cluster.server, parameters.server);
  assert.equal(kubeconfig.clusters[0].cluster['certificate-authority'], '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
  assert.equal(kubeconfig.users[0].user.tokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
  assert.throws(() => renderKubeProxy({ ...parameters, server: 'http://x:6443' }), /must be the https URL/);
});

test('kube-proxy runs on every node as a DaemonSet of the guest version, bound to system:node-proxier', () => {
  const objects = renderKubeProxy(parameters);
  assert.deepEqual(objects.map((object) => object.kind), ['ServiceAccount', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet']);
  const binding = find(objects, 'ClusterRoleBinding');
  assert.equal(binding.roleRef.name, 'system:node-proxier');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'kube-proxy', namespace: 'kube-system' }]);
  const pod = find(objects, 'DaemonSet').spec.template.spec;
  assert.equal(pod.containers[0].image, 'registry.k8s.io/kube-proxy:v1.37.2');
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.serviceAccountName, 'kube-proxy');
  assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
});
