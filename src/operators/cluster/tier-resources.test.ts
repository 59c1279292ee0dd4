import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults } from '../../api/v1alpha1/cluster.ts';
import { tierResources } from '../tiering/tiers.ts';
import { withTierResources } from './tier-resources.ts';

test('a tier sizes every component and the API server inflight limits', () => {
  const spec = withTierResources(withDefaults({ version: '1.37.2' }), tierResources('M'));
  assert.deepEqual(spec.controlPlane.apiServer.resources, tierResources('M').apiServer);
  assert.deepEqual(spec.controlPlane.etcd.resources, tierResources('M').etcd);
  assert.equal(spec.controlPlane.apiServer.extraArgs['max-requests-inflight'], '800');
  assert.equal(spec.controlPlane.apiServer.extraArgs['max-mutating-requests-inflight'], '400');
});

test("the Cluster's own resources and flags win over its tier", () => {
  const own = { requests: { cpu: '3', memory: '5Gi' } };
  const spec = withTierResources(withDefaults({ version: '1.37.2', controlPlane: { scheduler: { resources: own }, apiServer: { extraArgs: { 'max-requests-inflight': '50' } } } }), tierResources('XS'));
  assert.deepEqual(spec.controlPlane.scheduler.resources, own);
  assert.equal(spec.controlPlane.apiServer.extraArgs['max-requests-inflight'], '50');
  assert.deepEqual(spec.controlPlane.controllerManager.resources, tierResources('XS').controllerManager);
});
