import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planCapacity, type CapacityInput } from './capacity.ts';
import type { WorkloadSpec } from './cluster-plan.ts';
import type { Finding } from './finding.ts';

const GiB = 2 ** 30;
const workload = (name: string, replicas: number, cpu: number, memoryGiB: number, perNode = false): WorkloadSpec => ({
  name,
  replicas,
  cpu,
  memoryBytes: memoryGiB * GiB,
  perNode,
});
const zoneA = { name: 'zone-a', vswitchCIDR: '192.168.0.0/24', nodeCapacity: 252 };
const zones = [zoneA, { name: 'zone-b', vswitchCIDR: '192.168.1.0/24', nodeCapacity: 252 }];

function plan(input: Partial<CapacityInput>) {
  return planCapacity({
    serverless: false,
    nodes: { instance: { cpu: 16, memoryGiB: 64 } },
    workloads: [],
    maxPodsPerNode: 110,
    maxNodes: 512,
    zones,
    zonesPath: 'spec.vpc.zones',
    podCIDRField: 'spec.cluster.network.podCIDR',
    ...input,
  });
}
const fields = (findings: Finding[], severity: Finding['severity']) => findings.filter((f) => f.severity === severity).map((f) => f.field);

test("the seed's workloads: 30 x 500m/1Gi on 16 CPU / 64 GiB nodes need ceil(1.2 x 15 / 15.89) + 1 = 3 nodes", () => {
  const { capacity, findings } = plan({ workloads: [workload('web', 30, 0.5, 1)] });
  assert.equal(capacity.recommendedWorkerNodes, 3);
  assert.equal(capacity.workerNodes, 3);
  assert.equal(capacity.workerNodesSource, 'recommended');
  assert.deepEqual(capacity.nodesFor, { cpu: 2, memory: 1, pods: 1 });
  assert.deepEqual(capacity.demand, { cpu: 15, memoryGiB: 30, pods: 30 });
  assert.equal(capacity.node?.allocatableCpu, 15.89);
  assert.deepEqual(fields(findings, 'error'), []);
});

test('the 20% redundancy is exact: a demand that fills nodes exactly at 1.2x does not round up', () => {
  // A 3-core node keeps 0.075 for the system: 2.925 allocatable. 117 x 125m = 14.625 CPU, and
  // 1.2 x 14.625 = 17.55 = 6 x 2.925 exactly; floating point puts 1.2 x 14.625 / 2.925 above 6.
  const nodes = { instance: { cpu: 3, memoryGiB: 64 } };
  const exact = plan({ nodes, workloads: [workload('w', 117, 0.125, 0.0001)], maxPodsPerNode: 10_000 });
  assert.equal(exact.capacity.nodesFor?.cpu, 6);
  assert.equal(exact.capacity.recommendedWorkerNodes, 7);
  const justOver = plan({ nodes, workloads: [workload('w', 118, 0.125, 0.0001)], maxPodsPerNode: 10_000 });
  assert.equal(justOver.capacity.nodesFor?.cpu, 7);
});

test('memory can decide the count', () => {
  const { capacity } = plan({ workloads: [workload('cache', 10, 0.1, 20)] });
  // 200 GiB x 1.2 / 58.42 GiB allocatable = 4.1 -> 5, plus the spare.
  assert.equal(capacity.nodesFor?.memory, 5);
  assert.equal(capacity.recommendedWorkerNodes, 6);
});

test('the pod count can decide the count: enough nodes at max pods per node, plus the spare', () => {
  const { capacity } = plan({ workloads: [workload('tiny', 1000, 0.01, 0.01)] });
  assert.equal(capacity.nodesFor?.pods, 10);
  assert.equal(capacity.recommendedWorkerNodes, 11);
});

test('per-node workloads come off every node\'s allocatable and pod slots', () => {
  const { capacity } = plan({ workloads: [workload('tiny', 1090, 0.01, 0.01), workload('agent', 0, 1, 2, true)] });
  assert.equal(capacity.node?.podsPerNode, 109);
  assert.equal(capacity.node?.allocatableCpu, 14.89);
  assert.equal(capacity.nodesFor?.pods, 10);
  assert.equal(capacity.demand.pods, 1090);
});

