// The tiering controller against real API servers: one is the meta cluster holding the Cluster
// and its admin kubeconfig Secret, the other plays the guest whose /metrics are read. The guest
// is loaded with a few thousand objects; it must move up one tier after the window, with the
// score and its inputs in status, and not move back when the load goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { installFleetCrds } from '../placement/crd-installation.ts';
import { startTestApiServer } from '../../../test/harness/api-server.ts';
import { eventually } from '../../../test/harness/meta-cluster-cli.ts';
import { Logger } from '../../controller/logger.ts';
import { resourcePath } from '../../controller/rest-client.ts';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { defaultTierPolicySpec, type TierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';
import { TieringController, tieringInputsChanged } from './tiering-controller.ts';


async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++] as T);
  }));
}

test('a guest loaded with thousands of objects moves up one tier after the window, reports its score, and does not flap back', { timeout: 280_000 }, async () => {
  const [meta, guest] = await Promise.all([startTestApiServer(), startTestApiServer()]);
  await installFleetCrds(meta.client);
  // The etcd database size is what moves fast here (the API server refreshes object counts only
  // about once a minute): 100 points per MiB. XS is first wide open, then set just above the idle guest.
  const policy = (xsMaxScore: number): TierPolicySpec => ({
    ...defaultTierPolicySpec,
    tiers: [
      { ...defaultTierPolicySpec.tiers[0]!, name: 'XS', maxScore: xsMaxScore },
      { ...defaultTierPolicySpec.tiers[1]!, name: 'S', maxScore: 10 * xsMaxScore },
      { ...defaultTierPolicySpec.tiers[4]!, name: 'XL' },
    ],
    defaultTier: 'XS',
    factors: { objects: 0.01, nodes: 0, pods: 0, watchers: 0, requestsPerSecond: 0, etcdDatabaseMegabytes: 100 },
    retiering: { upAfter: '20s', downAfter: '1h', downMarginPercent: 20, maxTransitionsPerHour: 2 },
    scrapeInterval: '1s',
  });
  const policyPath = resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'tierpolicies', name: 'default' });
  await meta.client.create('/apis/tessera.dev/v1alpha1/tierpolicies', { apiVersion: 'tessera.dev/v1alpha1', kind: 'TierPolicy', metadata: { name: 'default' }, spec: policy(1e9) });
  await meta.client.create('/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'loaded-admin-kubeconfig' }, data: { kubeconfig: Buffer.from(await readFile(guest.kubeconfigPath, 'utf8')).toString('base64') } });
  const clusterPath = resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace: 'default', name: 'loaded' });
  await meta.client.create('/apis/tessera.dev/v1alpha1/namespaces/default/clusters', { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'loaded' }, spec: { version: '1.37.2', mode: 'Minimal' } });
  // The Cluster operator's part, played here: its admin kubeconfig named, the guest API not up yet.
  const operatorStatus = (apiAvailable: boolean) => ({
    phase: apiAvailable ? 'Ready' : 'Provisioning',
    adminKubeconfigSecret: 'loaded-admin-kubeconfig',
    conditions: [{ type: 'APIServerAvailable', status: apiAvailable ? 'True' : 'False', reason: apiAvailable ? 'ReadyzOK' : 'ReadyzFailing', message: '', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }],
  });
  const writeOperatorStatus = (apiAvailable: boolean) => meta.client.apply(`${clusterPath}/status`, { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'loaded', namespace: 'default' }, status: operatorStatus(apiAvailable) }, 'tessera-cluster-operator-status', true);
  await writeOperatorStatus(false);

  const controller = new TieringController({ client: meta.client, logger: new Logger({ write: () => {} }) });
  await controller.start();
  try {
    const get = () => meta.client.get<Cluster>(clusterPath);
    // While the guest API is not up the guest gets its first tier and is not scraped.
    const beforeUp = await eventually('first tier before the guest API is up', async () => {
      const cluster = await get();
      return cluster.status?.tier ? cluster : undefined;
    });
    assert.equal(beforeUp.status?.tier, 'XS');
    const tiered = beforeUp.status?.conditions?.find((condition) => condition.type === 'Tiered');
    assert.equal(tiered?.status, 'Unknown');
    assert.match(tiered?.message ?? '', /guest API is not available yet/);
    assert.equal(beforeUp.status?.load, undefined);
    await writeOperatorStatus(true);
    const initial = await eventually('first tier and score', async () => {
      const cluster = await get();
      return cluster.status?.tier && cluster.status.load?.score !== undefined ? cluster : undefined;
    });
    assert.equal(initial.status?.tier, 'XS');
    assert.equal(initial.status?.phase, 'Ready', 'the Cluster operator\'s fields are untouched');
    const idleScore = initial.status?.load?.score ?? 0;
    const idleBytes = initial.status?.load?.inputs?.etcdDatabaseBytes ?? 0;
    assert.ok(idleBytes > 0, 'the etcd size is read from the guest');
    await meta.client.patch(policyPath, { spec: policy(idleScore + 200) }, 'merge');

    // A few thousand objects of 1 KiB: several MiB more in etcd. The controller may see the
    // score cross while they are still being written, so the waiting state is watched meanwhile.
    let waiting: Cluster | undefined;
    let loading = true;
    const watcher = (async () => {
      while (loading && !waiting) {
        const cluster = await get();
        if (cluster.status?.load?.aboveSince) waiting = cluster;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const names = Array.from({ length: 3000 }, (_, i) => `load-${i}`);
    await pool(names, 16, (name) => guest.client.create('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { payload: 'x'.repeat(1024) } }));
    await eventually('score above XS, waiting for the window', async () => waiting, 150_000);
    loading = false;
    await watcher;
    assert.equal(waiting?.status?.tier, 'XS', 'still on XS while the window runs');
    const moved = await eventually('moved up to S', async () => {
      const cluster = await get();
      return cluster.status?.tier === 'S' ? cluster : undefined;
    }, 60_000);
    const load = moved.status?.load;
    assert.ok((load?.inputs?.etcdDatabaseBytes ?? 0) >= idleBytes + 2 * 2 ** 20, `inputs in status: ${JSON.stringify(load?.inputs)}`);
    assert.ok((load?.score ?? 0) > idleScore + 200);
    assert.ok(load?.inputs?.watchers !== undefined && load.inputs.requestsPerSecond !== undefined && load.inputs.objects !== undefined, 'every input is reported');
    assert.equal(load?.recommendedTier, 'S');
    assert.equal(load?.transitions?.length, 1);
    assert.ok(Date.parse(load?.transitions?.[0] ?? '') - Date.parse(waiting?.status?.load?.aboveSince ?? '') >= 20_000, 'not before the up window');
    // The condition says where the guest stands now (ScaledUp, then Steady); the Event records the move.
    assert.ok(['ScaledUp', 'Steady'].includes(moved.status?.conditions?.find((c) => c.type === 'Tiered')?.reason ?? ''));
    const events = await eventually('TierChanged Event', async () => {
      const list = await meta.client.get<{ items: { reason: string; message: string }[] }>('/api/v1/namespaces/default/events', { fieldSelector: 'involvedObject.name=loaded' });
      return list.items.filter((event) => event.reason === 'TierChanged').length ? list.items : undefined;
    });
    assert.match(events.find((event) => event.reason === 'TierChanged')?.message ?? '', /moved one step to S/);

    // The load is now far below S (the policy moves under it): with a one-hour down window the guest stays on S.
    await meta.client.patch(policyPath, { spec: policy(100 * (load?.score ?? 1)) }, 'merge');
    const calm = await eventually('waiting to move down', async () => {
      const cluster = await get();
      return cluster.status?.conditions?.find((c) => c.type === 'Tiered')?.reason === 'WaitingDown' ? cluster : undefined;
    });
    assert.equal(calm.status?.tier, 'S', 'no flap back');
    assert.ok(calm.status?.load?.belowSince);
    assert.match(calm.status?.conditions?.find((c) => c.type === 'Tiered')?.message ?? '', /of the 1h needed to move to XS/);
  } finally {
    await controller.stop();
  }
});

test('a Cluster update wakes the tiering controller only when it changes what a pass reads', () => {
  const base: Cluster = {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'g', namespace: 'default' },
    spec: { version: '1.37.2', mode: 'Minimal' },
    status: { phase: 'Provisioning', adminKubeconfigSecret: 'g-admin-kubeconfig', conditions: [{ type: 'APIServerAvailable', status: 'False', reason: 'ReadyzFailing', message: 'refused', lastTransitionTime: '2026-12-06T00:00:00Z' }] },
  } as Cluster;
  const withStatus = (status: Partial<NonNullable<Cluster['status']>>): Cluster => ({ ...base, status: { ...base.status, ...status } }) as Cluster;
  const available = (status: string, message: string) => withStatus({ conditions: [{ type: 'APIServerAvailable', status, reason: 'x', message, lastTransitionTime: '2026-12-06T00:00:01Z' }] as never });
  // The Cluster operator's progress and this controller's own writes: no.
  assert.equal(tieringInputsChanged(base, withStatus({ phase: 'Degraded' })), false);
  assert.equal(tieringInputsChanged(base, available('False', 'timed out')), false);
  assert.equal(tieringInputsChanged(base, withStatus({ tier: 'S' })), false);
  // The guest API coming up, the admin kubeconfig, the spec, the cell: yes.
  assert.equal(tieringInputsChanged(base, available('True', 'ok')), true);
  assert.equal(tieringInputsChanged(base, withStatus({ adminKubeconfigSecret: 'other' })), true);
  assert.equal(tieringInputsChanged(base, { ...base, spec: { ...base.spec, tier: 'L' } } as Cluster), true);
  assert.equal(tieringInputsChanged(base, withStatus({ cell: 'cell-b' })), true);
});
