import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderedStages, walkGraph, type GraphTask } from './task-graph.ts';

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

type Outcome = { ready: boolean; note: string };

function handlers(ready: Record<string, boolean>, log: string[], fail: string[] = []) {
  return {
    run: async (task: GraphTask) => {
      log.push(`start ${task.name}`);
      await new Promise((resolve) => setImmediate(resolve));
      if (fail.includes(task.name)) throw new Error(`${task.name} broke`);
      log.push(`end ${task.name}`);
      return { ready: ready[task.name] ?? true, note: 'ran' };
    },
    blocked: (task: GraphTask, waitingFor: string[]): Outcome => ({ ready: false, note: `waiting for ${waitingFor.join(', ')}` }),
    failed: (task: GraphTask, error: unknown): Outcome => ({ ready: false, note: (error as Error).message }),
  };
}

const diamond: GraphTask[] = [
  { name: 'etcd', dependsOn: [], reason: '' },
  { name: 'api', dependsOn: ['etcd'], reason: '' },
  { name: 'cm', dependsOn: ['api'], reason: '' },
  { name: 'sched', dependsOn: ['api'], reason: '' },
  { name: 'addons', dependsOn: ['cm', 'sched'], reason: '' },
];

test('a walk runs each task after its dependencies and independent tasks side by side', async () => {
  const log: string[] = [];
  const outcomes = await walkGraph(diamond, handlers({}, log));
  assert.deepEqual(log, ['start etcd', 'end etcd', 'start api', 'end api', 'start cm', 'start sched', 'end cm', 'end sched', 'start addons', 'end addons']);
  assert.ok([...outcomes.values()].every((outcome) => outcome.ready));
});

test('a task whose dependency is not ready does not run, and says what it waits for', async () => {
  const log: string[] = [];
  const outcomes = await walkGraph(diamond, handlers({ sched: false }, log));
  assert.ok(!log.includes('start addons'));
  assert.equal(outcomes.get('addons')?.note, 'waiting for sched');
  assert.equal(outcomes.get('cm')?.ready, true);
});

test('a task that throws is failed, its dependents blocked, the rest still run', async () => {
  const log: string[] = [];
  const outcomes = await walkGraph(diamond, handlers({}, log, ['cm']));
  assert.equal(outcomes.get('cm')?.note, 'cm broke');
  assert.equal(outcomes.get('sched')?.ready, true);
  assert.equal(outcomes.get('addons')?.note, 'waiting for cm');
});

test('a walk over a cyclic graph is refused before anything runs', async () => {
  const log: string[] = [];
  await assert.rejects(walkGraph([{ name: 'a', dependsOn: ['b'], reason: '' }, { name: 'b', dependsOn: ['a'], reason: '' }], handlers({}, log)), /cycle/);
  assert.deepEqual(log, []);
});
