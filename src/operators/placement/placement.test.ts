import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chooseCell, fitsCell, emptyUsage, type CellCapacity, type GuestDemand } from './placement.ts';
import { planFleet } from './fleet-plan.ts';
import { resourceNames } from '../tiering/tiers.ts';

const Gi = 2 ** 30;
const cell = (name: string, overrides: Partial<CellCapacity> = {}): CellCapacity => ({
  name,
  region: 'local',
  zones: ['zone-a', 'zone-b', 'zone-c'],
  state: 'Open',
  reachable: true,
  headroomPercent: 40,
  allocatable: { cpu: 96, memory: 192 * Gi, pods: 750, storage: 0 },
  ...overrides,
});
const guest = (key: string, overrides: Partial<GuestDemand> = {}): GuestDemand => ({
  key,
  region: 'local',
  mode: 'Minimal',
  requests: { cpu: 1, memory: 2 * Gi, pods: 4, storage: Gi },
  ...overrides,
});

const arbitraryCell = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
  region: fc.constantFrom('local', 'eu'),
  zones: fc.subarray(['z1', 'z2', 'z3', 'z4']),
  state: fc.constantFrom<CellCapacity['state']>('Open', 'Open', 'Open', 'Cordoned', 'Draining'),
  reachable: fc.boolean(),
  headroomPercent: fc.integer({ min: 0, max: 90 }),
  allocatable: fc.record({ cpu: fc.integer({ min: 0, max: 200 }), memory: fc.integer({ min: 0, max: 512 }).map((g) => g * Gi), pods: fc.integer({ min: 0, max: 1000 }), storage: fc.integer({ min: 0, max: 100 }).map((g) => g * Gi) }),
});
const arbitraryCells = fc.uniqueArray(arbitraryCell, { selector: (c) => c.name, maxLength: 5 });
const arbitraryGuest = fc.record({
  key: fc.string({ minLength: 1, maxLength: 6 }),
  region: fc.constantFrom('local', 'eu'),
  mode: fc.constantFrom<GuestDemand['mode']>('Standard', 'Minimal'),
  requests: fc.record({ cpu: fc.double({ min: 0, max: 30, noNaN: true }), memory: fc.integer({ min: 0, max: 64 }).map((g) => g * Gi), pods: fc.integer({ min: 0, max: 12 }), storage: fc.integer({ min: 0, max: 20 }).map((g) => g * Gi) }),
});
const arbitraryGuests = fc.uniqueArray(arbitraryGuest, { selector: (g) => g.key, maxLength: 60 });

test('placement never takes a cell under its headroom, however many guests arrive', () => {
  fc.assert(
    fc.property(arbitraryCells, arbitraryGuests, (cells, guests) => {
      const { plan } = planFleet(cells, guests);
      for (const c of cells) {
        const usage = plan.usage.get(c.name) ?? emptyUsage();
        for (const resource of resourceNames) {
          if (resource === 'storage' && c.allocatable.storage === 0) continue;
          const keptFree = c.allocatable[resource] - usage.requested[resource];
          assert.ok(keptFree >= (c.allocatable[resource] * c.headroomPercent) / 100 - 1e-6, `${c.name} ${resource}: ${keptFree} free of ${c.allocatable[resource]}`);
        }
      }
    }),
  );
});

test('placement gives the same answer for the same inputs in any order', () => {
  fc.assert(
    fc.property(arbitraryCells, arbitraryGuests, fc.integer(), (cells, guests, seed) => {
      const shuffle = <T>(items: T[]) => items.map((item, i) => ({ item, k: (i * 7919 + seed) % 104729 })).sort((a, b) => a.k - b.k).map((e) => e.item);
      const first = planFleet(cells, guests).decisions;
      const second = planFleet(shuffle([...cells]), shuffle([...guests])).decisions;
      assert.deepEqual([...second.entries()].sort(), [...first.entries()].sort());
    }),
  );
});

test('a guest is placed only into an open, reachable cell of its region with the zones it spreads over', () => {
  fc.assert(
    fc.property(arbitraryCells, arbitraryGuest, (cells, demand) => {
      const decision = chooseCell(cells, new Map(), demand);
      if (!decision.placed) return;
      const chosen = cells.find((c) => c.name === decision.cell);
      assert.ok(chosen && chosen.region === demand.region && chosen.state === 'Open' && chosen.reachable);
      assert.ok(chosen.zones.length >= (demand.mode === 'Standard' ? 3 : 1));
    }),
  );
});

