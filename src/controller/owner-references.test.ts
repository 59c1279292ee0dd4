import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiGroupOf, controllerOwnerKey, getControllerOf, isControlledBy, newControllerRef, ownerUidIndex, setControllerReference } from './owner-references.ts';

const cluster = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'prod', namespace: 'team-a', uid: 'uid-prod' } };
const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'prod-ca', namespace: 'team-a' } };

test('a controller reference names the owner and blocks its deletion until dependents are gone', () => {
  assert.deepEqual(newControllerRef(cluster), { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name: 'prod', uid: 'uid-prod', controller: true, blockOwnerDeletion: true });
});

test('an owner without uid or kind is refused with the missing fields named', () => {
  assert.throws(() => newControllerRef({ metadata: { name: 'listed' } }), /needs apiVersion, kind, metadata.uid/);
});

test('setControllerReference adds the reference once and finds it again', () => {
  const owned = setControllerReference(cluster, secret);
  const again = setControllerReference(cluster, owned);
  assert.equal(ownerUidIndex(again).length, 1);
  assert.equal(getControllerOf(again)?.name, 'prod');
  assert.equal(isControlledBy(again, cluster), true);
  assert.equal(isControlledBy(again, { metadata: { uid: 'other' } }), false);
  assert.equal(secret.metadata && 'ownerReferences' in secret.metadata, false, 'the input is not modified');
  assert.deepEqual(ownerUidIndex(again), ['uid-prod']);
});

test('setControllerReference refuses cross-namespace owners, namespaced owners of cluster objects, and a second controller', () => {
  assert.throws(() => setControllerReference(cluster, { ...secret, metadata: { name: 'x', namespace: 'team-b' } }), /must share the namespace/);
  assert.throws(() => setControllerReference(cluster, { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' } }), /cluster-scoped and cannot be owned/);
  const owned = setControllerReference(cluster, secret);
  const otherCluster = { ...cluster, metadata: { ...cluster.metadata, name: 'dev', uid: 'uid-dev' } };
  assert.throws(() => setControllerReference(otherCluster, owned), /already controlled by Cluster "prod"/);
  const clusterScopedOwner = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Tenant', metadata: { name: 't', uid: 'uid-t' } };
  assert.equal(getControllerOf(setControllerReference(clusterScopedOwner, secret))?.kind, 'Tenant');
});

test('an owned object maps to its controller owner key, filtered by kind and group', () => {
  const owned = setControllerReference(cluster, secret);
  assert.equal(controllerOwnerKey(owned, 'Cluster'), 'team-a/prod');
  assert.equal(controllerOwnerKey(owned, 'Cluster', { apiGroup: 'tessera.dev' }), 'team-a/prod');
  assert.equal(controllerOwnerKey(owned, 'Cluster', { apiGroup: 'cluster.x-k8s.io' }), undefined);
  assert.equal(controllerOwnerKey(owned, 'Deployment'), undefined);
  assert.equal(controllerOwnerKey(owned, 'Cluster', { clusterScopedOwner: true }), 'prod');
  assert.equal(controllerOwnerKey(secret, 'Cluster'), undefined);
  assert.equal(apiGroupOf('v1'), '');
  assert.equal(apiGroupOf('apps/v1'), 'apps');
});
