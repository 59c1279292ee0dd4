import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultTierPolicySpec, type TierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';
import { decideTier } from './retiering.ts';
import { loadInputsFromSamples, loadScore, parsePrometheusText, recommendedTier, scrapedMetrics } from './load-score.ts';
import { currentTier, guestRequests, tierResources } from './tiers.ts';

const policy: TierPolicySpec = { ...defaultTierPolicySpec, retiering: { upAfter: '5m', downAfter: '1h', downMarginPercent: 20, maxTransitionsPerHour: 2 } };
const minute = 60_000;
const fitsAll = () => true;

test('tierResources gives each component its requests and the API server its inflight limits', () => {
  const m = tierResources('M');
  assert.deepEqual(m.apiServer, { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '8Gi' } });
  assert.equal(m.apiServerMaxRequestsInflight, 800);
  assert.throws(() => tierResources('XXL'), /tier "XXL" is not in the TierPolicy \(tiers: XS, S, M, L, XL\): set spec.tier/);
});

test('a Standard guest asks three times what a Minimal one does, with 4 pods per replica set', () => {
  const xs = defaultTierPolicySpec.tiers[0]!;
  const minimal = guestRequests(xs, 'Minimal');
  const standard = guestRequests(xs, 'Standard');
  assert.equal(minimal.pods, 4);
  assert.equal(standard.pods, 12);
  assert.ok(Math.abs(minimal.cpu - 0.45) < 1e-9);
  assert.ok(Math.abs(standard.cpu - 3 * minimal.cpu) < 1e-9);
  assert.equal(standard.storage, 3 * 2 ** 30);
});

test('the tier a guest runs at: the pin, else the chosen one, else the default', () => {
  assert.equal(currentTier({ spec: { version: '1.37.2', tier: 'L' }, status: { tier: 'S' } }).name, 'L');
  assert.equal(currentTier({ spec: { version: '1.37.2' }, status: { tier: 'S' } }).name, 'S');
  assert.equal(currentTier({ spec: { version: '1.37.2' }, status: { tier: 'gone' } }).name, 'XS');
});

test('the load score weighs objects, nodes, pods, watches, request rate and etcd size from /metrics', () => {
  const text = [
    '# HELP apiserver_storage_objects x',
    'apiserver_storage_objects{resource="configmaps"} 3000',
    'apiserver_storage_objects{resource="nodes"} 10',
    'apiserver_storage_objects{resource="pods"} 90',
    'apiserver_longrunning_requests{group="",resource="pods",scope="cluster",verb="WATCH"} 20',
    'apiserver_request_total{code="200",verb="GET"} 1500',
    'apiserver_storage_size_bytes{storage_cluster_id="x"} 4194304',
  ].join('\n');
  const samples = parsePrometheusText(text);
  const { inputs } = loadInputsFromSamples(samples, 10_000, { total: 1000, at: 0 });
  assert.deepEqual(inputs, { objects: 3100, nodes: 10, pods: 90, watchers: 20, requestsPerSecond: 50, etcdDatabaseBytes: 4194304 });
  // 3100*0.05 + 10*5 + 90*0.2 + 20 + 50*2 + 4 = 155 + 50 + 18 + 20 + 100 + 4
  assert.equal(loadScore(inputs, defaultTierPolicySpec.factors), 347);
  assert.equal(recommendedTier(347, defaultTierPolicySpec), 'S');
});

test('with a wanted set, only the wanted metrics are parsed, however their lines end', () => {
  const text = [
    'apiserver_storage_objects{resource="pods"} 7',
    'apiserver_storage_objects_total 99',
    'apiserver_request_total 12',
    'apiserver_request_total_other{verb="GET"} 1',
    'apiserver_longrunning_requests\t3',
    'go_goroutines 400',
  ].join('\n');
  const samples = parsePrometheusText(text, scrapedMetrics);
  assert.deepEqual(samples.map((sample) => `${sample.name}=${sample.value}`), ['apiserver_storage_objects=7', 'apiserver_request_total=12', 'apiserver_longrunning_requests=3']);
});