test('a guest too big for every cell is refused naming the resource and the largest free amount', () => {
  const cells = [cell('one'), cell('two', { allocatable: { cpu: 48, memory: 96 * Gi, pods: 500, storage: 0 } })];
  const decision = chooseCell(cells, new Map(), guest('huge', { requests: { cpu: 100, memory: Gi, pods: 4, storage: 0 } }));
  assert.equal(decision.placed, false);
  assert.ok(!decision.placed);
  assert.equal(decision.reason, 'NoFittingCell');
  assert.deepEqual(decision.resources, ['cpu']);
  // 96 CPU with 40% kept free: 57.6 placeable.
  assert.match(decision.message, /cpu: the guest needs 100 CPU, the most any open cell in local can give while keeping its headroom is 57\.6 CPU/);
});

test('a cordoned or draining cell takes no new guest; an open one does', () => {
  const cells = [cell('cordoned', { state: 'Cordoned' }), cell('draining', { state: 'Draining' }), cell('open')];
  for (let i = 0; i < 5; i++) {
    const decision = chooseCell(cells, new Map(), guest(`g${i}`));
    assert.ok(decision.placed && decision.cell === 'open');
  }
  const none = chooseCell(cells.slice(0, 2), new Map(), guest('x'));
  assert.ok(!none.placed);
  assert.match(none.message, /cell cordoned is Cordoned and takes no new guests; cell draining is Draining/);
});

test('guests spread: the cell left coolest wins, then the one with fewer guests, then the name', () => {
  const { decisions } = planFleet([cell('a'), cell('b')], [1, 2, 3, 4, 5, 6].map((i) => guest(`ns/g${i}`)));
  const counts = { a: 0, b: 0 };
  for (const decision of decisions.values()) if (decision.placed) counts[decision.cell as 'a' | 'b'] += 1;
  assert.deepEqual(counts, { a: 3, b: 3 });
});

test('a pinned cell is used only if it fits, and a missing one is named', () => {
  const cells = [cell('a'), cell('b', { state: 'Cordoned' })];
  assert.deepEqual(chooseCell(cells, new Map(), guest('g', { pinnedCell: 'a' })).placed, true);
  const cordoned = chooseCell(cells, new Map(), guest('g', { pinnedCell: 'b' }));
  assert.ok(!cordoned.placed && cordoned.reason === 'PinnedCellUnfit');
  const missing = chooseCell(cells, new Map(), guest('g', { pinnedCell: 'zz' }));
  assert.ok(!missing.placed && /spec.placement.cell names zz, which is not a Cell/.test(missing.message));
});

test('a Standard control plane needs three zones, or exactly the zones it asks for', () => {
  const twoZones = cell('two', { zones: ['zone-a', 'zone-b'] });
  const standard = fitsCell(twoZones, emptyUsage(), guest('g', { mode: 'Standard' }));
  assert.ok(!standard.fits && standard.reason === 'MissingZones');
  assert.ok(fitsCell(twoZones, emptyUsage(), guest('g', { mode: 'Standard', zones: ['zone-a', 'zone-b'] })).fits);
  const missing = fitsCell(twoZones, emptyUsage(), guest('g', { zones: ['zone-c'] }));
  assert.ok(!missing.fits && /has no zone zone-c/.test(missing.message));
});

test('a guest in a region without cells is told which regions exist', () => {
  const decision = chooseCell([cell('a')], new Map(), guest('g', { region: 'mars' }));
  assert.ok(!decision.placed && decision.reason === 'NoCellInRegion');
  assert.match(decision.message, /no Cell in region mars \(regions: local\)/);
});

test('guests already placed stay where they are and count against the cell', () => {
  const { plan, decisions } = planFleet([cell('a'), cell('b')], [{ ...guest('old'), cell: 'a', requests: { cpu: 50, memory: Gi, pods: 4, storage: 0 } }, guest('new')]);
  assert.equal(plan.cellOf('old'), 'a');
  const decision = decisions.get('new');
  assert.ok(decision?.placed && decision.cell === 'b');
});
