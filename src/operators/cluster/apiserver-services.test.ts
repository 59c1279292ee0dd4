import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults, type Cluster } from '../../api/v1alpha1/cluster.ts';
import { renderApiServerInternalService, renderApiServerService } from './apiserver-services.ts';
import { initialEtcdMembers } from './etcd-member.ts';
import { renderContext } from './render-context.ts';

const cluster: Cluster = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'shop', namespace: 'team-a', uid: 'u-1' }, spec: { version: '1.37.2' } };
const contextWith = (apiServerServiceIP?: string) =>
  renderContext({ cluster, spec: withDefaults(cluster.spec), certificateChecksum: 'c', etcdMembers: initialEtcdMembers('shop', 'Standard'), apiServerServiceIP });
const apiServerPods = { 'tessera.dev/cluster': 'shop', 'tessera.dev/component': 'control-plane' };

test('kubelets and users reach the API servers through the ClusterIP Service <c>-kube-apiserver on 6443', () => {
  const service = renderApiServerService(contextWith());
  assert.equal(service.metadata?.name, 'shop-kube-apiserver');
  assert.equal(service.spec?.type, 'ClusterIP');
  assert.equal(service.spec?.clusterIP, undefined, 'the server allocates the address');
  assert.deepEqual(service.spec?.selector, apiServerPods);
  assert.deepEqual(service.spec?.ports, [{ name: 'https', port: 6443, targetPort: 6443, protocol: 'TCP' }]);
});

test('once allocated, the Service address is rendered back so a recreated Service keeps it', () => {
  assert.equal(renderApiServerService(contextWith('10.0.0.17')).spec?.clusterIP, '10.0.0.17');
});

test('the other components reach ready API servers directly through the headless <c>-kube-apiserver-internal', () => {
  const service = renderApiServerInternalService(contextWith('10.0.0.17'));
  assert.equal(service.metadata?.name, 'shop-kube-apiserver-internal');
  assert.equal(service.spec?.clusterIP, 'None');
  assert.equal(service.spec?.publishNotReadyAddresses, false);
  assert.deepEqual(service.spec?.selector, apiServerPods);
  assert.deepEqual(service.spec?.ports?.map((port) => port.port), [6443]);
  assert.equal(service.metadata?.labels?.['tessera.dev/component'], 'kube-apiserver');
});
