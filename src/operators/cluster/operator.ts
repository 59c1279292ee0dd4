// The Cluster operator process: shared informers over Clusters and the objects they own, one
// controller keyed by Cluster, the reconciler. It runs in-process with `tessera up` and as a
// Deployment (deploy/operator) on any real meta cluster; nothing here knows which.
import type { V1Pod, V1Service, V1Secret, V1PersistentVolumeClaim, V1Deployment } from '@kubernetes/client-node';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { Informer, SharedInformers, objectKey, withoutManagedFields, type KubeObject } from '../../controller/informer.ts';
import type { TierPolicy } from '../../api/v1alpha1/tier-policy.ts';
import type { Cell } from '../../api/v1alpha1/cell.ts';
import type { RestClient } from '../../controller/rest-client.ts';
import { Controller } from '../../controller/controller.ts';
import { EventRecorder } from '../../controller/events.ts';
import type { Logger } from '../../controller/logger.ts';
import type { ControllerMetrics } from '../../controller/metrics.ts';
import { serviceRangeReader } from './service-addresses.ts';
import { ClusterReconciler, byClusterIndex, clusterKeyOf, clusterUpdateMatters, type ClusterCaches } from './reconciler.ts';
import type { CacheReader } from './component.ts';
import { CLUSTER_LABEL } from './names.ts';

/**
 * Concurrent reconciles. A pass mostly waits on the network (API writes, a guest's /readyz), so
 * more workers than cores keep one slow or silent guest from holding up the others.
 */
export const DEFAULT_WORKERS = 16;

export type ClusterOperatorOptions = {
  client: RestClient;
  logger: Logger;
  metrics?: ControllerMetrics;
  workers?: number;
  metaClusterDomain?: string;
  /** Full resync of each guest's own objects; default DEFAULT_RESYNC_PERIOD_MS. */
  resyncPeriodMs?: number;
  /** The cell's egress proxy configuration for guest API servers (node-reachability.ts); absent: none. */
  egressSelectorConfigFile?: string;
  /** The process's shared informers (Clusters, Cells, the TierPolicy); absent: this operator's own. */
  informers?: SharedInformers;
};

type ClusterInformers = { [K in keyof ClusterCaches]-?: NonNullable<ClusterCaches[K]> extends CacheReader<infer T> ? Informer<T & KubeObject> : never };

/**
 * Changes of what a guest owns wake it this long after the first one: its pods and Deployments
 * change in bursts (created, scheduled, Ready, rolled out), each of which cost a whole pass.
 */
export const OWNED_CHANGES_BATCH_MS = 250;

export class ClusterOperator {
  readonly caches: ClusterInformers;
  readonly reconciler: ClusterReconciler;
  readonly controller: Controller;

  constructor(options: ClusterOperatorOptions) {
    const { client, logger } = options;
    const onError = (error: unknown) => logger.warn('informer error', { error: (error as Error).message });
    // Owned objects are compared field by field and never asked who owns a field: their
    // managedFields (as large as the rest of an applied object) stay out of the caches.
    const ownedBy = { labelSelector: CLUSTER_LABEL, onError, transform: withoutManagedFields };
    const informers = options.informers ?? new SharedInformers(client);
    this.caches = {
      clusters: informers.informer<Cluster>('/apis/tessera.dev/v1alpha1/clusters', { onError }),
      pods: new Informer<V1Pod>(client, '/api/v1/pods', ownedBy),
      services: new Informer<V1Service>(client, '/api/v1/services', ownedBy),
      secrets: new Informer<V1Secret>(client, '/api/v1/secrets', ownedBy),
      claims: new Informer<V1PersistentVolumeClaim>(client, '/api/v1/persistentvolumeclaims', ownedBy),
      deployments: new Informer<V1Deployment>(client, '/apis/apps/v1/deployments', ownedBy),
      tierPolicies: informers.informer<TierPolicy>('/apis/tessera.dev/v1alpha1/tierpolicies', { onError }),
      cells: informers.informer<Cell>('/apis/tessera.dev/v1alpha1/cells', { onError }),
    };
    const events = new EventRecorder(client, 'tessera-cluster-operator', undefined, onError);
    this.reconciler = new ClusterReconciler({ client, caches: this.caches, events, logger: logger.child({ controller: 'cluster' }), metaClusterDomain: options.metaClusterDomain, resyncPeriodMs: options.resyncPeriodMs, egressSelectorConfigFile: options.egressSelectorConfigFile, serviceCIDR: serviceRangeReader(client, logger) });
    this.controller = new Controller({ name: 'cluster', reconcile: (key) => this.reconciler.reconcile(key), workers: options.workers ?? DEFAULT_WORKERS, metrics: options.metrics, logger });
    // Owned objects carry the Cluster's name as a label: map them to their Cluster's key, and
    // index them by it so a pass reads only its own Cluster's objects.
    this.controller.watch(this.caches.clusters, undefined, { predicate: ({ type, object, old }) => type !== 'update' || old === undefined || old === object || clusterUpdateMatters(old, object) });
    for (const informer of [this.caches.pods, this.caches.services, this.caches.secrets, this.caches.claims, this.caches.deployments] as Informer<KubeObject>[]) {
      informer.addIndexer(byClusterIndex, clusterKeyOf);
      this.controller.watch(informer, clusterKeyOf, { batchMs: OWNED_CHANGES_BATCH_MS });
    }
  }

  private informers(): { start(): Promise<void>; stop(): Promise<void> }[] {
    return Object.values(this.caches);
  }

  /** Starts the informers (the controller waits for their first list) and the workers. */
  async start(): Promise<void> {
    // The TierPolicy and the Cells are optional (built-in tiers apply without a policy, and a meta
    // cluster may not have their CRDs): nothing waits for them, and when they arrive or change
    // every guest is looked at again.
    for (const optional of [this.caches.tierPolicies, this.caches.cells] as unknown as Informer<KubeObject>[]) {
      optional.on(() => {
        for (const cluster of this.caches.clusters.list()) this.controller.queue.add(objectKey(cluster));
      });
      void optional.start();
    }
    await this.controller.start();
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await Promise.all(this.informers().map((informer) => informer.stop()));
  }
}
