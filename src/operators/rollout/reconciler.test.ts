import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RolloutReconciler } from './reconciler.ts';
import { FakeFleet, KilledError } from './fake-fleet.ts';

const FOUR = [
  { name: 'w1', zone: 'zone-a', kubelet: '1.36.3' },
  { name: 'w2', zone: 'zone-a', kubelet: '1.36.3' },
  { name: 'w3', zone: 'zone-b', kubelet: '1.36.3' },
  { name: 'w4', zone: 'zone-b', kubelet: '1.36.3' },
];
const BROKEN = '1.37.2-tessera.broken';

type RunOptions = { maxPasses?: number; until?: (fleet: FakeFleet) => boolean; killEvery?: () => number | undefined };

/**
 * Drives a rollout: a pass of the rollout operator (a fresh one after a kill), a pass of the Node
 * operator, two seconds. Checks the availability rules after every pass.
 */
async function run(fleet: FakeFleet, name: string, options: RunOptions = {}): Promise<{ passes: number; kills: number }> {
  let reconciler = new RolloutReconciler(fleet.options(), (key) => structuredClone(fleet.rollouts.get(key)));
  let kills = 0;
  for (let passes = 1; passes <= (options.maxPasses ?? 400); passes++) {
    fleet.killAtWrite = options.killEvery?.();
    try {
      await reconciler.reconcile(`default/${name}`);
    } catch (error) {
      if (!(error instanceof KilledError)) throw error;
      kills++;
      reconciler = new RolloutReconciler(fleet.options(), (key) => structuredClone(fleet.rollouts.get(key)));
    }
    fleet.killAtWrite = undefined;
    const failed = new Set(fleet.rollout(name).status?.nodes?.filter((node) => node.failed).map((node) => node.machine));
    const outOfService = fleet.cordoned().filter((node) => !failed.has(node));
    assert.ok(outOfService.length <= 1, `at most maxUnavailable (1) cordoned at once, saw ${outOfService.join(', ')}`);
    fleet.tick();
    fleet.now = new Date(fleet.now.getTime() + 2_000);
    const phase = fleet.rollout(name).status?.phase;
    if (options.until ? options.until(fleet) : phase === 'Succeeded' || phase === 'RolledBack' || phase === 'Failed') return { passes, kills };
  }
  throw new Error(`rollout ${name} did not finish: ${JSON.stringify(fleet.rollout(name).status)}`);
}

test('canary 1 then 50% then 100%: every Machine is upgraded once, in plan order, one at a time, and the ClusterPackageVersion moves last', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  fleet.addRollout('up', { package: { name: 'kubelet', version: '1.37.2' } });
  await run(fleet, 'up');
  const status = fleet.rollout('up').status;
  assert.equal(status?.phase, 'Succeeded');
  assert.deepEqual(fleet.installs, [{ machine: 'w1', version: '1.37.2' }, { machine: 'w3', version: '1.37.2' }, { machine: 'w2', version: '1.37.2' }, { machine: 'w4', version: '1.37.2' }]);
  assert.deepEqual(status?.counts, { total: 4, updated: 4, verified: 4, failed: 0, remaining: 0, skipped: 0 });
  assert.equal(fleet.packageVersion.spec.packages.find((entry) => entry.name === 'kubelet')?.version, '1.37.2');
  assert.deepEqual(fleet.cordoned(), [], 'every Node uncordoned');
  assert.ok([...fleet.machines.values()].every((machine) => !machine.spec.packages?.length), 'the rollout\'s overrides are released');
  const reasons = fleet.events.map((event) => (event.reason === 'StepVerified' ? `${event.reason} ${event.message.split(' verified')[0]}` : event.reason));
  const wanted = ['RolloutStarted', 'StepStarted', 'NodeStarted', 'NodeUpgrading', 'NodeUpgraded', 'NodeHealthy', 'StepVerified canary', 'StepVerified wave 1 of 2', 'StepVerified wave 2 of 2', 'Promoting', 'Succeeded'];
  let at = -1;
  for (const reason of wanted) {
    const next = reasons.indexOf(reason, at + 1);
    assert.ok(next > at, `${reason} in order: ${reasons.join(', ')}`);
    at = next;
  }
  // A wave starts only after the step before it soaked for 20 s with every check passing.
  const verifiedCanary = fleet.events.findIndex((event) => event.reason === 'StepVerified');
  const secondStart = fleet.events.findIndex((event, index) => event.reason === 'NodeStarted' && index > fleet.events.findIndex((first) => first.reason === 'NodeStarted'));
  assert.ok(secondStart > verifiedCanary, 'wave 1 started after the canary was verified');
});

