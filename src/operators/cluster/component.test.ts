import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import { silentLogger } from '../../controller/logger.ts';
import { ClusterPass, type PassOptions } from './component.ts';
import { FakeMetaCluster } from './fake-apis.ts';

test('a pass sees the objects it wrote and deleted before its caches do', async () => {
  const meta = new FakeMetaCluster();
  // A cache that has not seen any Deployment yet: its watch lags the writes.
  const caches = { ...meta.caches, deployments: { get: () => undefined, list: () => [], byIndex: () => [] } };
  const cluster = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'shop', namespace: 'team-a', uid: 'uid-1' }, spec: {} };
  const pass = new ClusterPass({ key: 'team-a/shop', cluster, client: meta.client, caches, logger: silentLogger, fieldManager: 'test' } as unknown as PassOptions);
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'shop-kube-scheduler', namespace: 'team-a' }, spec: { replicas: 1 } };
  assert.equal(pass.liveOf(deployment), undefined);
  await pass.apply(deployment);
  assert.equal(pass.writes, 1);
  assert.equal(pass.liveOf<V1Deployment>(deployment)?.spec?.replicas, 1, 'what the pass wrote, as the API server answered');
  // Written again with the same fields: compared with what the pass wrote, so no second write.
  await pass.apply(deployment);
  assert.equal(pass.writes, 1);
  await pass.remove(deployment, 'a test');
  assert.equal(pass.liveOf(deployment), undefined);
});
