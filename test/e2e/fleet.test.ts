// End to end: two local cells in one region. The global cluster (`tessera up`, which is also the
// Cell "local") and a second local meta cluster added with `tessera cells add east`. ci-profile
// Clusters are spread over both without taking either under its headroom, a cordoned cell takes
// no new guest, a guest too big for any cell is refused naming the resource, a guest placed in
// east is provisioned there by east's own Cluster operator with its status coming back, and
// deleting it in the global cluster removes it from east.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MetaClusterCli, eventually, processesMentioning } from '../harness/meta-cluster-cli.ts';

type Condition = { type: string; status: string; reason: string; message: string };
type ClusterObject = { metadata: { name: string; annotations?: Record<string, string> }; spec: { placement?: unknown; mode?: string; tier?: string; certificates?: { validity?: string } }; status?: { cell?: string; phase?: string; endpoint?: string; adminKubeconfigSecret?: string; conditions?: Condition[] } };
type CellObject = { metadata: { name: string }; spec: { headroomPercent?: number }; status?: { guests?: number; freePercent?: number; conditions?: Condition[] } };
type List<T> = { items: T[] };

// Network index 10 for the global cluster; east takes the next free one, 11.
const global = await MetaClusterCli.create(10);
after(async () => {
  await global.destroy();
  const left = await processesMentioning(global.home);
  assert.deepEqual(left, [], 'tessera down stops the cells too');
});

const clusterYaml = (name: string, extra = '') => `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata:
  name: ${name}
spec:
  version: 1.37.2
  profile: ci
  # Minimal is also the profile's; set here too so the global cluster's own operator, which does
  # not read profiles yet, runs the guests it hosts in place as Minimal.
  mode: Minimal
  placement:
    region: local
${extra}`;

const getCluster = (name: string) => global.kubectlJson<ClusterObject>('get', 'cluster', name);

test('a second local meta cluster becomes cell east; cells list shows both reachable', async () => {
  const up = await global.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  const added = await global.tessera(['cells', 'add', 'east', '--region', 'local'], 600_000);
  assert.equal(added.code, 0, added.stderr + added.stdout);
  assert.match(added.stdout, /network index 11/);
  await eventually('both cells reachable', async () => {
    const cells = await global.kubectlJson<List<CellObject>>('get', 'cells');
    return cells.items.length === 2 && cells.items.every((cell) => cell.status?.conditions?.some((c) => c.type === 'Reachable' && c.status === 'True'));
  }, 60_000);
  const list = await global.tessera(['cells', 'list']);
  assert.match(list.stdout, /^east\s+local\s+zone-a,zone-b,zone-c\s+Open\s+True/m);
  assert.match(list.stdout, /^local\s+local\s+\S*\s*Open\s+True/m);
  const nodes = await global.tessera(['kubectl', '--cell', 'east', '--', 'get', 'nodes', '-o', 'name']);
  assert.equal(nodes.stdout.trim().split('\n').length, 3, nodes.stderr);
  const badCell = await global.tessera(['kubectl', '--cell', 'west', '--', 'get', 'nodes']);
  assert.notEqual(badCell.code, 0);
  assert.match(badCell.stderr, /--cell west: no local cell of that name \(cells: local, east\)/);
});

test('six ci-profile Clusters spread over both cells, neither under its headroom; copies carry the profile', async () => {
  // Placement counts Ready Nodes only: start once both cells show all three.
  await eventually('both cells at full capacity', async () => {
    const cells = await global.kubectlJson<List<CellObject & { status?: { capacity?: { pods?: string } } }>>('get', 'cells');
    return cells.items.every((cell) => cell.status?.capacity?.pods === '750');
  }, 60_000);
  await global.kubectl('apply', '-f', new URL('../../examples/profiles/ci.yaml', import.meta.url).pathname);
  for (let i = 1; i <= 6; i++) await global.apply(clusterYaml(`ci-${i}`));
  const cells = await eventually('six placed', async () => {
    const list = await global.kubectlJson<List<ClusterObject>>('get', 'clusters');
    const placed = list.items.filter((c) => c.metadata.name.startsWith('ci-') && c.status?.cell);
    return placed.length === 6 ? placed.map((c) => c.status?.cell) : undefined;
  }, 90_000);
  // Equal cells alternate; a Node that misses a heartbeat on a loaded machine shrinks its cell for a moment, so allow one off.
  assert.ok(cells.filter((c) => c === 'east').length >= 2 && cells.filter((c) => c === 'local').length >= 2, `spread: ${cells.join(', ')}`);
  for (const cell of (await global.kubectlJson<List<CellObject>>('get', 'cells')).items) {
    assert.ok((cell.status?.freePercent ?? 0) >= (cell.spec.headroomPercent ?? 40), `${cell.metadata.name}: ${cell.status?.freePercent}% free`);
  }
  const first = await getCluster('ci-1');
  assert.equal(first.status?.conditions?.find((c) => c.type === 'Placed')?.status, 'True');
  assert.ok(first.metadata.annotations?.['tessera.dev/applied-profile']?.includes('"validity":"24h"'));
  // East holds its three as ordinary Clusters with the profile merged in.
  const inEast = await global.tessera(['kubectl', '--cell', 'east', '--', 'get', 'clusters', '-o', 'json']);
  const copies = (JSON.parse(inEast.stdout) as List<ClusterObject>).items;
  assert.equal(copies.length, cells.filter((c) => c === 'east').length);
  for (const copy of copies) {
    assert.equal(copy.spec.placement, undefined);
    assert.equal(copy.spec.tier, 'XS');
    assert.equal(copy.spec.certificates?.validity, '24h');
  }
});

