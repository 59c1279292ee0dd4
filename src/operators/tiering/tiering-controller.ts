// The tiering controller, run in every meta cluster beside the Cluster operator: for each guest
// running here it reads the guest API server's /metrics with the admin kubeconfig, computes the
// load score, decides the tier (retiering.ts) and writes status.tier and status.load. The Cluster
// operator renders the control plane from status.tier (tierResources()), rolling as it does for
// any change. Guests placed into another cell are skipped: their tier comes back from that cell.
import { KubeConfig, type V1Node, type V1Secret } from '@kubernetes/client-node';
import type { Cell } from '../../api/v1alpha1/cell.ts';
import { DEFAULT_HEADROOM_PERCENT } from '../../api/v1alpha1/cell.ts';
import { clusterResource, parseDuration, type Cluster, type ClusterStatus } from '../../api/v1alpha1/cluster.ts';
import type { ClusterLoad } from '../../api/v1alpha1/cluster-fleet-fields.ts';
import { defaultTierPolicySpec, TIER_POLICY_NAME, type TierPolicy, type TierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';
import { formatConditionTime, setCondition } from '../../controller/conditions.ts';
import { Controller } from '../../controller/controller.ts';
import { EventRecorder } from '../../controller/events.ts';
import { SharedInformers, objectKey, splitObjectKey, type Informer } from '../../controller/informer.ts';
import type { Logger } from '../../controller/logger.ts';
import type { ControllerMetrics } from '../../controller/metrics.ts';
import { RestClient, resourcePath } from '../../controller/rest-client.ts';
import { applyStatus, semanticEqual } from '../../controller/status.ts';
import { ConditionType } from '../cluster/status.ts';
import { cellCapacity, nodeResources } from '../placement/cell-capacity.ts';
import { emptyUsage, fitsCell, type CellCapacity } from '../placement/placement.ts';
import { FieldManager } from '../placement/status.ts';
import { loadInputsFromSamples, loadScore, parsePrometheusText, recommendedTier, scrapedMetrics, type RequestCounter } from './load-score.ts';
import { decideTier } from './retiering.ts';
import { TieringCondition, TieringReason } from './status.ts';
import { currentTier, findTier, guestRequests, resourceNames } from './tiers.ts';

export type TieringControllerOptions = {
  client: RestClient;
  logger: Logger;
  /** The process's shared informers; absent: this operator's own. */
  informers?: SharedInformers;
  metrics?: ControllerMetrics;
  workers?: number;
  now?: () => number;
};

type GuestClient = { secretVersion: string; client: RestClient };

export class TieringController {
  readonly clusters: Informer<Cluster>;
  readonly cells: Informer<Cell>;
  readonly policies: Informer<TierPolicy>;
  readonly controller: Controller;
  private readonly client: RestClient;
  private readonly events: EventRecorder;
  private readonly now: () => number;
  private readonly counters = new Map<string, RequestCounter>();
  private readonly guests = new Map<string, GuestClient>();
  /** The meta cluster's Nodes as last read; without them the fit check lets a change through. */
  private nodeCache: V1Node[] | undefined;

  constructor(options: TieringControllerOptions) {
    const { client, logger } = options;
    const onError = (error: unknown) => logger.warn('informer error', { error: (error as Error).message });
    this.client = client;
    this.now = options.now ?? Date.now;
    const informers = options.informers ?? new SharedInformers(client);
    this.clusters = informers.informer<Cluster>('/apis/tessera.dev/v1alpha1/clusters', { onError });
    this.cells = informers.informer<Cell>('/apis/tessera.dev/v1alpha1/cells', { onError });
    this.policies = informers.informer<TierPolicy>('/apis/tessera.dev/v1alpha1/tierpolicies', { onError });
    this.events = new EventRecorder(client, 'tessera-tiering-controller', undefined, onError);
    this.controller = new Controller({ name: 'tiering', reconcile: (key) => this.reconcile(key), workers: options.workers ?? 4, metrics: options.metrics, logger });
    this.controller.watch(this.clusters, (cluster) => (this.runsHere(cluster) ? [objectKey(cluster)] : []), {
      predicate: ({ type, object, old }) => type !== 'update' || old === undefined || tieringInputsChanged(old, object),
    });
    this.controller.watch(this.policies, () => this.clusters.list().filter((cluster) => this.runsHere(cluster)).map(objectKey));
    this.controller.watch(this.cells, () => []);
  }

  async start(): Promise<void> {
    await this.controller.start();
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await Promise.all([this.clusters.stop(), this.cells.stop(), this.policies.stop()]);
  }

  policy(): TierPolicySpec {
    return this.policies.get(TIER_POLICY_NAME)?.spec ?? defaultTierPolicySpec;
  }

  /** A guest runs here unless it is a fleet Cluster placed into a remote cell (or not placed yet). */
  runsHere(cluster: Cluster): boolean {
    if (!cluster.spec.placement) return true;
    const cell = cluster.status?.cell;
    return cell !== undefined && this.cells.get(cell)?.spec.kubeconfigSecretRef === undefined;
  }

  async reconcile(key: string): Promise<{ requeueAfter: number } | void> {
    const cluster = this.clusters.get(key);
    if (!cluster || cluster.metadata.deletionTimestamp || !this.runsHere(cluster)) {
      this.counters.delete(key);
      this.guests.delete(key);
      return;
    }
    const policy = this.policy();
    const interval = parseDuration(policy.scrapeInterval);
    const secretName = cluster.status?.adminKubeconfigSecret;
    const namespace = cluster.metadata.namespace ?? 'default';
    const now = this.now();
    const previousLoad = cluster.status?.load;
    const time = (value: string | undefined) => (value === undefined ? undefined : Date.parse(value));

    let samplesText: string | undefined;
    let scrapeError: string | undefined;
    if (!guestApiAvailable(cluster)) {
      // Nothing to read yet, and a connection to a guest that is not up would only fail: a fleet
      // of guests being created would cost a Secret read and a refused connection each, every pass.
      scrapeError = `the guest API is not available yet (condition ${ConditionType.APIServerAvailable} is not True)`;
    } else if (secretName) {
      try {
        samplesText = await (await this.guestClient(key, namespace, secretName)).get<string>('/metrics');
      } catch (error) {
        scrapeError = (error as Error).message;
      }
    } else scrapeError = 'the guest has no admin kubeconfig yet (status.adminKubeconfigSecret)';

    if (samplesText === undefined) {
      // Nothing measured: a new guest still gets its first tier; otherwise the tier stays and the condition says why.
      const tier = cluster.spec.tier ?? cluster.status?.tier ?? policy.defaultTier;
      const conditions = setCondition(ownConditions(cluster), { type: TieringCondition.Tiered, status: 'Unknown', reason: TieringReason.MetricsUnavailable, message: `tier ${tier} kept: cannot read the guest's /metrics: ${scrapeError}` }, cluster.metadata.generation, now);
      await this.write(cluster, { tier, ...(previousLoad ? { load: previousLoad } : {}), conditions });
      return { requeueAfter: interval };
    }
    const { inputs, counter } = loadInputsFromSamples(parsePrometheusText(samplesText, scrapedMetrics), now, this.counters.get(key));
    this.counters.set(key, counter);
    const score = loadScore(inputs, policy.factors);
    // The fit check reads the Nodes only when the score is outside the guest's tier.
    if (recommendedTier(score, policy) !== cluster.status?.tier) await this.refreshNodes().catch(() => (this.nodeCache = undefined));
    const decision = decideTier({
      policy,
      current: cluster.status?.tier,
      pinned: cluster.spec.tier,
      score,
      now,
      aboveSince: time(previousLoad?.aboveSince),
      belowSince: time(previousLoad?.belowSince),
      transitions: (previousLoad?.transitions ?? []).map((at) => Date.parse(at)),
      fits: (tier) => this.fitsHere(key, cluster, tier),
    });
    const load: ClusterLoad = {
      score,
      inputs,
      observedAt: formatConditionTime(now),
      recommendedTier: decision.recommended,
      ...(decision.aboveSince !== undefined ? { aboveSince: formatConditionTime(decision.aboveSince) } : {}),
      ...(decision.belowSince !== undefined ? { belowSince: formatConditionTime(decision.belowSince) } : {}),
      transitions: decision.transitions.map((at) => formatConditionTime(at)),
    };
    // A converged guest is not rewritten every scrape: only a decision, a move of the score by more
    // than a fifth, or a report older than ten intervals (5 minutes by default) is written.
    const previousScore = previousLoad?.score ?? -1;
    const stale = previousLoad?.observedAt === undefined || now - Date.parse(previousLoad.observedAt) >= 10 * interval;
    const sameDecision = cluster.status?.tier === decision.tier && previousLoad?.recommendedTier === load.recommendedTier && previousLoad?.aboveSince === load.aboveSince && previousLoad?.belowSince === load.belowSince && (previousLoad?.transitions ?? []).join() === (load.transitions ?? []).join();
    const conditions = setCondition(ownConditions(cluster), { type: TieringCondition.Tiered, status: 'True', reason: decision.reason, message: decision.message }, cluster.metadata.generation, now);
    const conditionSame = ownConditions(cluster)[0]?.reason === decision.reason;
    if (!stale && sameDecision && conditionSame && Math.abs(score - previousScore) <= 0.2 * Math.max(previousScore, 1)) return { requeueAfter: interval };
    await this.write(cluster, { tier: decision.tier, load, conditions });
    const target = { apiVersion: clusterResource.apiVersion, kind: 'Cluster', name: cluster.metadata.name, namespace, uid: cluster.metadata.uid ?? '' };
    if (decision.changed && cluster.status?.tier !== undefined) this.events.normal(target, 'TierChanged', decision.message);
    if (decision.reason === 'DoesNotFitCell' || decision.reason === 'TransitionLimit') this.events.warning(target, 'TierHeld', decision.message);
    return { requeueAfter: interval };
  }

  private async write(cluster: Cluster, status: ClusterStatus): Promise<void> {
    const { namespace = 'default', name } = splitObjectKey(objectKey(cluster));
    await applyStatus(this.client, {
      path: resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace, name }),
      apiVersion: clusterResource.apiVersion,
      kind: clusterResource.kind,
      current: cluster,
      status,
      fieldManager: FieldManager.tiering,
    });
  }

  private async guestClient(key: string, namespace: string, secretName: string): Promise<RestClient> {
    const secret = await this.client.get<V1Secret>(resourcePath({ version: 'v1', resource: 'secrets', namespace, name: secretName }));
    const cached = this.guests.get(key);
    if (cached && cached.secretVersion === secret.metadata?.resourceVersion) return cached.client;
    const data = secret.data?.['kubeconfig'];
    if (!data) throw new Error(`Secret ${namespace}/${secretName} has no key kubeconfig`);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(Buffer.from(data, 'base64').toString('utf8'));
    const client = new RestClient(kubeConfig);
    this.guests.set(key, { secretVersion: secret.metadata?.resourceVersion ?? '', client });
    return client;
  }

  /**
   * Whether this meta cluster keeps its headroom with the guest at `tier`: its Nodes' allocatable
   * against every guest's tier requests here (the Cell's headroom when this cluster is a Cell in
   * place, else the default 40%). Read when a change is due, not every scrape.
   */
  private fitsHere(key: string, cluster: Cluster, tier: string): boolean {
    const policy = this.policy();
    const observed = nodeResources(this.nodeCache ?? []);
    const inPlace = this.cells.list().find((cell) => cell.spec.kubeconfigSecretRef === undefined);
    // No Ready Node and no Cell saying otherwise: the size is unknown, so it cannot be the reason to hold.
    if (!inPlace && observed.allocatable.pods === 0) return true;
    const usage = emptyUsage();
    for (const other of this.clusters.list()) {
      if (objectKey(other) === key || !this.runsHere(other) || other.metadata.deletionTimestamp) continue;
      const requests = guestRequests(currentTier(other, policy), other.spec.mode ?? 'Standard');
      for (const resource of resourceNames) usage.requested[resource] += requests[resource];
      usage.guests += 1;
    }
    const capacity: CellCapacity = inPlace
      ? { ...cellCapacity(inPlace, observed, true), region: 'here', state: 'Open' }
      : { name: 'here', region: 'here', zones: observed.zones, state: 'Open', reachable: true, headroomPercent: DEFAULT_HEADROOM_PERCENT, allocatable: observed.allocatable };
    const mode = cluster.spec.mode ?? 'Standard';
    return fitsCell(capacity, usage, { key, region: 'here', mode, zones: capacity.zones.slice(0, mode === 'Standard' ? Math.min(3, capacity.zones.length) : 1), requests: guestRequests(findTier(tier, policy), mode) }).fits;
  }

  /** Refreshes the Node list the fit check reads. */
  private async refreshNodes(): Promise<void> {
    this.nodeCache = (await this.client.get<{ items: V1Node[] }>('/api/v1/nodes')).items;
  }
}

/** Whether the Cluster operator reports the guest's API up (its /readyz answers through the Service). */
function guestApiAvailable(cluster: Cluster): boolean {
  return cluster.status?.conditions?.some((condition) => condition.type === ConditionType.APIServerAvailable && condition.status === 'True') ?? false;
}

/**
 * Whether a Cluster update changes what a pass reads: the spec (a pinned tier, the placement),
 * deletion, the cell, the admin kubeconfig, whether the guest API is up. Not the Cluster
 * operator's progress nor this controller's own writes: each would start another scrape, and
 * the scrape interval already brings every guest back.
 */
export function tieringInputsChanged(old: Cluster, next: Cluster): boolean {
  const read = (cluster: Cluster) => ({
    spec: cluster.spec,
    deletionTimestamp: cluster.metadata.deletionTimestamp,
    cell: cluster.status?.cell,
    adminKubeconfigSecret: cluster.status?.adminKubeconfigSecret,
    guestApiAvailable: guestApiAvailable(cluster),
  });
  return !semanticEqual(read(old), read(next));
}

function ownConditions(cluster: Cluster) {
  return (cluster.status?.conditions ?? []).filter((condition) => condition.type === TieringCondition.Tiered);
}
