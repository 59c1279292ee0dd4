// What the fleet controllers share: the global cluster's caches, the plan (usage per cell), the
// cells' observed capacities and the connections to remote cells. The plan is kept in step with
// the Cluster cache by informer handlers, so every decision sees every guest already placed.
import type { Cell } from '../../api/v1alpha1/cell.ts';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import type { ClusterProfile } from '../../api/v1alpha1/cluster-profile.ts';
import { defaultTierPolicySpec, TIER_POLICY_NAME, type TierPolicy, type TierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';
import type { EventRecorder } from '../../controller/events.ts';
import type { Informer } from '../../controller/informer.ts';
import type { Logger } from '../../controller/logger.ts';
import type { RestClient } from '../../controller/rest-client.ts';
import type { CellConnections } from './cell-connections.ts';
import { FleetPlan } from './fleet-plan.ts';
import type { CellCapacity, GuestDemand } from './placement.ts';
import { effectiveClusterSpec } from './profile.ts';
import { currentTier, guestRequests } from '../tiering/tiers.ts';

export type FleetCaches = {
  cells: Informer<Cell>;
  clusters: Informer<Cluster>;
  profiles: Informer<ClusterProfile>;
  tierPolicies: Informer<TierPolicy>;
};

export class FleetState {
  readonly client: RestClient;
  readonly caches: FleetCaches;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly connections: CellConnections;
  readonly plan = new FleetPlan([]);
  readonly capacities = new Map<string, CellCapacity>();

  constructor(options: { client: RestClient; caches: FleetCaches; events: EventRecorder; logger: Logger; connections: CellConnections }) {
    this.client = options.client;
    this.caches = options.caches;
    this.events = options.events;
    this.logger = options.logger;
    this.connections = options.connections;
  }

  tierPolicy(): TierPolicySpec {
    return this.caches.tierPolicies.get(TIER_POLICY_NAME)?.spec ?? defaultTierPolicySpec;
  }

  /** The guest's demand on a cell, or undefined while its profile is not applied. */
  demandOf(key: string, cluster: Cluster): GuestDemand | undefined {
    const placement = cluster.spec.placement;
    if (!placement) return undefined;
    const effective = effectiveClusterSpec(cluster);
    if (!effective.ready) return undefined;
    const policy = this.tierPolicy();
    const mode = effective.spec.mode ?? 'Standard';
    const tier = currentTier({ spec: effective.spec, status: cluster.status }, policy);
    return {
      key,
      region: placement.region,
      ...(placement.cell !== undefined ? { pinnedCell: placement.cell } : {}),
      ...(placement.zones ? { zones: placement.zones } : {}),
      mode,
      requests: guestRequests(tier, mode),
    };
  }

  /**
   * Keeps the plan's usage in step with a cached Cluster (called from informer handlers). A
   * Cluster seen without status.cell does not release its place: the event may be older than a
   * decision just made (a finalizer or profile write racing the placement write), and status.cell
   * is never cleared once set. Only deletion releases.
   */
  track(key: string, cluster: Cluster | undefined): string | undefined {
    const previous = this.plan.cellOf(key);
    if (!cluster) {
      this.plan.release(key);
      return previous;
    }
    const cell = cluster.status?.cell;
    const demand = cell ? this.demandOf(key, cluster) : undefined;
    if (cell && demand) this.plan.assign(key, cell, demand.requests);
    return cell ?? previous;
  }

  setCapacity(capacity: CellCapacity | undefined, name: string): void {
    if (capacity) this.capacities.set(name, capacity);
    else this.capacities.delete(name);
    this.plan.setCells([...this.capacities.values()]);
  }

  isRemote(cellName: string): boolean {
    return Boolean(this.caches.cells.get(cellName)?.spec.kubeconfigSecretRef);
  }
}