test('no workloads: only the spare node is recommended, with a note (and one on the uncovered zone)', () => {
  const { capacity, findings } = plan({});
  assert.equal(capacity.recommendedWorkerNodes, 1);
  assert.deepEqual(fields(findings, 'info'), ['spec.workloads', 'spec.vpc.zones']);
});

test('a given count that cannot hold the demand is an error; one without headroom is a warning', () => {
  const workloads = [workload('web', 200, 1, 2)];
  const tooFew = plan({ workloads, nodes: { instance: { cpu: 16, memoryGiB: 64 }, count: 12 } });
  assert.equal(tooFew.capacity.workerNodes, 12);
  assert.equal(tooFew.capacity.workerNodesSource, 'spec.nodes.count');
  assert.deepEqual(fields(tooFew.findings, 'error'), ['spec.nodes.count']);
  assert.match(tooFew.findings[0]?.fix ?? '', /at least 17/);
  const tight = plan({ workloads, nodes: { instance: { cpu: 16, memoryGiB: 64 }, count: 13 } });
  assert.deepEqual(fields(tight.findings, 'error'), []);
  assert.deepEqual(fields(tight.findings, 'warning'), ['spec.nodes.count']);
  const enough = plan({ workloads, nodes: { instance: { cpu: 16, memoryGiB: 64 }, count: 17 } });
  assert.deepEqual(enough.findings, []);
});

test('a replica larger than a node is an error on the workload', () => {
  const { findings } = plan({ workloads: [workload('db', 1, 32, 96)] });
  assert.deepEqual(fields(findings, 'error'), ['spec.workloads[0].cpu', 'spec.workloads[0].memory']);
});

test('per-node workloads larger than a node leave nothing: an error on the instance', () => {
  const { findings } = plan({ workloads: [workload('agent', 0, 20, 1, true)] });
  assert.deepEqual(fields(findings, 'error'), ['spec.nodes.instance']);
});

test('counts beyond max nodes or the zones\' capacity are warnings', () => {
  const { findings } = plan({ nodes: { instance: { cpu: 16, memoryGiB: 64 }, count: 600 } });
  assert.deepEqual(fields(findings, 'error'), []);
  assert.deepEqual(fields(findings, 'warning'), ['spec.nodes.count', 'spec.vpc.zones']);
});

test('a recommendation beyond max nodes blames the pod CIDR', () => {
  const { findings } = plan({ workloads: [workload('web', 100, 15, 1)], maxNodes: 64 });
  assert.deepEqual(fields(findings, 'warning'), ['spec.cluster.network.podCIDR']);
});

test('an uneven zone that cannot take its share of nodes is a warning on that zone', () => {
  const { findings } = plan({
    nodes: { instance: { cpu: 16, memoryGiB: 64 }, count: 60 },
    zones: [zoneA, { name: 'zone-b', vswitchCIDR: '192.168.1.0/27', nodeCapacity: 28 }],
  });
  // 60 nodes over two zones is 30 each; zone-b's /27 holds 28.
  assert.deepEqual(fields(findings, 'warning'), ['spec.vpc.zones[1].vswitchCIDR']);
  const fewer = plan({ nodes: { instance: { cpu: 16, memoryGiB: 64 }, count: 56 }, zones: [zoneA, { name: 'zone-b', vswitchCIDR: '192.168.1.0/27', nodeCapacity: 28 }] });
  assert.deepEqual(fields(fewer.findings, 'warning'), []);
});

test('a single zone is a warning', () => {
  const { findings } = plan({ zones: [zoneA] });
  assert.ok(fields(findings, 'warning').includes('spec.vpc.zones'));
});

test('without an instance size the count is taken as given and only the network limits are checked', () => {
  const { capacity, findings } = plan({ nodes: { count: 700 } });
  assert.equal(capacity.workerNodes, 700);
  assert.equal(capacity.recommendedWorkerNodes, null);
  assert.deepEqual(fields(findings, 'info'), ['spec.nodes.instance']);
  assert.deepEqual(fields(findings, 'warning'), ['spec.nodes.count', 'spec.vpc.zones']);
});

test('Serverless: no workers; pods must fit the vSwitches', () => {
  const { capacity, findings } = plan({ serverless: true, workloads: [workload('build', 600, 2, 4)] });
  assert.equal(capacity.workerNodes, 0);
  assert.deepEqual(fields(findings, 'warning'), ['spec.vpc.zones', 'spec.nodes']);
});