test('a converged, finished rollout costs no writes', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  fleet.addRollout('up', { package: { name: 'kubelet', version: '1.37.2' } });
  await run(fleet, 'up');
  const writes = fleet.writes;
  const reconciler = new RolloutReconciler(fleet.options(), (key) => structuredClone(fleet.rollouts.get(key)));
  assert.deepEqual(await reconciler.reconcile('default/up'), {});
  assert.equal(fleet.writes, writes);
});

test('the broken kubelet fails on the canary: exactly the canary is touched, rolled back, kept cordoned, named with the check; the ClusterPackageVersion is unchanged', async () => {
  const fleet = new FakeFleet(FOUR.map((machine) => ({ ...machine, kubelet: '1.37.2' })), '1.37.2');
  fleet.brokenVersions.add(BROKEN);
  fleet.addRollout('broken', { package: { name: 'kubelet', version: BROKEN } });
  await run(fleet, 'broken');
  const status = fleet.rollout('broken').status;
  assert.equal(status?.phase, 'RolledBack');
  assert.deepEqual(fleet.installs, [{ machine: 'w1', version: BROKEN }, { machine: 'w1', version: '1.37.2' }]);
  assert.equal(status?.failure?.machine, 'w1');
  assert.equal(status?.failure?.check, 'PackageHealthy');
  assert.match(status?.failure?.message ?? '', /w1 failed PackageHealthy within 2m of its upgrade: the kubelet does not answer \/healthz/);
  assert.equal(fleet.packageVersion.spec.packages.find((entry) => entry.name === 'kubelet')?.version, '1.37.2');
  assert.equal(fleet.packageVersion.metadata.generation, 1);
  assert.deepEqual(fleet.cordoned(), ['w1']);
  assert.deepEqual(status?.nodes?.map((node) => [node.machine, node.state]), [['w1', 'RolledBack'], ['w3', 'Pending'], ['w2', 'Pending'], ['w4', 'Pending']]);
  assert.ok([...fleet.machines.values()].every((machine) => !machine.spec.packages?.length));
  assert.ok(fleet.events.some((event) => event.type === 'Warning' && event.reason === 'VerificationFailed' && /w1 failed PackageHealthy/.test(event.message)));
});

test('a failure in wave 2 rolls back every upgraded Machine in reverse order, one at a time', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  fleet.addRollout('up', { package: { name: 'kubelet', version: '1.37.2' } });
  // w2 (the first of wave 2) never becomes healthy on the new version.
  await run(fleet, 'up', { until: (current) => current.rollout('up').status?.nodes?.find((node) => node.machine === 'w2')?.state === 'Upgrading' });
  // Only w2 is unhealthy on the new version (w1 and w3 run it already): its Node operator reports the fault.
  const tick = fleet.tick.bind(fleet);
  fleet.tick = () => {
    tick();
    const w2 = fleet.machines.get('w2');
    if (w2?.status?.packages?.find((entry) => entry.name === 'kubelet')?.version === '1.37.2') {
      const remediating = w2.status.conditions?.find((condition) => condition.type === 'Remediating');
      if (remediating) Object.assign(remediating, { status: 'True', reason: 'ServiceRestarted', message: 'the kubelet does not answer /healthz' });
    }
  };
  await run(fleet, 'up');
  const status = fleet.rollout('up').status;
  assert.equal(status?.phase, 'RolledBack');
  assert.equal(status?.failure?.machine, 'w2');
  const rollbacks = fleet.installs.filter((install) => install.version === '1.36.3').map((install) => install.machine);
  assert.deepEqual(rollbacks, ['w2', 'w3', 'w1'], 'reverse order of the upgrades');
  assert.deepEqual(fleet.cordoned(), ['w2']);
  assert.equal(fleet.packageVersion.spec.packages.find((entry) => entry.name === 'kubelet')?.version, '1.36.3');
});