test('a guest placed in east is provisioned there and its status and admin kubeconfig come back', async () => {
  const name = (await global.kubectlJson<List<ClusterObject>>('get', 'clusters')).items.find((c) => c.status?.cell === 'east')?.metadata.name ?? '';
  const ready = await eventually(`${name} Ready in the global cluster`, async () => {
    const object = await getCluster(name);
    return object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? object : undefined;
  }, 240_000, 1000);
  assert.match(ready.status?.endpoint ?? '', /^https:\/\/127\./);
  assert.equal(ready.status?.adminKubeconfigSecret, `${name}-admin-kubeconfig`);
  const secret = await global.kubectlJson<{ data: Record<string, string>; metadata: { labels: Record<string, string> } }>('get', 'secret', `${name}-admin-kubeconfig`);
  assert.equal(secret.metadata.labels['tessera.dev/copied-from-cell'], 'east');
  assert.match(Buffer.from(secret.data['kubeconfig'] ?? '', 'base64').toString(), /server: https:\/\/127\./);
});

test('a cordoned cell takes no new guest; a guest too big for every cell is refused naming the resource', async () => {
  await global.kubectl('patch', 'cell', 'east', '--type', 'merge', '-p', '{"spec":{"state":"Cordoned"}}');
  await eventually('east not schedulable', async () => (await global.kubectlJson<CellObject>('get', 'cell', 'east')).status?.conditions?.some((c) => c.type === 'Schedulable' && c.status === 'False' && c.reason === 'Cordoned'));
  for (let i = 7; i <= 8; i++) await global.apply(clusterYaml(`ci-${i}`));
  for (let i = 7; i <= 8; i++) assert.equal(await eventually(`ci-${i} placed`, async () => (await getCluster(`ci-${i}`)).status?.cell, 60_000), 'local');

  // XL Standard asks 162Gi of memory; each cell has 192Gi, 40% of which is kept free.
  await global.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata:
  name: huge
spec:
  version: 1.37.2
  mode: Standard
  tier: XL
  placement:
    region: local
`);
  const refused = await eventually('huge refused', async () => (await getCluster('huge')).status?.conditions?.find((c) => c.type === 'Placed' && c.status === 'False'), 60_000);
  assert.equal(refused.reason, 'NoFittingCell');
  assert.match(refused.message, /memory: the guest needs 162Gi memory, the most any open cell in local can give while keeping its headroom is [0-9.]+Gi memory/);
  // The Event is recorded beside the condition, not before it: wait for it too.
  await eventually('a NoFittingCell Event for huge', async () => /NoFittingCell/.test(await global.kubectl('get', 'events', '--field-selector', 'involvedObject.name=huge', '-o', 'jsonpath={.items[*].reason}')), 30_000);
  await global.kubectl('delete', 'cluster', 'huge', '--wait=false');
});

test('deleting a placed Cluster in the global cluster removes it from its cell', async () => {
  const name = (await global.kubectlJson<List<ClusterObject>>('get', 'clusters')).items.find((c) => c.status?.cell === 'east')?.metadata.name ?? '';
  await global.kubectl('delete', 'cluster', name, '--wait=false');
  await eventually(`${name} gone from east`, async () => {
    const result = await global.tessera(['kubectl', '--cell', 'east', '--', 'get', 'cluster', name]);
    return result.code !== 0 && /NotFound/.test(result.stderr);
  }, 120_000, 1000);
  await eventually(`${name} gone from the global cluster`, async () => {
    const result = await global.tessera(['kubectl', '--', 'get', 'cluster', name]);
    return result.code !== 0 && /NotFound/.test(result.stderr);
  }, 60_000, 1000);
});