test('a restarted API server (counter went down) reports no rate rather than a negative one', () => {
  const { inputs } = loadInputsFromSamples(parsePrometheusText('apiserver_request_total 5'), 2000, { total: 900, at: 0 });
  assert.equal(inputs.requestsPerSecond, 0);
});

test('a guest moves up only after the score stayed above its tier for the up window, one step at a time', () => {
  const base = { policy, current: 'XS', pinned: undefined, score: 5000, transitions: [], fits: fitsAll };
  const first = decideTier({ ...base, now: 0 });
  assert.equal(first.reason, 'WaitingUp');
  assert.equal(first.aboveSince, 0);
  assert.equal(decideTier({ ...base, now: 4 * minute, aboveSince: 0 }).tier, 'XS');
  const up = decideTier({ ...base, now: 5 * minute, aboveSince: 0 });
  assert.deepEqual([up.tier, up.changed, up.reason, up.recommended], ['S', true, 'ScaledUp', 'M']);
  assert.deepEqual(up.transitions, [5 * minute]);
});

test('moving down needs the long window and the margin below the lower tier', () => {
  const base = { policy, current: 'S', pinned: undefined, transitions: [], fits: fitsAll };
  // XS ends at 200; with a 20% margin the score must be under 160.
  assert.equal(decideTier({ ...base, score: 180, now: 0, belowSince: -10 * 3_600_000 }).reason, 'Steady');
  assert.equal(decideTier({ ...base, score: 100, now: 59 * minute, belowSince: 0 }).reason, 'WaitingDown');
  const down = decideTier({ ...base, score: 100, now: 60 * minute, belowSince: 0 });
  assert.deepEqual([down.tier, down.reason], ['XS', 'ScaledDown']);
});

test('the transition limit and the cell\'s room hold a guest on its tier, with the reason', () => {
  const base = { policy, current: 'XS', pinned: undefined, score: 5000, now: 50 * minute, aboveSince: 0, fits: fitsAll };
  assert.equal(decideTier({ ...base, transitions: [10 * minute, 20 * minute] }).reason, 'TransitionLimit');
  // Transitions older than an hour no longer count.
  assert.equal(decideTier({ ...base, now: 90 * minute, transitions: [10 * minute, 20 * minute] }).reason, 'ScaledUp');
  const full = decideTier({ ...base, transitions: [], fits: (tier) => tier !== 'S' });
  assert.deepEqual([full.tier, full.reason], ['XS', 'DoesNotFitCell']);
  assert.match(full.message, /cannot hold the guest at S while keeping its headroom/);
});

test('a pinned tier wins and the recommendation is still reported', () => {
  const decision = decideTier({ policy, current: 'XS', pinned: 'L', score: 5, now: 0, transitions: [], fits: fitsAll });
  assert.deepEqual([decision.tier, decision.reason, decision.recommended], ['L', 'Pinned', 'XS']);
});

test('re-tiering never flaps: any score series changes tier at most once per up window and within the hourly limit', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 30000 }), { minLength: 1, maxLength: 200 }), (scores) => {
      let current = 'XS';
      let aboveSince: number | undefined;
      let belowSince: number | undefined;
      let transitions: number[] = [];
      const changes: number[] = [];
      scores.forEach((score, step) => {
        const now = step * 30_000;
        const decision = decideTier({ policy, current, pinned: undefined, score, now, aboveSince, belowSince, transitions, fits: fitsAll });
        const names = policy.tiers.map((t) => t.name);
        assert.ok(Math.abs(names.indexOf(decision.tier) - names.indexOf(current)) <= 1, 'one step at a time');
        if (decision.changed) changes.push(now);
        ({ aboveSince, belowSince, transitions } = decision);
        current = decision.tier;
      });
      for (const at of changes) assert.ok(changes.filter((other) => other <= at && at - other < 3_600_000).length <= 2, 'at most 2 changes in any hour');
      for (let i = 1; i < changes.length; i++) assert.ok(changes[i]! - changes[i - 1]! >= 5 * minute, 'a full window between changes');
    }),
  );
});
