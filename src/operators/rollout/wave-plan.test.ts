import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { maxUnavailableCount, planSteps, resolveCount, selectBatch, type BatchNode, type PlannedMachine } from './wave-plan.ts';

const machinesArbitrary = fc.uniqueArray(fc.record({ name: fc.stringMatching(/^m[0-9]{1,4}$/), zone: fc.constantFrom('zone-a', 'zone-b', 'zone-c', 'zone-d') }), { minLength: 0, maxLength: 300, selector: (machine) => machine.name });
const countArbitrary = fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 100 }).map((percent) => `${percent}%`));

test('percentages round up for step sizes and down for budgets; a budget is never below 1', () => {
  assert.equal(resolveCount('10%', 15, 'up'), 2);
  assert.equal(resolveCount('10%', 15, 'down'), 1);
  assert.equal(maxUnavailableCount('10%', 4), 1);
  assert.equal(maxUnavailableCount('50%', 4), 2);
  assert.equal(maxUnavailableCount(3, 4), 3);
});

test('canary 1, waves 50% then 100% over 4 Machines in two zones: 1, then 1, then 2, and the canary step samples zone-a first', () => {
  const machines = [{ name: 'w1', zone: 'zone-a' }, { name: 'w2', zone: 'zone-a' }, { name: 'w3', zone: 'zone-b' }, { name: 'w4', zone: 'zone-b' }];
  const steps = planSteps(machines, 1, ['50%', '100%']);
  assert.deepEqual(steps.map((step) => step.map((machine) => machine.name)), [['w1'], ['w3'], ['w2', 'w4']]);
});

test('every selected Machine is in exactly one step; the canary has at least one; steps grow to the cumulative wave sizes and end with everyone', () => {
  fc.assert(
    fc.property(machinesArbitrary, countArbitrary, fc.array(countArbitrary, { maxLength: 6 }), (machines, canary, waves) => {
      const steps = planSteps(machines, canary, waves);
      const names = steps.flat().map((machine) => machine.name);
      assert.equal(names.length, machines.length);
      assert.deepEqual([...names].sort(), machines.map((machine) => machine.name).sort());
      if (machines.length === 0) return assert.equal(steps.length, 0);
      assert.ok((steps[0]?.length ?? 0) >= 1, 'the canary has a Machine');
      assert.ok(steps.every((step) => step.length > 0), 'no empty step');
      let done = 0;
      for (const [index, step] of steps.entries()) {
        done += step.length;
        if (index === 0) assert.equal(done, Math.min(machines.length, Math.max(1, resolveCount(canary, machines.length, 'up'))));
      }
    }),
  );
});

/**
 * Runs a whole rollout through selectBatch with random completion order: whatever finishes
 * when, no step starts before the previous one is done, the budget is never exceeded, and the
 * Machines in flight are always in one zone.
 */
test('simulated rollouts never exceed maxUnavailable, never span two zones in flight, never start a step early, and finish', () => {
  fc.assert(
    fc.property(machinesArbitrary.filter((machines) => machines.length > 0), countArbitrary, fc.array(countArbitrary, { maxLength: 4 }), fc.integer({ min: 1, max: 12 }), fc.infiniteStream(fc.nat()), fc.infiniteStream(fc.boolean()), (machines, canary, waves, budget, choices, unhealthy) => {
      const steps = planSteps(machines, canary, waves);
      const nodes: BatchNode[] = steps.flatMap((step, index) => step.map((machine: PlannedMachine) => ({ ...machine, step: index, progress: 'Pending' as const, unavailable: false })));
      const choice = choices[Symbol.iterator]();
      const flaky = unhealthy[Symbol.iterator]();
      for (let current = 0, rounds = 0; current < steps.length; rounds++) {
        assert.ok(rounds < 10 * nodes.length + 100, 'the rollout finishes');
        // Now and then a Machine that is done is unavailable for a round (counts against the budget).
        for (const node of nodes) node.unavailable = node.progress === 'Done' && (flaky.next().value as boolean) && (choice.next().value as number) % 7 === 0;
        const batch = selectBatch(nodes, current, budget);
        for (const name of batch.start) {
          const node = nodes.find((entry) => entry.name === name);
          assert.ok(node && node.step === current, 'only the current step starts');
          node.progress = 'InFlight';
        }
        const inFlight = nodes.filter((node) => node.progress === 'InFlight');
        const unavailable = nodes.filter((node) => node.progress !== 'InFlight' && node.unavailable).length;
        assert.ok(batch.start.length === 0 || inFlight.length + unavailable <= budget, `at most ${budget} out of service`);
        assert.ok(new Set(inFlight.map((node) => node.zone)).size <= 1, 'one zone at a time');
        // A random Machine in flight finishes.
        if (inFlight.length > 0) {
          const finished = inFlight[(choice.next().value as number) % inFlight.length];
          if (finished) finished.progress = 'Done';
        }
        if (nodes.every((node) => node.step !== current || node.progress === 'Done')) current++;
      }
      assert.ok(nodes.every((node) => node.progress === 'Done'));
    }),
    { numRuns: 300 },
  );
});

test('a Machine in flight in zone-a keeps zone-b waiting even with budget to spare', () => {
  const nodes: BatchNode[] = [
    { name: 'a1', zone: 'zone-a', step: 1, progress: 'InFlight', unavailable: false },
    { name: 'b1', zone: 'zone-b', step: 1, progress: 'Pending', unavailable: false },
    { name: 'a2', zone: 'zone-a', step: 1, progress: 'Pending', unavailable: false },
  ];
  assert.deepEqual(selectBatch(nodes, 1, 5).start, ['a2']);
  assert.deepEqual(selectBatch(nodes.slice(0, 2), 1, 5), { start: [], zone: 'zone-a', reason: 'waiting for zone zone-a to finish before another zone starts' });
});

test('an unhealthy Machine outside the rollout uses up the budget: nothing starts', () => {
  const nodes: BatchNode[] = [
    { name: 'a1', zone: 'zone-a', step: 0, progress: 'Done', unavailable: true },
    { name: 'a2', zone: 'zone-a', step: 1, progress: 'Pending', unavailable: false },
  ];
  assert.deepEqual(selectBatch(nodes, 1, 1).start, []);
});
