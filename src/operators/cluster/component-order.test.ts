import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_COMPONENTS, clusterComponentStages, orderedStages } from './component-order.ts';

test('a guest comes up as services, pki, etcd, apiserver, controller-manager with scheduler, bootstrap, addons', () => {
  assert.deepEqual(clusterComponentStages(), [
    ['services'],
    ['pki'],
    ['etcd'],
    ['kube-apiserver'],
    ['kube-controller-manager', 'kube-scheduler'],
    ['guest-bootstrap'],
    ['addons'],
  ]);
});

test('every task comes after everything it depends on', () => {
  const stages = clusterComponentStages();
  const stageOf = (name: string) => stages.findIndex((stage) => (stage as string[]).includes(name));
  for (const task of CLUSTER_COMPONENTS) {
    for (const dependency of task.dependsOn) assert.ok(stageOf(dependency) < stageOf(task.name), `${dependency} before ${task.name}`);
  }
});

test('independent tasks share a stage, in the order they are listed', () => {
  assert.deepEqual(
    orderedStages([
      { name: 'b', dependsOn: [], reason: '' },
      { name: 'a', dependsOn: [], reason: '' },
      { name: 'c', dependsOn: ['a'], reason: '' },
      { name: 'd', dependsOn: ['c', 'b'], reason: '' },
    ]),
    [['b', 'a'], ['c'], ['d']],
  );
  assert.deepEqual(orderedStages([]), []);
});

test('a cycle, an unknown dependency or a duplicate is an error naming the tasks', () => {
  assert.throws(
    () =>
      orderedStages([
        { name: 'a', dependsOn: ['c'], reason: '' },
        { name: 'b', dependsOn: ['a'], reason: '' },
        { name: 'c', dependsOn: ['b'], reason: '' },
      ]),
    /cycle: a -> c -> b -> a/,
  );
  assert.throws(() => orderedStages([{ name: 'a', dependsOn: ['etcd'], reason: '' }]), /"a" depends on "etcd", which is not a task/);
  assert.throws(
    () =>
      orderedStages([
        { name: 'a', dependsOn: [], reason: '' },
        { name: 'a', dependsOn: [], reason: '' },
      ]),
    /"a" is listed twice/,
  );
});
