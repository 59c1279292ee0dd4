// Which cell a guest goes to (seed 004: one cell is a failure and capacity boundary, and no cell
// may run hot). Pure and deterministic: the same cells, guests and usage always give the same
// answer, whatever order they came in.
//
// A cell fits a guest when: its region is the guest's; it is Open and reachable; it has the zones
// the control plane must spread over (the guest's spec.placement.zones, else 3 for Standard, 1 for
// Minimal); and after adding the guest's tier requests every resource (CPU, memory, pods, and
// storage where the cell reports it) still has headroomPercent of its allocatable free.
// Among fitting cells the score is: the largest smallest-free-share after placing (the cell left
// coolest), then the fewest guests, then the name.
import { resourceNames, type ResourceName, type Resources } from '../tiering/tiers.ts';

export type CellCapacity = {
  name: string;
  region: string;
  zones: string[];
  state: 'Open' | 'Cordoned' | 'Draining';
  reachable: boolean;
  headroomPercent: number;
  /** Storage 0 means the cell does not report it; it is then not counted. */
  allocatable: Resources;
};

export type GuestDemand = {
  key: string;
  region: string;
  /** spec.placement.cell */
  pinnedCell?: string;
  /** spec.placement.zones */
  zones?: string[];
  mode: 'Standard' | 'Minimal';
  requests: Resources;
};

export type CellUsage = { requested: Resources; guests: number };

export type CellFit = { fits: true; freeShareAfter: number } | { fits: false; reason: 'RegionMismatch' | 'NotOpen' | 'Unreachable' | 'MissingZones' | 'InsufficientResources'; message: string; resources?: ResourceName[] };

export type PlacementDecision =
  | { placed: true; cell: string; reason: 'Placed' | 'Pinned'; message: string }
  | { placed: false; reason: 'NoCellInRegion' | 'NoFittingCell' | 'PinnedCellUnfit' | 'PinnedCellMissing'; message: string; resources?: ResourceName[] };

export const emptyResources = (): Resources => ({ cpu: 0, memory: 0, pods: 0, storage: 0 });
export const emptyUsage = (): CellUsage => ({ requested: emptyResources(), guests: 0 });

export function formatAmount(resource: ResourceName, value: number): string {
  if (resource === 'cpu') return `${Math.round(value * 1000) / 1000} CPU`;
  if (resource === 'pods') return `${Math.floor(value)} pods`;
  const gib = value / 2 ** 30;
  return `${Math.round(gib * 100) / 100}Gi ${resource === 'memory' ? 'memory' : 'etcd volume'}`;
}

const countsStorage = (cell: CellCapacity) => cell.allocatable.storage > 0;

/** How much of `resource` the cell can still give a new guest while keeping its headroom. */
export function placeableAmount(cell: CellCapacity, usage: CellUsage, resource: ResourceName): number {
  if (resource === 'storage' && !countsStorage(cell)) return Number.POSITIVE_INFINITY;
  const allocatable = cell.allocatable[resource];
  return Math.max(0, allocatable * (1 - cell.headroomPercent / 100) - usage.requested[resource]);
}

/** The smallest share of any counted resource that is free, 0..1. */
export function freeShare(cell: CellCapacity, requested: Resources): number {
  let smallest = 1;
  for (const resource of resourceNames) {
    if (resource === 'storage' && !countsStorage(cell)) continue;
    const allocatable = cell.allocatable[resource];
    const share = allocatable > 0 ? (allocatable - requested[resource]) / allocatable : 0;
    smallest = Math.min(smallest, share);
  }
  return smallest;
}

export function zonesNeeded(demand: Pick<GuestDemand, 'zones' | 'mode'>): number {
  return demand.zones?.length ?? (demand.mode === 'Standard' ? 3 : 1);
}

