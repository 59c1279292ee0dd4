// The fleet as the placement controller sees it: cells, what each placed guest requests, and the
// usage per cell kept up to date as guests come, go and change tier, so placing one guest costs
// one pass over the cells, not over the fleet. planFleet() is the full re-plan.
import { chooseCell, emptyUsage, type CellCapacity, type CellUsage, type GuestDemand, type PlacementDecision } from './placement.ts';
import { resourceNames, type Resources } from '../tiering/tiers.ts';

export type FleetGuest = GuestDemand & { /** status.cell: where it already runs. */ cell?: string };

export class FleetPlan {
  readonly usage = new Map<string, CellUsage>();
  private readonly assignments = new Map<string, { cell: string; requests: Resources }>();
  private cells: CellCapacity[];

  constructor(cells: readonly CellCapacity[]) {
    this.cells = [...cells].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  setCells(cells: readonly CellCapacity[]): void {
    this.cells = [...cells].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  cellOf(key: string): string | undefined {
    return this.assignments.get(key)?.cell;
  }

  /** Records a guest where it runs, whether or not it would fit there now: placed guests are never moved by planning. */
  assign(key: string, cell: string, requests: Resources): void {
    this.release(key);
    const usage = this.usage.get(cell) ?? emptyUsage();
    for (const resource of resourceNames) usage.requested[resource] += requests[resource];
    usage.guests += 1;
    this.usage.set(cell, usage);
    this.assignments.set(key, { cell, requests: { ...requests } });
  }

  release(key: string): void {
    const previous = this.assignments.get(key);
    if (!previous) return;
    const usage = this.usage.get(previous.cell);
    if (usage) {
      for (const resource of resourceNames) usage.requested[resource] -= previous.requests[resource];
      usage.guests -= 1;
    }
    this.assignments.delete(key);
  }

  /** Places a guest that has no cell yet; records it when placed. */
  place(demand: GuestDemand): PlacementDecision {
    const decision = chooseCell(this.cells, this.usage, demand);
    if (decision.placed) this.assign(demand.key, decision.cell, demand.requests);
    return decision;
  }
}

/**
 * The full plan: guests that already run somewhere stay there (and count), then every other
 * guest is placed in key order, so the result does not depend on the input order.
 */
export function planFleet(cells: readonly CellCapacity[], guests: readonly FleetGuest[]): { plan: FleetPlan; decisions: Map<string, PlacementDecision> } {
  const plan = new FleetPlan(cells);
  const decisions = new Map<string, PlacementDecision>();
  const sorted = [...guests].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const guest of sorted) if (guest.cell !== undefined) plan.assign(guest.key, guest.cell, guest.requests);
  for (const guest of sorted) if (guest.cell === undefined) decisions.set(guest.key, plan.place(guest));
  return { plan, decisions };
}
