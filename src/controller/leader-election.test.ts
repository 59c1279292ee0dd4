import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApiServer } from '../../test/harness/api-server.ts';
import { LeaderElector, formatMicroTime, type LeaderElectionOptions, type LeaseRecord } from './leader-election.ts';

// One real API server for this file. Timings are scaled down from 15s/10s/2s.
const api = await startTestApiServer();
const leases = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
const fast = { leaseDurationMs: 1_000, renewDeadlineMs: 700, retryPeriodMs: 150 };

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function elector(name: string, identity: string, timeline: string[], extra: Partial<LeaderElectionOptions> = {}): LeaderElector {
  return new LeaderElector({
    client: api.client,
    namespace: 'default',
    name,
    identity,
    ...fast,
    onStartedLeading: () => void timeline.push(`${identity} started`),
    onStoppedLeading: async () => {
      await sleep(50); // stopping controllers takes a moment; the successor must wait for it
      timeline.push(`${identity} stopped`);
    },
    ...extra,
  });
}

const leaseOf = async (name: string) => (await api.client.get<{ spec: LeaseRecord }>(`${leases}/${name}`)).spec;

test('of two candidates one leads; when it stops, the other takes over without waiting for expiry', async () => {
  const timeline: string[] = [];
  const a = elector('takeover', 'a', timeline);
  const b = elector('takeover', 'b', timeline);
  const runs = [a.run(), b.run()];
  await eventually(() => a.isLeader() || b.isLeader());
  for (let i = 0; i < 20; i++) {
    assert.equal(Number(a.isLeader()) + Number(b.isLeader()), 1, 'exactly one leader at a time');
    await sleep(50);
  }
  const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
  const leaderId = leader === a ? 'a' : 'b';
  const followerId = leader === a ? 'b' : 'a';
  const lease = await leaseOf('takeover');
  assert.equal(lease.holderIdentity, leaderId);
  assert.match(lease.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime with six fraction digits');
  assert.equal(follower.getLeader(), leaderId, 'the follower knows who leads');

  const stoppedAt = performance.now();
  await leader.stop();
  await eventually(() => follower.isLeader());
  const takeoverMs = performance.now() - stoppedAt;
  assert.ok(takeoverMs < fast.leaseDurationMs, `takeover took ${takeoverMs.toFixed(0)}ms: the released Lease should not need to expire`);
  assert.deepEqual(timeline, [`${leaderId} started`, `${leaderId} stopped`, `${followerId} started`], 'the successor starts only after the leader stopped');
  const after = await leaseOf('takeover');
  assert.equal(after.holderIdentity, followerId);
  assert.equal(after.leaseTransitions, 1);
  await follower.stop();
  await Promise.all(runs);
  assert.equal((await leaseOf('takeover')).holderIdentity, undefined, 'released on stop');
});

test('a held Lease expires by local observation time, not by its remote renewTime', async () => {
  // A holder that vanished long ago, by its own (remote) clock.
  await api.client.create(leases, {
    metadata: { name: 'ghost' },
    spec: { holderIdentity: 'ghost', leaseDurationSeconds: 1, renewTime: '2000-01-01T00:00:00.000000Z', acquireTime: '2000-01-01T00:00:00.000000Z', leaseTransitions: 4 },
  });
  const timeline: string[] = [];
  const candidate = elector('ghost', 'c', timeline);
  const started = performance.now();
  const run = candidate.run();
  await eventually(() => candidate.isLeader());
  const waited = performance.now() - started;
  assert.ok(waited >= fast.leaseDurationMs - 5, `took over after ${waited.toFixed(0)}ms; must wait a full lease duration from first seeing the record`);
  const lease = await leaseOf('ghost');
  assert.equal(lease.holderIdentity, 'c');
  assert.equal(lease.leaseTransitions, 5);
  await candidate.stop();
  await run;
});

test('a leader that cannot renew within the renew deadline stops leading and keeps its hands off the Lease', async () => {
  const timeline: string[] = [];
  const leader = elector('usurped', 'd', timeline);
  const run = leader.run();
  await eventually(() => leader.isLeader());
  // Another party takes the Lease over (e.g. an operator by hand, or a split brain).
  const now = formatMicroTime(Date.now());
  await api.client.patch(`${leases}/usurped`, { spec: { holderIdentity: 'intruder', renewTime: now, acquireTime: now } }, 'merge');
  const since = performance.now();
  await run;
  const lostAfter = performance.now() - since;
  assert.equal(leader.isLeader(), false);
  assert.deepEqual(timeline, ['d started', 'd stopped']);
  assert.ok(lostAfter >= fast.renewDeadlineMs - 200 && lostAfter < fast.leaseDurationMs + 500, `gave up after ${lostAfter.toFixed(0)}ms`);
  assert.equal((await leaseOf('usurped')).holderIdentity, 'intruder', 'a lost leader does not release a Lease it no longer holds');
});

test('timings that could let two leaders overlap are refused', () => {
  const base = { client: api.client, namespace: 'default', name: 'x', identity: 'x', onStartedLeading: () => {} };
  assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }), /leaseDurationMs \(10000\) must be greater than renewDeadlineMs \(10000\)/);
  assert.throws(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }), /renewDeadlineMs \(2000\) must be greater than 1.2 x retryPeriodMs/);
  assert.throws(() => new LeaderElector({ ...base, identity: '' }), /identity is empty/);
});

test('MicroTime has exactly six fraction digits', () => {
  assert.equal(formatMicroTime(new Date('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05.678000Z');
  assert.equal(formatMicroTime(Date.UTC(2026, 0, 2)), '2026-01-02T00:00:00.000000Z');
});
