import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults, type Cluster } from '../../api/v1alpha1/cluster.ts';
import { initialEtcdMembers } from './etcd-member.ts';
import { renderEtcdClientService, renderEtcdPeerService } from './etcd-services.ts';
import { renderContext } from './render-context.ts';

const cluster: Cluster = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'shop', namespace: 'team-a', uid: 'u-1' }, spec: { version: '1.37.2' } };
const context = renderContext({ cluster, spec: withDefaults(cluster.spec), certificateChecksum: 'c', etcdMembers: initialEtcdMembers('shop', 'Standard') });
const etcdPods = { 'tessera.dev/cluster': 'shop', 'tessera.dev/component': 'etcd' };

test('the headless <c>-etcd Service publishes members before they are ready, on client and peer ports', () => {
  const service = renderEtcdPeerService(context);
  assert.equal(service.metadata?.name, 'shop-etcd');
  assert.equal(service.metadata?.namespace, 'team-a');
  assert.equal(service.spec?.clusterIP, 'None');
  assert.equal(service.spec?.publishNotReadyAddresses, true);
  assert.deepEqual(service.spec?.selector, etcdPods);
  assert.deepEqual(service.spec?.ports?.map((port) => [port.name, port.port]), [
    ['client', 2379],
    ['peer', 2380],
  ]);
});

test('the <c>-etcd-client Service routes to ready members on 2379', () => {
  const service = renderEtcdClientService(context);
  assert.equal(service.metadata?.name, 'shop-etcd-client');
  assert.equal(service.spec?.type, 'ClusterIP');
  assert.equal(service.spec?.publishNotReadyAddresses, undefined);
  assert.deepEqual(service.spec?.selector, etcdPods);
  assert.deepEqual(service.spec?.ports, [{ name: 'client', port: 2379, targetPort: 2379, protocol: 'TCP' }]);
  assert.equal(service.metadata?.labels?.['tessera.dev/component'], 'etcd');
  assert.equal(service.metadata?.ownerReferences?.[0]?.uid, 'u-1');
});
