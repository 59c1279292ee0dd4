// Benchmark (issue 11, scale): planning a fleet of 10,000 Clusters across 50 cells in 5 regions.
//  - full re-plan: every guest's tier from its load (score, re-tiering decision) and every
//    guest's cell (planFleet), from nothing;
//  - incremental re-plan: one guest changes (its load moves it up a tier): its tier decision and
//    its cell usage updated, or it is placed anew; the median over 2,000 changes;
//  - memory: the heap the plan holds for the fleet, after a full collection.
// Baseline, measured in the same run: sorting the same 10,000 guests by key once (the least any
// plan must do), and one pass over the 50 cells (the least an incremental decision must do).
// Last line: {"bench":"fleet-planning","clusters":10000,"cells":50,"fullSeconds":F,"incrementalMs":I}
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { defaultTierPolicySpec } from '../src/api/v1alpha1/tier-policy.ts';
import { planFleet, type FleetGuest } from '../src/operators/placement/fleet-plan.ts';
import { emptyUsage, type CellCapacity } from '../src/operators/placement/placement.ts';
import { decideTier } from '../src/operators/tiering/retiering.ts';
import { loadScore } from '../src/operators/tiering/load-score.ts';
import { findTier, guestRequests } from '../src/operators/tiering/tiers.ts';
import type { LoadInputs } from '../src/api/v1alpha1/cluster-fleet-fields.ts';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const CLUSTERS = 10_000;
const CELLS = 50;
const REGIONS = 5;
const INCREMENTAL_CHANGES = 2_000;
const Gi = 2 ** 30;
const policy = defaultTierPolicySpec;

// A deterministic generator, so every run plans the same fleet.
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

const cells: CellCapacity[] = Array.from({ length: CELLS }, (_, index) => ({
  name: `cell-${String(index).padStart(2, '0')}`,
  region: `region-${index % REGIONS}`,
  zones: ['zone-a', 'zone-b', 'zone-c'],
  state: index % 17 === 16 ? 'Cordoned' : 'Open',
  reachable: true,
  headroomPercent: 40,
  allocatable: { cpu: 640, memory: 2560 * Gi, pods: 5000, storage: 20_000 * Gi },
}));

type Guest = { key: string; region: string; mode: 'Standard' | 'Minimal'; tier: string; inputs: LoadInputs };
const guests: Guest[] = Array.from({ length: CLUSTERS }, (_, index) => {
  const roll = random();
  const [mode, objects, nodes] = roll < 0.6 ? (['Minimal', 300, 0] as const) : roll < 0.85 ? (['Minimal', 4000, 5] as const) : roll < 0.95 ? (['Standard', 8000, 20] as const) : (['Standard', 60_000, 150] as const);
  return {
    key: `tenant-${index % 97}/guest-${String(index).padStart(5, '0')}`,
    region: `region-${index % REGIONS}`,
    mode,
    tier: 'XS',
    inputs: { objects: Math.round(objects * (0.5 + random())), nodes, pods: nodes * 10, watchers: 20 + nodes * 4, requestsPerSecond: Math.round(random() * 50), etcdDatabaseBytes: objects * 2048 },
  };
});

function tierOf(guest: Guest, now: number): string {
  const score = loadScore(guest.inputs, policy.factors);
  // A guest whose score has stayed above its tier past the up window moves one step.
  return decideTier({ policy, current: guest.tier, pinned: undefined, score, now, aboveSince: now - 10 * 60_000, transitions: [], fits: () => true }).tier;
}

function fullReplan(now: number) {
  const demands: FleetGuest[] = guests.map((guest) => {
    const tier = tierOf(guest, now);
    return { key: guest.key, region: guest.region, mode: guest.mode, requests: guestRequests(findTier(tier, policy), guest.mode) };
  });
  return planFleet(cells, demands);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

// Baseline: one sort of the guests by key.
const baselineRuns: number[] = [];
for (let run = 0; run < 5; run++) {
  const copy = guests.map((guest) => ({ key: guest.key }));
  const start = performance.now();
  copy.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  baselineRuns.push(performance.now() - start);
}
const sortMs = median(baselineRuns);

// Full re-plan, median of 5.
const now = Date.now();
fullReplan(now); // warm-up
const fullRuns: number[] = [];
let result = fullReplan(now);
for (let run = 0; run < 5; run++) {
  const start = performance.now();
  result = fullReplan(now);
  fullRuns.push(performance.now() - start);
}
const fullMs = median(fullRuns);
const placed = [...result.decisions.values()].filter((decision) => decision.placed).length;
const unfit = CLUSTERS - placed;

// Memory the plan holds: heap with the plan minus heap without it.
collectGarbage();
const heapBefore = process.memoryUsage().heapUsed;
const kept = fullReplan(now);
collectGarbage();
const planBytes = process.memoryUsage().heapUsed - heapBefore;

// Incremental: one guest's load goes up; decide its tier and move its usage (or place it if new).
const plan = kept.plan;
const incrementalRuns: number[] = [];
const cellPassRuns: number[] = [];
for (let change = 0; change < INCREMENTAL_CHANGES; change++) {
  const guest = guests[Math.floor(random() * guests.length)];
  if (!guest) continue;
  guest.inputs = { ...guest.inputs, objects: (guest.inputs.objects ?? 0) + 5000 };
  const start = performance.now();
  const tier = tierOf(guest, now);
  const requests = guestRequests(findTier(tier, policy), guest.mode);
  const cell = plan.cellOf(guest.key);
  if (cell !== undefined) plan.assign(guest.key, cell, requests);
  else plan.place({ key: guest.key, region: guest.region, mode: guest.mode, requests });
  incrementalRuns.push(performance.now() - start);
  // Baseline: one pass reading every cell's usage.
  const passStart = performance.now();
  let total = 0;
  for (const candidate of cells) total += (plan.usage.get(candidate.name) ?? emptyUsage()).requested.cpu;
  cellPassRuns.push(performance.now() - passStart + (total < 0 ? 1 : 0));
}
const incrementalMs = median(incrementalRuns);
const cellPassMs = median(cellPassRuns);

const hottest = Math.max(...cells.map((cell) => (plan.usage.get(cell.name)?.requested.cpu ?? 0) / cell.allocatable.cpu));
console.log(`fleet planning: ${CLUSTERS} clusters, ${CELLS} cells in ${REGIONS} regions (${cells.filter((c) => c.state !== 'Open').length} cordoned)`);
console.log(`  full re-plan (tiers + placement): ${fullMs.toFixed(1)} ms (median of 5); baseline sort of the same guests: ${sortMs.toFixed(2)} ms (${(fullMs / sortMs).toFixed(1)}x)`);
console.log(`  placed ${placed}, refused ${unfit}; hottest cell uses ${(hottest * 100).toFixed(1)}% of its CPU (headroom 40%)`);
console.log(`  incremental re-plan of one changed guest: ${(incrementalMs * 1000).toFixed(1)} us (median of ${INCREMENTAL_CHANGES}); baseline one pass over the cells: ${(cellPassMs * 1000).toFixed(1)} us (${(incrementalMs / Math.max(cellPassMs, 1e-6)).toFixed(1)}x)`);
console.log(`  plan memory: ${(planBytes / 2 ** 20).toFixed(1)} MiB (${Math.round(planBytes / CLUSTERS)} bytes per guest)`);
console.log(JSON.stringify({ bench: 'fleet-planning', clusters: CLUSTERS, cells: CELLS, fullSeconds: Math.round(fullMs) / 1000, incrementalMs: Math.round(incrementalMs * 10_000) / 10_000 }));
