import assert from 'node:assert/strict';
import { test } from 'node:test';
import { masterTierFor, sizeMasters, type MasterInput } from './masters.ts';

const size = (input: Partial<MasterInput>) => sizeMasters({ clusterType: 'Managed', workerNodes: 10, instanceField: 'spec.masters.instance', ...input });

test('tiers follow the seed up to 200 nodes and double beyond', () => {
  const cases: [number, number, number][] = [
    [0, 8, 32],
    [100, 8, 32],
    [101, 16, 64],
    [200, 16, 64],
    [201, 32, 128],
    [500, 32, 128],
    [501, 64, 256],
    [5000, 64, 256],
  ];
  for (const [nodes, cpu, memoryGiB] of cases) {
    const tier = masterTierFor(nodes);
    assert.deepEqual([tier.cpu, tier.memoryGiB], [cpu, memoryGiB], `${nodes} nodes`);
  }
});

test('Managed and Dedicated clusters get three masters sized by the worker count', () => {
  const managed = size({ workerNodes: 150 }).masters;
  assert.deepEqual([managed.count, managed.cpu, managed.memoryGiB, managed.tier], [3, 16, 64, '101-200 nodes']);
  const dedicated = size({ clusterType: 'Dedicated', workerNodes: 600 }).masters;
  assert.deepEqual([dedicated.count, dedicated.cpu, dedicated.memoryGiB, dedicated.tier], [3, 64, 256, 'more than 500 nodes']);
  assert.equal(size({ workerNodes: 20 }).masters.tier, 'up to 100 nodes');
});

test('Serverless has no user-visible masters and says so', () => {
  const { masters } = size({ clusterType: 'Serverless' });
  assert.deepEqual([masters.count, masters.cpu, masters.memoryGiB, masters.userVisible], [0, 0, 0, false]);
  assert.match(masters.note, /none user visible/);
});

test('a Dedicated master instance below 4 CPU / 8 GiB is an error; below the tier a warning', () => {
  const tooSmall = size({ clusterType: 'Dedicated', instance: { cpu: 2, memoryGiB: 8 } }).findings;
  assert.deepEqual(tooSmall.map((f) => [f.severity, f.field]), [['error', 'spec.masters.instance']]);
  const belowTier = size({ clusterType: 'Dedicated', workerNodes: 150, instance: { cpu: 8, memoryGiB: 32 } }).findings;
  assert.deepEqual(belowTier.map((f) => f.severity), ['warning']);
  assert.match(belowTier[0]?.fix ?? '', /16 CPU \/ 64 GiB/);
  assert.deepEqual(size({ clusterType: 'Dedicated', workerNodes: 150, instance: { cpu: 16, memoryGiB: 64 } }).findings, []);
});

test('a master instance on a Managed cluster is ignored with a warning', () => {
  assert.deepEqual(size({ instance: { cpu: 8, memoryGiB: 32 } }).findings.map((f) => f.severity), ['warning']);
});

test('one master (a Cluster in Minimal mode) is a warning on the mode', () => {
  const { masters, findings } = size({ replicas: 1, replicasField: 'spec.mode' });
  assert.equal(masters.count, 1);
  assert.deepEqual(findings.map((f) => [f.severity, f.field]), [['warning', 'spec.mode']]);
});

test('an unknown worker count sizes for the smallest tier', () => {
  assert.equal(size({ workerNodes: null }).masters.cpu, 8);
});
