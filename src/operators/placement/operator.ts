// The fleet operator in the global cluster: the Cell, placement and profile controllers over
// shared informers. It runs next to the Cluster operator (locally in `tessera up`, on a real
// global cluster from deploy/); nothing here knows which.
import type { Cell } from '../../api/v1alpha1/cell.ts';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import type { ClusterProfile } from '../../api/v1alpha1/cluster-profile.ts';
import type { TierPolicy } from '../../api/v1alpha1/tier-policy.ts';
import { Controller } from '../../controller/controller.ts';
import { EventRecorder } from '../../controller/events.ts';
import { SharedInformers, objectKey } from '../../controller/informer.ts';
import type { Logger } from '../../controller/logger.ts';
import type { ControllerMetrics } from '../../controller/metrics.ts';
import type { RestClient } from '../../controller/rest-client.ts';
import { CellConnections } from './cell-connections.ts';
import { CellReconciler } from './cell-controller.ts';
import { FleetState } from './fleet-state.ts';
import { PlacementReconciler } from './placement-controller.ts';
import { byProfileIndex, ProfileReconciler, profileOf } from './profile-controller.ts';

export type FleetOperatorOptions = {
  client: RestClient;
  logger: Logger;
  /** The process's shared informers; absent: this operator's own. */
  informers?: SharedInformers;
  metrics?: ControllerMetrics;
  workers?: number;
  /** How often each Cell's Nodes are read again; default 30 s. */
  cellResyncMs?: number;
};

export class FleetOperator {
  readonly state: FleetState;
  readonly cells: Controller;
  readonly placement: Controller;
  readonly profiles: Controller;
  readonly cellReconciler: CellReconciler;
  readonly placementReconciler: PlacementReconciler;

  constructor(options: FleetOperatorOptions) {
    const { client, logger } = options;
    const onError = (error: unknown) => logger.warn('informer error', { error: (error as Error).message });
    const informers = options.informers ?? new SharedInformers(client);
    const caches = {
      cells: informers.informer<Cell>('/apis/tessera.dev/v1alpha1/cells', { onError }),
      clusters: informers.informer<Cluster>('/apis/tessera.dev/v1alpha1/clusters', { onError }),
      profiles: informers.informer<ClusterProfile>('/apis/tessera.dev/v1alpha1/clusterprofiles', { onError }),
      tierPolicies: informers.informer<TierPolicy>('/apis/tessera.dev/v1alpha1/tierpolicies', { onError }),
    };
    const events = new EventRecorder(client, 'tessera-placement-controller', undefined, onError);
    // Declared before use by the handlers below; assigned right after.
    const placement = new Controller({ name: 'placement', reconcile: (key) => placementReconciler.reconcile(key), workers: options.workers ?? 4, metrics: options.metrics, logger });
    const connections = new CellConnections({ global: client, onCopyEvent: (key) => placement.enqueue(key), logger });
    this.state = new FleetState({ client, caches, events, logger: logger.child({ controller: 'placement' }), connections });
    const state = this.state;
    const cells = new Controller({ name: 'cell', reconcile: (key) => cellReconciler.reconcile(key), workers: 2, metrics: options.metrics, logger });
    const unplaced = () => {
      for (const cluster of caches.clusters.list()) if (cluster.spec.placement && !cluster.status?.cell) placement.enqueue(objectKey(cluster));
    };
    const cellReconciler = new CellReconciler({ state, resyncMs: options.cellResyncMs, onCapacityChange: unplaced });
    const placementReconciler = new PlacementReconciler({ state, onPlaced: (cell) => cells.enqueue(cell) });
    const profileReconciler = new ProfileReconciler({ client, clusters: caches.clusters, profiles: caches.profiles, events });
    const profiles = new Controller({ name: 'profile', reconcile: (key) => profileReconciler.reconcile(key), workers: 2, metrics: options.metrics, logger });

    // The plan follows the cache: usage per cell is right before any decision is made.
    caches.clusters.on(({ type, object }) => {
      const key = objectKey(object);
      const cell = state.track(key, type === 'delete' ? undefined : object);
      if (cell !== undefined) cells.enqueue(cell);
      // A guest gone or shrunk may make room for one that did not fit.
      if (type === 'delete') unplaced();
    });
    caches.clusters.addIndexer(byProfileIndex, profileOf);
    cells.watch(caches.cells);
    placement.watch(caches.clusters, (cluster) => (cluster.spec.placement ? [objectKey(cluster)] : []));
    placement.watch(caches.tierPolicies, () => caches.clusters.list().filter((cluster) => cluster.spec.placement).map(objectKey));
    placement.watch(caches.cells, () => []);
    placement.watch(caches.profiles, () => []);
    profiles.watch(caches.clusters, (cluster) => (cluster.spec.profile ? [`cluster:${objectKey(cluster)}`, `profile:${cluster.spec.profile}`] : []));
    profiles.watch(caches.profiles, (profile) => [`profile:${profile.metadata.name}`, ...caches.clusters.byIndex(byProfileIndex, profile.metadata.name).map((cluster) => `cluster:${objectKey(cluster)}`)]);
    this.cells = cells;
    this.placement = placement;
    this.profiles = profiles;
    this.cellReconciler = cellReconciler;
    this.placementReconciler = placementReconciler;
  }

  async start(): Promise<void> {
    await Promise.all([this.cells.start(), this.placement.start(), this.profiles.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.cells.stop(), this.placement.stop(), this.profiles.stop()]);
    await this.state.connections.stop();
    await Promise.all(Object.values(this.state.caches).map((informer: { stop(): Promise<void> }) => informer.stop()));
  }
}
