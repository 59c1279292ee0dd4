// A cell's capacity as placement sees it: the sum of its Ready Nodes' allocatable resources and
// their zones, unless the Cell's spec overrides them. Pure over the Node list.
import type { V1Node } from '@kubernetes/client-node';
import { DEFAULT_HEADROOM_PERCENT, type Cell } from '../../api/v1alpha1/cell.ts';
import { parseQuantity } from '../../plan/quantity.ts';
import type { Resources } from '../tiering/tiers.ts';
import type { CellCapacity } from './placement.ts';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export function nodeResources(nodes: readonly V1Node[]): { allocatable: Resources; zones: string[] } {
  const allocatable: Resources = { cpu: 0, memory: 0, pods: 0, storage: 0 };
  const zones = new Set<string>();
  for (const node of nodes) {
    if (!node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')) continue;
    if (node.spec?.unschedulable) continue;
    const values = node.status.allocatable ?? {};
    allocatable.cpu += parseQuantity(values['cpu'] ?? '0') ?? 0;
    allocatable.memory += parseQuantity(values['memory'] ?? '0') ?? 0;
    allocatable.pods += parseQuantity(values['pods'] ?? '0') ?? 0;
    allocatable.storage += parseQuantity(values['ephemeral-storage'] ?? '0') ?? 0;
    const zone = node.metadata?.labels?.[ZONE_LABEL];
    if (zone) zones.add(zone);
  }
  return { allocatable, zones: [...zones].sort() };
}

/** Whether the Cell's spec says everything placement needs, so its Nodes need not be read. */
export function capacityFullyGiven(cell: Cell): boolean {
  const capacity = cell.spec.capacity;
  return Boolean(capacity?.cpu && capacity.memory && capacity.pods && cell.spec.zones?.length);
}

export function cellCapacity(cell: Cell, observed: { allocatable: Resources; zones: string[] } | undefined, reachable: boolean): CellCapacity {
  const given = cell.spec.capacity ?? {};
  const amount = (value: string | undefined, fallback: number) => (value === undefined ? fallback : (parseQuantity(value) ?? fallback));
  const allocatable = observed?.allocatable ?? { cpu: 0, memory: 0, pods: 0, storage: 0 };
  return {
    name: cell.metadata.name,
    region: cell.spec.region,
    zones: cell.spec.zones?.length ? [...cell.spec.zones] : (observed?.zones ?? []),
    state: cell.spec.state ?? 'Open',
    reachable,
    headroomPercent: cell.spec.headroomPercent ?? DEFAULT_HEADROOM_PERCENT,
    allocatable: {
      cpu: amount(given.cpu, allocatable.cpu),
      memory: amount(given.memory, allocatable.memory),
      pods: amount(given.pods, allocatable.pods),
      storage: amount(given.storage, allocatable.storage),
    },
  };
}