export function fitsCell(cell: CellCapacity, usage: CellUsage, demand: GuestDemand): CellFit {
  if (cell.region !== demand.region) return { fits: false, reason: 'RegionMismatch', message: `cell ${cell.name} is in region ${cell.region}, not ${demand.region}` };
  if (cell.state !== 'Open') return { fits: false, reason: 'NotOpen', message: `cell ${cell.name} is ${cell.state} and takes no new guests` };
  if (!cell.reachable) return { fits: false, reason: 'Unreachable', message: `cell ${cell.name} is not reachable` };
  if (demand.zones) {
    const missing = demand.zones.filter((zone) => !cell.zones.includes(zone));
    if (missing.length) return { fits: false, reason: 'MissingZones', message: `cell ${cell.name} has no zone ${missing.join(', ')} (it has ${cell.zones.join(', ') || 'none'})` };
  } else if (cell.zones.length < zonesNeeded(demand)) {
    return { fits: false, reason: 'MissingZones', message: `cell ${cell.name} has ${cell.zones.length} zone(s); a ${demand.mode} control plane spreads over ${zonesNeeded(demand)}` };
  }
  const short = resourceNames.filter((resource) => demand.requests[resource] > placeableAmount(cell, usage, resource));
  if (short.length) {
    const detail = short.map((resource) => `${resource} needs ${formatAmount(resource, demand.requests[resource])}, ${formatAmount(resource, placeableAmount(cell, usage, resource))} placeable`).join('; ');
    return { fits: false, reason: 'InsufficientResources', message: `cell ${cell.name} would go under its ${cell.headroomPercent}% headroom: ${detail}`, resources: short };
  }
  const after = { ...usage.requested };
  for (const resource of resourceNames) after[resource] += demand.requests[resource];
  return { fits: true, freeShareAfter: freeShare(cell, after) };
}

/**
 * The cell for a guest, or why none fits. `usage` is what is already placed per cell (a cell
 * missing from it is empty).
 */
export function chooseCell(cells: readonly CellCapacity[], usage: ReadonlyMap<string, CellUsage>, demand: GuestDemand): PlacementDecision {
  const usageOf = (cell: CellCapacity) => usage.get(cell.name) ?? emptyUsage();
  if (demand.pinnedCell !== undefined) {
    const cell = cells.find((candidate) => candidate.name === demand.pinnedCell);
    if (!cell) return { placed: false, reason: 'PinnedCellMissing', message: `spec.placement.cell names ${demand.pinnedCell}, which is not a Cell: create it or remove the pin` };
    const fit = fitsCell(cell, usageOf(cell), demand);
    if (!fit.fits) return { placed: false, reason: 'PinnedCellUnfit', message: `pinned ${fit.message}`, ...(fit.resources ? { resources: fit.resources } : {}) };
    return { placed: true, cell: cell.name, reason: 'Pinned', message: `pinned to cell ${cell.name} by spec.placement.cell; ${Math.round(fit.freeShareAfter * 100)}% stays free` };
  }
  const inRegion = cells.filter((cell) => cell.region === demand.region);
  if (!inRegion.length) {
    const regions = [...new Set(cells.map((cell) => cell.region))].sort();
    return { placed: false, reason: 'NoCellInRegion', message: `no Cell in region ${demand.region} (regions: ${regions.join(', ') || 'none'}): set spec.placement.region to one of them or add a Cell` };
  }
  let best: { cell: CellCapacity; share: number; guests: number } | undefined;
  const refusals: string[] = [];
  for (const cell of inRegion) {
    const fit = fitsCell(cell, usageOf(cell), demand);
    if (!fit.fits) {
      refusals.push(fit.message);
      continue;
    }
    const guests = usageOf(cell).guests;
    if (!best || fit.freeShareAfter > best.share || (fit.freeShareAfter === best.share && (guests < best.guests || (guests === best.guests && cell.name < best.cell.name)))) {
      best = { cell, share: fit.freeShareAfter, guests };
    }
  }
  if (best) {
    return { placed: true, cell: best.cell.name, reason: 'Placed', message: `cell ${best.cell.name} fits and stays coolest: ${Math.round(best.share * 100)}% of its tightest resource stays free (${inRegion.length} cell(s) in region ${demand.region} considered)` };
  }
  // Name each resource no open cell can give, with the largest amount any of them could.
  const open = inRegion.filter((cell) => cell.state === 'Open' && cell.reachable);
  const short = resourceNames.filter((resource) => open.length > 0 && open.every((cell) => demand.requests[resource] > placeableAmount(cell, usageOf(cell), resource)));
  const largest = short.map((resource) => {
    const most = Math.max(...open.map((cell) => placeableAmount(cell, usageOf(cell), resource)));
    return `${resource}: the guest needs ${formatAmount(resource, demand.requests[resource])}, the most any open cell in ${demand.region} can give while keeping its headroom is ${formatAmount(resource, most)}`;
  });
  const message = largest.length ? `no cell fits: ${largest.join('; ')}; choose a smaller tier or add a Cell` : `no cell fits: ${refusals.join('; ')}`;
  return { placed: false, reason: 'NoFittingCell', message, ...(short.length ? { resources: short } : {}) };
}
