// The fleet operator against real API servers: one is the global cluster, a second one plays a
// remote cell. No guest processes: a remote cell's Cluster operator is played by writing the
// copy's status, as that operator would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { installFleetCrds } from './crd-installation.ts';
import { startTestApiServer } from '../../../test/harness/api-server.ts';
import { eventually } from '../../../test/harness/meta-cluster-cli.ts';
import { Logger } from '../../controller/logger.ts';
import { isNotFound, type RestClient } from '../../controller/rest-client.ts';
import type { Cell } from '../../api/v1alpha1/cell.ts';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import type { ClusterProfile } from '../../api/v1alpha1/cluster-profile.ts';
import { FleetOperator } from './operator.ts';
import { clusterPath } from './placement-controller.ts';
import { cellPath } from './cell-controller.ts';
import { APPLIED_PROFILE_ANNOTATION } from './profile.ts';
import { profilePath } from './profile-controller.ts';


const cell = (name: string, spec: Partial<Cell['spec']> = {}) => ({
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'Cell',
  metadata: { name },
  spec: { region: 'local', zones: ['zone-a', 'zone-b', 'zone-c'], capacity: { cpu: '10', memory: '20Gi', pods: '100' }, ...spec },
});
const guest = (name: string, spec: Partial<Cluster['spec']> = {}) => ({
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name, namespace: 'default' },
  spec: { version: '1.37.2', mode: 'Minimal', placement: { region: 'local' }, ...spec },
});
const writes = (client: RestClient) => ['POST', 'PUT', 'PATCH', 'DELETE'].reduce((sum, method) => sum + (client.requestCounts.get(method) ?? 0), 0);

