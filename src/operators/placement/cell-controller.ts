// The Cell reconciler: reads a cell's capacity (its Nodes, or the Cell's spec), connects to it,
// and reports capacity, what its guests request, the share still free, the guest count and
// whether it takes new guests. Runs again every resyncMs to notice Nodes coming and going.
import type { V1Node } from '@kubernetes/client-node';
import { cellResource, type CellStatus } from '../../api/v1alpha1/cell.ts';
import { setCondition, type Condition, type ConditionUpdate } from '../../controller/conditions.ts';
import type { ReconcileResult } from '../../controller/controller.ts';
import { resourcePath } from '../../controller/rest-client.ts';
import { applyStatus } from '../../controller/status.ts';
import type { Resources } from '../tiering/tiers.ts';
import { capacityFullyGiven, cellCapacity, nodeResources } from './cell-capacity.ts';
import type { FleetState } from './fleet-state.ts';
import { emptyUsage, freeShare, placeableAmount } from './placement.ts';
import { CellCondition, CellReason, FieldManager } from './status.ts';

export const cellPath = (name: string) => resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'cells', name });

function quantities(resources: Resources): NonNullable<CellStatus['capacity']> {
  return {
    cpu: `${Math.round(resources.cpu * 1000)}m`,
    memory: `${Math.round(resources.memory / 2 ** 20)}Mi`,
    pods: String(Math.round(resources.pods)),
    ...(resources.storage > 0 ? { storage: `${Math.round(resources.storage / 2 ** 20)}Mi` } : {}),
  };
}

export class CellReconciler {
  private readonly state: FleetState;
  private readonly resyncMs: number;
  private readonly onCapacityChange: (cell: string) => void;
  private readonly now: () => number;

  constructor(options: { state: FleetState; resyncMs?: number; onCapacityChange: (cell: string) => void; now?: () => number }) {
    this.state = options.state;
    this.resyncMs = options.resyncMs ?? 30_000;
    this.onCapacityChange = options.onCapacityChange;
    this.now = options.now ?? Date.now;
  }

  async reconcile(name: string): Promise<ReconcileResult | void> {
    const { state } = this;
    const cell = state.caches.cells.get(name);
    if (!cell || cell.metadata.deletionTimestamp) {
      await state.connections.disconnect(name);
      state.setCapacity(undefined, name);
      this.onCapacityChange(name);
      return;
    }
    const conditions: ConditionUpdate[] = [];
    let reachable = false;
    let observed: ReturnType<typeof nodeResources> | undefined;
    try {
      const client = cell.spec.kubeconfigSecretRef ? (await state.connections.connect(cell)).client : state.client;
      if (capacityFullyGiven(cell)) await client.get('/version');
      else observed = nodeResources((await client.get<{ items: V1Node[] }>('/api/v1/nodes')).items);
      reachable = true;
      conditions.push({ type: CellCondition.Reachable, status: 'True', reason: CellReason.APIAnswers, message: cell.spec.kubeconfigSecretRef ? 'the cell\'s API server answers' : 'the cell is the global cluster itself' });
    } catch (error) {
      const missing = /Secret|kubeconfig/.test((error as Error).message);
      conditions.push({ type: CellCondition.Reachable, status: 'False', reason: missing ? CellReason.KubeconfigMissing : CellReason.Unreachable, message: (error as Error).message });
    }
    const previous = state.capacities.get(name);
    // An unreachable cell keeps its last known size: its guests still use it; it only takes no new ones.
    const capacity = cellCapacity(cell, observed ?? (previous ? { allocatable: previous.allocatable, zones: previous.zones } : undefined), reachable);
    state.setCapacity(capacity, name);
    if (JSON.stringify(previous) !== JSON.stringify(capacity)) this.onCapacityChange(name);

    const usage = state.plan.usage.get(name) ?? emptyUsage();
    const free = Math.max(0, Math.floor(freeShare(capacity, usage.requested) * 100));
    const smallest = state.tierPolicy().tiers[0];
    const roomLeft = smallest !== undefined && placeableAmount(capacity, usage, 'cpu') > 0 && placeableAmount(capacity, usage, 'pods') >= 4;
    const stateName = capacity.state;
    conditions.push(
      stateName !== 'Open'
        ? { type: CellCondition.Schedulable, status: 'False', reason: stateName === 'Cordoned' ? CellReason.Cordoned : CellReason.Draining, message: stateName === 'Cordoned' ? 'spec.state is Cordoned: no new guests' : 'spec.state is Draining: no new guests; its guests are marked for migration, which is not implemented yet' }
        : !reachable
          ? { type: CellCondition.Schedulable, status: 'False', reason: CellReason.Unreachable, message: 'the cell is not reachable: no new guests until it answers' }
          : !roomLeft
            ? { type: CellCondition.Schedulable, status: 'False', reason: CellReason.Full, message: `less than the smallest tier is left above the ${capacity.headroomPercent}% headroom` }
            : { type: CellCondition.Schedulable, status: 'True', reason: CellReason.Open, message: `${free}% of the tightest resource is free; ${capacity.headroomPercent}% is kept` },
    );
    let list: Condition[] = cell.status?.conditions ?? [];
    for (const condition of conditions) list = setCondition(list, condition, cell.metadata.generation, this.now());
    const status: CellStatus = {
      conditions: list,
      observedGeneration: cell.metadata.generation ?? 0,
      zones: capacity.zones,
      capacity: quantities(capacity.allocatable),
      requested: quantities(usage.requested),
      freePercent: free,
      guests: usage.guests,
    };
    await applyStatus(state.client, { path: cellPath(name), apiVersion: cellResource.apiVersion, kind: cellResource.kind, current: cell, status, fieldManager: FieldManager.cell });
    return { requeueAfter: this.resyncMs };
  }
}