test('paused during a wave: the Machine in flight finishes, no new one starts; resumed, the rollout finishes', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  fleet.addRollout('up', { package: { name: 'kubelet', version: '1.37.2' } });
  await run(fleet, 'up', { until: (current) => current.rollout('up').status?.nodes?.find((node) => node.machine === 'w3')?.state === 'Upgrading' });
  fleet.rollout('up').spec.paused = true;
  fleet.rollout('up').metadata.generation = 2;
  await run(fleet, 'up', { maxPasses: 60, until: () => false }).catch((error: Error) => assert.match(error.message, /did not finish/));
  const paused = fleet.rollout('up').status;
  assert.equal(paused?.phase, 'Paused');
  assert.deepEqual(paused?.nodes?.map((node) => [node.machine, node.state]), [['w1', 'Verified'], ['w3', 'Verified'], ['w2', 'Pending'], ['w4', 'Pending']]);
  assert.equal(fleet.installs.length, 2);
  assert.ok(fleet.events.some((event) => event.reason === 'Paused'));
  fleet.rollout('up').spec.paused = false;
  await run(fleet, 'up');
  assert.equal(fleet.rollout('up').status?.phase, 'Succeeded');
  assert.equal(fleet.installs.length, 4);
  assert.ok(fleet.events.some((event) => event.reason === 'Resumed'));
});

test('killed at random writes, the operator resumes from the objects: the rollout finishes with each Machine upgraded once and never two out of service', async () => {
  for (let seed = 1; seed <= 25; seed++) {
    let state = seed;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const fleet = new FakeFleet(FOUR, '1.36.3');
    fleet.addRollout('up', { package: { name: 'kubelet', version: '1.37.2' } });
    const { kills } = await run(fleet, 'up', { killEvery: () => (random() < 0.3 ? 1 + Math.floor(random() * 4) : undefined) });
    assert.ok(kills > 0, `seed ${seed}: killed at least once`);
    assert.equal(fleet.rollout('up').status?.phase, 'Succeeded', `seed ${seed}`);
    assert.deepEqual(fleet.installs.map((install) => install.machine).sort(), ['w1', 'w2', 'w3', 'w4'], `seed ${seed}: each Machine upgraded once`);
    assert.deepEqual(fleet.cordoned(), [], `seed ${seed}`);
  }
});

test('a second rollout of the same package on the Cluster is refused with Conflict until the first finishes', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  fleet.addRollout('first', { package: { name: 'kubelet', version: '1.37.2' } }, '2027-01-01T00:00:00Z');
  fleet.addRollout('second', { package: { name: 'kubelet', version: '1.36.3' } }, '2027-01-01T00:01:00Z');
  const reconciler = new RolloutReconciler(fleet.options(), (key) => structuredClone(fleet.rollouts.get(key)));
  await reconciler.reconcile('default/first');
  await reconciler.reconcile('default/second');
  const second = fleet.rollout('second').status;
  assert.equal(second?.phase, 'Pending');
  const accepted = second?.conditions?.find((condition) => condition.type === 'Accepted');
  assert.equal(accepted?.reason, 'Conflict');
  assert.match(accepted?.message ?? '', /PackageRollout first is rolling kubelet on Cluster shop/);
  await run(fleet, 'first');
  await reconciler.reconcile('default/second');
  assert.equal(fleet.rollout('second').status?.conditions?.find((condition) => condition.type === 'Accepted')?.status, 'True');
});

test('an unknown version is refused naming the field, and nothing is touched', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  fleet.addRollout('typo', { package: { name: 'kubelet', version: '1.99.0' } });
  const reconciler = new RolloutReconciler(fleet.options(), (key) => structuredClone(fleet.rollouts.get(key)));
  await reconciler.reconcile('default/typo');
  const accepted = fleet.rollout('typo').status?.conditions?.find((condition) => condition.type === 'Accepted');
  assert.equal(accepted?.reason, 'Invalid');
  assert.match(accepted?.message ?? '', /^spec\.package: package kubelet has no version "1\.99\.0": known versions are/);
  assert.deepEqual(fleet.installs, []);
});

