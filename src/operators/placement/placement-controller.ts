// The placement reconciler for fleet Clusters (spec.placement set) in the global cluster:
// wait for the profile, place the guest into one cell (status.cell, condition Placed, an Event),
// copy it into a remote cell and its status and admin kubeconfig back, and on deletion delete
// the copy first. A guest placed once stays in its cell: planning never moves a running guest.
import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { clusterResource, type Cluster, type ClusterStatus } from '../../api/v1alpha1/cluster.ts';
import { findCondition, setCondition, type ConditionUpdate } from '../../controller/conditions.ts';
import type { ReconcileResult } from '../../controller/controller.ts';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../../controller/finalizers.ts';
import { splitObjectKey } from '../../controller/informer.ts';
import { isAlreadyExists, isNotFound, resourcePath, type RestClient } from '../../controller/rest-client.ts';
import { applyStatus } from '../../controller/status.ts';
import { renderCellCopy, statusFromCopy } from './cell-copy.ts';
import type { FleetState } from './fleet-state.ts';
import { effectiveClusterSpec } from './profile.ts';
import { FieldManager, FleetAnnotation, FleetLabel, PLACEMENT_FINALIZER, PlacementCondition, PlacementReason } from './status.ts';

export const clusterPath = (namespace: string, name: string) => resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace, name });
const SPEC_HASH_ANNOTATION = 'tessera.dev/spec-hash';

export class PlacementReconciler {
  private readonly state: FleetState;
  private readonly onPlaced: (cell: string) => void;
  private readonly now: () => number;

  constructor(options: { state: FleetState; onPlaced: (cell: string) => void; now?: () => number }) {
    this.state = options.state;
    this.onPlaced = options.onPlaced;
    this.now = options.now ?? Date.now;
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { state } = this;
    let cluster = state.caches.clusters.get(key);
    if (!cluster?.spec.placement) return;
    const { namespace = 'default', name } = splitObjectKey(key);
    const path = clusterPath(namespace, name);
    const cellName = cluster.status?.cell;

    if (cluster.metadata.deletionTimestamp) return this.delete(key, cluster, path);
    // The finalizer first, so a guest is never copied anywhere its deletion could miss; the pass goes on with the patched object.
    if (!hasFinalizer(cluster, PLACEMENT_FINALIZER)) cluster = await addFinalizer(state.client, path, cluster, PLACEMENT_FINALIZER);

    const effective = effectiveClusterSpec(cluster);
    if (!effective.ready) {
      await this.writePlacement(cluster, path, cellName, { type: PlacementCondition.Placed, status: 'Unknown', reason: PlacementReason.ProfileNotApplied, message: effective.message });
      return;
    }

    if (cellName === undefined) {
      // Our own decision, written but not yet back through the watch: deciding again on the stale
      // cache could place the guest twice. Its update event brings the next pass.
      if (state.plan.cellOf(key) !== undefined) return { requeueAfter: 1000 };
      // Decide only once every Cell's capacity is known, or a guest would be refused for a cell not yet read.
      if (state.caches.cells.list().some((cell) => !state.capacities.has(cell.metadata.name))) return { requeueAfter: 500 };
      const demand = state.demandOf(key, cluster);
      if (!demand) return;
      const decision = state.plan.place(demand);
      if (!decision.placed) {
        const changed = findCondition(cluster.status?.conditions, PlacementCondition.Placed)?.message !== decision.message;
        await this.writePlacement(cluster, path, undefined, { type: PlacementCondition.Placed, status: 'False', reason: decision.reason, message: decision.message });
        if (changed) state.events.warning(target(cluster), decision.reason, decision.message);
        return;
      }
      try {
        await this.writePlacement(cluster, path, decision.cell, { type: PlacementCondition.Placed, status: 'True', reason: decision.reason, message: decision.message });
      } catch (error) {
        state.plan.release(key);
        throw error;
      }
      state.events.normal(target(cluster), decision.reason, decision.message);
      this.onPlaced(decision.cell);
      return;
    }

    // Placed: keep the decision's words, unless the cell now drains.
    const cell = state.caches.cells.get(cellName);
    const placed = findCondition(cluster.status?.conditions, PlacementCondition.Placed);
    if (cell?.spec.state === 'Draining') {
      await this.writePlacement(cluster, path, cellName, { type: PlacementCondition.Placed, status: 'True', reason: PlacementReason.CellDraining, message: `cell ${cellName} is Draining: this guest is marked for migration, which Tessera does not do yet; it keeps running here` });
    } else if (placed?.status !== 'True' || placed.reason === PlacementReason.CellDraining) {
      await this.writePlacement(cluster, path, cellName, { type: PlacementCondition.Placed, status: 'True', reason: PlacementReason.Placed, message: `placed in cell ${cellName}` });
    } else if (placed.observedGeneration !== cluster.metadata.generation) {
      await this.writePlacement(cluster, path, cellName, { type: placed.type, status: placed.status, reason: placed.reason, message: placed.message });
    }
    if (!cell?.spec.kubeconfigSecretRef) return; // the global cluster itself: its own Cluster operator provisions the guest in place
    return this.syncWithCell(key, cluster, cellName, effective.spec);
  }

