// Which Machines go in which step, and which may start now. Pure: the rollout's safety rules as
// functions whose tests read like the runbook (research section c: a canary, then cumulative
// waves; at most maxUnavailable out of service at once, never more than one zone at a time).
import type { CountOrPercent } from '../../api/v1alpha1/package-rollout.ts';

export type PlannedMachine = { name: string; zone: string };

/** "10%" of `total`, or a count; percentages round up for step sizes and down for budgets. */
export function resolveCount(value: CountOrPercent, total: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value;
  const percent = /^([0-9]{1,3})%$/.exec(value);
  if (!percent) {
    if (/^[0-9]+$/.test(value)) return Number(value);
    throw new Error(`"${value}" is neither a count nor a percentage such as "10%"`);
  }
  const exact = (Number(percent[1]) * total) / 100;
  return round === 'up' ? Math.ceil(exact) : Math.floor(exact);
}

/** How many selected Machines may be out of service at once: a percentage rounds down, never below 1. */
export function maxUnavailableCount(value: CountOrPercent, total: number): number {
  return Math.max(1, resolveCount(value, total, 'down'));
}

/**
 * Plan order: zones in name order taken in turn (zone-a's first, zone-b's first, zone-a's second,
 * ...), names in order within a zone, so early steps sample every zone.
 */
export function planOrder(machines: readonly PlannedMachine[]): PlannedMachine[] {
  const zones = new Map<string, PlannedMachine[]>();
  for (const machine of [...machines].sort((a, b) => a.name.localeCompare(b.name))) {
    const list = zones.get(machine.zone) ?? [];
    list.push(machine);
    zones.set(machine.zone, list);
  }
  const queues = [...zones.keys()].sort().map((zone) => zones.get(zone) ?? []);
  const ordered: PlannedMachine[] = [];
  for (let index = 0; ordered.length < machines.length; index++) {
    for (const queue of queues) {
      const next = queue[index];
      if (next) ordered.push(next);
    }
  }
  return ordered;
}

/**
 * The steps: the canary (at least 1 Machine), then each wave up to its cumulative size (each adds at
 * least one Machine; waves that add none are dropped), the last always reaching every Machine.
 */
export function planSteps(machines: readonly PlannedMachine[], canary: CountOrPercent, waves: readonly CountOrPercent[]): PlannedMachine[][] {
  const total = machines.length;
  if (total === 0) return [];
  const ordered = planOrder(machines);
  const sizes: number[] = [Math.min(total, Math.max(1, resolveCount(canary, total, 'up')))];
  for (const wave of [...waves, '100%']) {
    const previous = sizes[sizes.length - 1] ?? 0;
    if (previous >= total) break;
    const target = Math.min(total, resolveCount(wave, total, 'up'));
    if (target > previous) sizes.push(target);
  }
  return sizes.map((size, index) => ordered.slice(index === 0 ? 0 : (sizes[index - 1] ?? 0), size));
}

export type BatchNode = {
  name: string;
  zone: string;
  step: number;
  /** Pending: not started. InFlight: out of service for the rollout (cordoned, upgrading, not yet passing). Done: started and passing, or finished. */
  progress: 'Pending' | 'InFlight' | 'Done';
  /** Its Node is NotReady or cordoned by someone else (counts against the budget). */
  unavailable: boolean;
};

export type Batch = { start: string[]; zone?: string; reason: string };

/**
 * Which Pending Machines of `step` start now: at most `maxUnavailable` out of service at once
 * (Machines in flight plus other unavailable ones), all in one zone (the zone already in flight,
 * else the zone of the first Pending Machine in plan order). `nodes` is in plan order.
 */
export function selectBatch(nodes: readonly BatchNode[], step: number, maxUnavailable: number): Batch {
  const inFlight = nodes.filter((node) => node.progress === 'InFlight');
  const unavailableOthers = nodes.filter((node) => node.progress !== 'InFlight' && node.unavailable).length;
  const room = maxUnavailable - inFlight.length - unavailableOthers;
  const pending = nodes.filter((node) => node.step === step && node.progress === 'Pending' && !node.unavailable);
  if (pending.length === 0) return { start: [], reason: 'nothing left to start in this step' };
  if (room <= 0) return { start: [], reason: `${inFlight.length} in flight and ${unavailableOthers} unavailable of at most ${maxUnavailable}` };
  const zone = inFlight[0]?.zone ?? pending[0]?.zone ?? '';
  const start = pending.filter((node) => node.zone === zone).slice(0, room).map((node) => node.name);
  return start.length > 0 ? { start, zone, reason: `${start.length} of at most ${room} more in zone ${zone || '(none)'}` } : { start: [], zone, reason: `waiting for zone ${zone} to finish before another zone starts` };
}