test('a Machine pinned by its own spec.packages is skipped and said so, its override untouched; the selector narrows the rest', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  const w1 = fleet.machines.get('w1');
  if (w1) w1.spec.packages = [{ name: 'kubelet', version: '1.36.3' }];
  fleet.addRollout('gpu-less', { package: { name: 'kubelet', version: '1.37.2' }, selector: { matchLabels: { pool: 'general' } } });
  await run(fleet, 'gpu-less');
  const status = fleet.rollout('gpu-less').status;
  assert.equal(status?.phase, 'Succeeded');
  assert.deepEqual(status?.nodes?.map((node) => [node.machine, node.state]), [['w2', 'Verified'], ['w3', 'Verified'], ['w1', 'Skipped']]);
  assert.match(status?.nodes?.find((node) => node.machine === 'w1')?.message ?? '', /spec\.packages pins kubelet 1\.36\.3: remove that override/);
  assert.deepEqual(fleet.machines.get('w1')?.spec.packages, [{ name: 'kubelet', version: '1.36.3' }], 'a person\'s override is never touched');
});

test('drain policy Always: a PodDisruptionBudget that refuses the eviction past the drain timeout pauses the rollout and says why', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  fleet.pods.set('w1', [{ metadata: { name: 'db-0', namespace: 'shop' }, status: { phase: 'Running' } }]);
  fleet.blockedEvictions.add('db-0');
  fleet.addRollout('up', { package: { name: 'kubelet', version: '1.37.2' }, drain: { policy: 'Always', timeout: '30s' } });
  await run(fleet, 'up', { maxPasses: 40, until: (current) => current.rollout('up').status?.phase === 'Paused' });
  const status = fleet.rollout('up').status;
  const paused = status?.conditions?.find((condition) => condition.type === 'Paused');
  assert.equal(paused?.reason, 'DrainTimeout');
  assert.match(paused?.message ?? '', /draining w1 for more than 30s: .*db-0|draining w1 for more than 30s/);
  assert.deepEqual(fleet.installs, [], 'nothing installed on an undrained Node');
  assert.deepEqual(fleet.cordoned(), ['w1']);
  fleet.blockedEvictions.delete('db-0');
  await run(fleet, 'up');
  assert.equal(fleet.rollout('up').status?.phase, 'Succeeded');
});

test('while the guest API does not answer nothing is judged: a Machine being verified does not fail however long it lasts, and the rollout goes on once it answers', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  fleet.addRollout('up', { package: { name: 'kubelet', version: '1.37.2' } });
  await run(fleet, 'up', { until: (current) => current.rollout('up').status?.nodes?.find((node) => node.machine === 'w1')?.state === 'Verifying' });
  fleet.guestAnswers = false;
  // Ten minutes, five times the verification timeout.
  await run(fleet, 'up', { maxPasses: 300, until: () => false }).catch((error: Error) => assert.match(error.message, /did not finish/));
  const held = fleet.rollout('up').status;
  assert.equal(held?.failure, undefined);
  assert.match(held?.conditions?.find((condition) => condition.type === 'Progressing')?.message ?? '', /guest API of Cluster shop does not answer: holding/);
  assert.deepEqual(fleet.installs, [{ machine: 'w1', version: '1.37.2' }]);
  fleet.guestAnswers = true;
  await run(fleet, 'up');
  assert.equal(fleet.rollout('up').status?.phase, 'Succeeded');
});

test('a declared check that fails while wave 1 soaks stops the rollout and rolls back w3, then the canary', async () => {
  const fleet = new FakeFleet(FOUR, '1.36.3');
  fleet.addRollout('up', { package: { name: 'kubelet', version: '1.37.2' }, verification: { soak: '20s', timeout: '2m', checks: [{ name: 'error-rate', http: { url: 'http://probe/{node}' } }] } });
  await run(fleet, 'up', { until: (current) => current.rollout('up').status?.nodes?.find((node) => node.machine === 'w3')?.state === 'Soaking' });
  fleet.httpStatus.set('http://probe/w3', 500);
  await run(fleet, 'up');
  const status = fleet.rollout('up').status;
  assert.equal(status?.phase, 'RolledBack');
  assert.deepEqual(status?.failure && [status.failure.machine, status.failure.check], ['w3', 'error-rate']);
  assert.match(status?.failure?.message ?? '', /w3 failed error-rate while soaking: GET http:\/\/probe\/w3 answered 500, expected 200/);
  assert.deepEqual(fleet.installs.filter((install) => install.version === '1.36.3').map((install) => install.machine), ['w3', 'w1']);
  assert.deepEqual(fleet.cordoned(), ['w3']);
});