  private async writePlacement(cluster: Cluster, path: string, cell: string | undefined, condition: ConditionUpdate): Promise<void> {
    const conditions = setCondition(ownConditions(cluster, PlacementCondition.Placed), condition, cluster.metadata.generation, this.now());
    const status: ClusterStatus = { conditions, ...(cell !== undefined ? { cell } : {}) };
    await applyStatus(this.state.client, { path, apiVersion: clusterResource.apiVersion, kind: clusterResource.kind, current: cluster, status, fieldManager: FieldManager.placement });
  }

  private async syncWithCell(key: string, cluster: Cluster, cellName: string, effective: Cluster['spec']): Promise<ReconcileResult | void> {
    const { state } = this;
    const connection = state.connections.get(cellName);
    if (!connection?.synced) return { requeueAfter: 2000 };
    const namespace = cluster.metadata.namespace ?? 'default';
    const desired = renderCellCopy(cluster, effective);
    const hash = createHash('sha256').update(JSON.stringify(desired.spec)).digest('hex').slice(0, 16);
    desired.metadata.annotations = { ...desired.metadata.annotations, [SPEC_HASH_ANNOTATION]: hash };
    const copy = connection.copies.get(key);
    if (!copy || copy.metadata.annotations?.[SPEC_HASH_ANNOTATION] !== hash || copy.metadata.annotations[FleetAnnotation.globalGeneration] !== desired.metadata.annotations[FleetAnnotation.globalGeneration]) {
      await ensureNamespace(connection.client, namespace);
      await connection.client.apply(clusterPath(namespace, cluster.metadata.name), desired, FieldManager.placement, true);
      if (!copy) state.events.normal(target(cluster), 'CopiedToCell', `created in cell ${cellName}; the cell's Cluster operator provisions it`);
    }
    // Status back: everything the cell's operator says, under its own field manager.
    const status = statusFromCopy(copy, cluster.metadata.generation);
    if (status.observedGeneration === undefined && cluster.status?.observedGeneration !== undefined) status.observedGeneration = cluster.status.observedGeneration;
    await applyStatus(state.client, { path: clusterPath(namespace, cluster.metadata.name), apiVersion: clusterResource.apiVersion, kind: clusterResource.kind, current: cluster, status, fieldManager: FieldManager.cellSync });
    if (status.adminKubeconfigSecret) await this.copySecret(connection.client, namespace, status.adminKubeconfigSecret, cellName, cluster);
  }

  /** The admin kubeconfig Secret, copied from the cell when its source changed. */
  private async copySecret(cellClient: RestClient, namespace: string, name: string, cellName: string, cluster: Cluster): Promise<void> {
    const secretPath = resourcePath({ version: 'v1', resource: 'secrets', namespace, name });
    const source = await cellClient.get<V1Secret>(secretPath).catch((error: unknown) => (isNotFound(error) ? undefined : Promise.reject(error)));
    if (!source) return;
    const sourceVersion = source.metadata?.resourceVersion ?? '';
    const copied = await this.state.client.get<V1Secret>(secretPath).catch((error: unknown) => (isNotFound(error) ? undefined : Promise.reject(error)));
    if (copied?.metadata?.annotations?.[FleetAnnotation.sourceResourceVersion] === sourceVersion) return;
    await this.state.client.apply(
      secretPath,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name,
          namespace,
          labels: { [FleetLabel.copiedFromCell]: cellName, [FleetLabel.globalUid]: cluster.metadata.uid ?? '' },
          annotations: { [FleetAnnotation.sourceResourceVersion]: sourceVersion },
          ownerReferences: [{ apiVersion: clusterResource.apiVersion, kind: 'Cluster', name: cluster.metadata.name, uid: cluster.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
        },
        type: source.type,
        data: source.data,
      },
      FieldManager.cellSync,
      true,
    );
  }

  private async delete(key: string, cluster: Cluster, path: string): Promise<ReconcileResult | void> {
    const { state } = this;
    const cellName = cluster.status?.cell;
    if (cellName !== undefined && state.isRemote(cellName)) {
      const connection = state.connections.get(cellName);
      if (!connection?.synced) return { requeueAfter: 2000 };
      if (connection.copies.get(key)) {
        const namespace = cluster.metadata.namespace ?? 'default';
        await connection.client.delete(clusterPath(namespace, cluster.metadata.name)).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        state.events.normal(target(cluster), 'DeletingInCell', `deleting the guest in cell ${cellName}; the finalizer is removed once it is gone there`);
        return; // the copy's delete event brings the next pass
      }
    }
    state.plan.release(key);
    await removeFinalizer(state.client, path, cluster, PLACEMENT_FINALIZER);
    if (cellName !== undefined) this.onPlaced(cellName);
  }
}

function ownConditions(cluster: Cluster, type: string) {
  return (cluster.status?.conditions ?? []).filter((condition) => condition.type === type);
}

function target(cluster: Cluster) {
  return { apiVersion: clusterResource.apiVersion, kind: 'Cluster', name: cluster.metadata.name, namespace: cluster.metadata.namespace ?? 'default', uid: cluster.metadata.uid ?? '' };
}

async function ensureNamespace(client: RestClient, namespace: string): Promise<void> {
  await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }).catch((error: unknown) => {
    if (!isAlreadyExists(error)) throw error;
  });
}
