import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  apiServerInternalServiceName,
  apiServerServiceName,
  componentSelector,
  controlPlaneDeploymentName,
  etcdClientServiceName,
  etcdMemberClaimName,
  etcdMemberDnsName,
  etcdMemberName,
  etcdPeerServiceName,
  ownedLabels,
  serviceDnsName,
} from './names.ts';

test('owned objects are named <cluster>-<component>[-<suffix>] as the contract says', () => {
  assert.deepEqual(
    [
      etcdMemberName('shop', 0),
      etcdMemberClaimName(etcdMemberName('shop', 2)),
      etcdPeerServiceName('shop'),
      etcdClientServiceName('shop'),
      apiServerServiceName('shop'),
      apiServerInternalServiceName('shop'),
      controlPlaneDeploymentName('shop'),
    ],
    [
      'shop-etcd-0',
      'shop-etcd-2-data',
      'shop-etcd',
      'shop-etcd-client',
      'shop-kube-apiserver',
      'shop-kube-apiserver-internal',
      'shop-control-plane',
    ],
  );
});

test('an etcd member is named by the headless Service in the meta cluster domain', () => {
  assert.equal(etcdMemberDnsName('shop', 'shop-etcd-1', 'team-a'), 'shop-etcd-1.shop-etcd.team-a.svc.cluster.local');
  assert.equal(etcdMemberDnsName('shop', 'shop-etcd-1', 'team-a', 'meta.example'), 'shop-etcd-1.shop-etcd.team-a.svc.meta.example');
  assert.equal(serviceDnsName('shop-etcd-client', 'team-a'), 'shop-etcd-client.team-a.svc.cluster.local');
});

test('owned objects carry the cluster, managed-by and component labels; selectors only cluster and component', () => {
  assert.deepEqual(ownedLabels('shop', 'etcd'), {
    'tessera.dev/cluster': 'shop',
    'app.kubernetes.io/managed-by': 'tessera',
    'tessera.dev/component': 'etcd',
  });
  assert.deepEqual(componentSelector('shop', 'control-plane'), { 'tessera.dev/cluster': 'shop', 'tessera.dev/component': 'control-plane' });
});

test('a member index must be a whole number', () => {
  assert.throws(() => etcdMemberName('shop', -1), /index -1 must be a whole number/);
  assert.throws(() => etcdMemberName('shop', 1.5), /index 1.5/);
});