test('the fleet operator places, spreads, refuses, copies to a remote cell and back, and deletes through it', async () => {
  const [global, remote] = await Promise.all([startTestApiServer(), startTestApiServer()]);
  await Promise.all([installFleetCrds(global.client), installFleetCrds(remote.client)]);
  const logger = new Logger({ write: () => {} });
  const operator = new FleetOperator({ client: global.client, logger, cellResyncMs: 60_000 });
  await operator.start();
  try {
    const client = global.client;
    const get = (name: string) => client.get<Cluster>(clusterPath('default', name));
    const cellsPath = '/apis/tessera.dev/v1alpha1/cells';
    const clustersPath = clusterPath('default', '').replace(/\/$/, '');
    await client.create(cellsPath, cell('a'));
    await client.create(cellsPath, cell('b'));

    // Six Minimal guests of the default tier (XS: 0.45 CPU, 4 pods each) spread 3 and 3.
    for (let i = 1; i <= 6; i++) await client.create(clustersPath, guest(`g${i}`));
    const placed = await eventually('six guests placed', async () => {
      const cells = await Promise.all([1, 2, 3, 4, 5, 6].map(async (i) => (await get(`g${i}`)).status?.cell));
      return cells.every(Boolean) ? cells : undefined;
    });
    assert.deepEqual([placed.filter((c) => c === 'a').length, placed.filter((c) => c === 'b').length], [3, 3]);
    const g1 = await get('g1');
    const condition = g1.status?.conditions?.find((c) => c.type === 'Placed');
    assert.equal(condition?.status, 'True');
    assert.match(condition?.message ?? '', /fits and stays coolest/);
    assert.equal(condition?.observedGeneration, g1.metadata.generation);
    const cellA = await eventually('cell a counts its guests', async () => {
      const a = await client.get<Cell>(cellPath('a'));
      return a.status?.guests === 3 ? a : undefined;
    });
    assert.equal(cellA.status?.requested?.pods, '12');
    assert.equal(cellA.status?.conditions?.find((c) => c.type === 'Schedulable')?.status, 'True');

    // A cordoned cell takes no new guest.
    await client.patch(cellPath('b'), { spec: { state: 'Cordoned' } }, 'merge');
    await eventually('cell b cordoned in the cache', async () => operator.state.caches.cells.get('b')?.spec.state === 'Cordoned');
    await client.create(clustersPath, guest('g7'));
    assert.equal(await eventually('g7 placed', async () => (await get('g7')).status?.cell), 'a');

    // Too big for every cell: 3 x XL is 45 CPU; a cell with 10 CPU and 40% headroom gives 6 at most.
    await client.create(clustersPath, guest('huge', { mode: 'Standard', tier: 'XL' }));
    const refused = await eventually('huge refused', async () => (await get('huge')).status?.conditions?.find((c) => c.type === 'Placed' && c.status === 'False'));
    assert.equal(refused.reason, 'NoFittingCell');
    assert.match(refused.message, /cpu: the guest needs 45 CPU, the most any open cell in local can give while keeping its headroom is [0-9.]+ CPU/);
    assert.equal((await get('huge')).status?.cell, undefined);

    // Converged: reconciling every object again writes nothing.
    const before = writes(client);
    for (const key of ['g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'huge']) await operator.placementReconciler.reconcile(`default/${key}`);
    for (const name of ['a', 'b']) await operator.cellReconciler.reconcile(name);
    assert.equal(writes(client) - before, 0, 'a converged fleet costs no writes');

    // A remote cell: the second API server, reached through a kubeconfig Secret.
    await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tessera-system' } });
    await client.create('/api/v1/namespaces/tessera-system/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'cell-r' },
      data: { kubeconfig: Buffer.from(await readFile(remote.kubeconfigPath, 'utf8')).toString('base64') },
    });
    await client.create(cellsPath, cell('r', { kubeconfigSecretRef: { namespace: 'tessera-system', name: 'cell-r' } }));
    await eventually('cell r reachable', async () => (await client.get<Cell>(cellPath('r'))).status?.conditions?.find((c) => c.type === 'Reachable' && c.status === 'True'));
    await client.create(clustersPath, guest('far', { placement: { region: 'local', cell: 'r' } }));
    const copy = await eventually('copy in cell r', () => remote.client.get<Cluster>(clusterPath('default', 'far')).catch(() => undefined));
    assert.equal(copy.spec.placement, undefined, 'the copy is provisioned by the cell as an ordinary Cluster');
    assert.equal(copy.spec.mode, 'Minimal');
    // The cell's Cluster operator reports; the status comes back, with the admin kubeconfig.
    await remote.client.create('/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'far-admin-kubeconfig' }, data: { kubeconfig: Buffer.from('guest').toString('base64') } });
    await remote.client.patch(
      `${clusterPath('default', 'far')}/status`,
      { status: { phase: 'Ready', endpoint: 'https://127.1.2.3:6443', adminKubeconfigSecret: 'far-admin-kubeconfig', observedGeneration: copy.metadata.generation, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: '2026-12-06T00:00:00Z' }] } },
      'merge',
    );
    const far = await eventually('status back in the global cluster', async () => {
      const object = await get('far');
      return object.status?.phase === 'Ready' ? object : undefined;
    });
    assert.equal(far.status?.endpoint, 'https://127.1.2.3:6443');
    assert.equal(far.status?.cell, 'r');
    assert.equal(far.status?.observedGeneration, far.metadata.generation);
    assert.deepEqual(far.status?.conditions?.map((c) => c.type).sort(), ['Placed', 'Ready']);
    const secret = await eventually('admin kubeconfig copied back', () => client.get<{ data?: Record<string, string> }>('/api/v1/namespaces/default/secrets/far-admin-kubeconfig').catch(() => undefined));
    assert.equal(Buffer.from(secret.data?.['kubeconfig'] ?? '', 'base64').toString(), 'guest');

    // Deleting in the global cluster deletes in the cell first.
    await client.delete(clusterPath('default', 'far'));
    await eventually('copy deleted in the cell', () => remote.client.get(clusterPath('default', 'far')).then(() => false, (error: unknown) => isNotFound(error)));
    await eventually('global Cluster gone', () => get('far').then(() => false, (error: unknown) => isNotFound(error)));

    // Profiles: applied at creation; a change without Rollout rolls nobody and lists who would change.
    await client.create('/apis/tessera.dev/v1alpha1/clusterprofiles', { apiVersion: 'tessera.dev/v1alpha1', kind: 'ClusterProfile', metadata: { name: 'ci' }, spec: { template: { mode: 'Minimal', certificates: { validity: '24h', renewBefore: '8h' } } } });
    await client.create(clustersPath, { ...guest('p1', { profile: 'ci', mode: undefined }), spec: { version: '1.37.2', profile: 'ci', placement: { region: 'local' } } });
    const applied = await eventually('profile applied and guest placed', async () => {
      const object = await get('p1');
      return object.status?.cell ? object.metadata.annotations?.[APPLIED_PROFILE_ANNOTATION] : undefined;
    });
    assert.equal(JSON.parse(applied).template.mode, 'Minimal');
    await client.patch(profilePath('ci'), { spec: { template: { mode: 'Standard' } } }, 'merge');
    const profile = await eventually('profile lists the pending guest', async () => {
      const object = await client.get<ClusterProfile>(profilePath('ci'));
      return object.status?.pendingCount === 1 ? object : undefined;
    });
    assert.deepEqual(profile.status?.pendingClusters, ['default/p1']);
    assert.equal((await get('p1')).metadata.annotations?.[APPLIED_PROFILE_ANNOTATION], applied, 'the guest keeps the template it was created with');
  } finally {
    await operator.stop();
  }
});
