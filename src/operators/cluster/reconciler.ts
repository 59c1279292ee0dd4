// The Cluster reconciler. A pass reads the Cluster and what it owns from the informer caches,
// defaults the spec once, decides which version may run (version-policy.ts) and at which version
// each component is rendered now (upgrade-plan.ts), walks the component graph (components.ts),
// summarises the conditions and writes status once. Every component writes only what differs,
// so a converged Cluster costs no writes; every decision is a condition or an Event; errors
// become a condition and an Event and are then returned to the controller, which logs them and
// backs off. The pass is safe to stop at any line: the next one starts from what the API
// server holds.
import { randomBytes } from 'node:crypto';
import type { Cluster, ClusterCondition, ClusterStatus, DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { withDefaults } from '../../api/v1alpha1/cluster.ts';
import { SKIP_HOST_CLEANUP_ANNOTATION, type Machine } from '../../api/v1alpha1/machine.ts';
import { oldestVersion } from '../../api/v1alpha1/version-catalogue.ts';
import { findCondition, setCondition, summarizeReady, type Condition, type ConditionUpdate } from '../../controller/conditions.ts';
import type { ReconcileResult } from '../../controller/controller.ts';
import { addFinalizer, removeFinalizer } from '../../controller/finalizers.ts';
import { silentLogger, type Logger } from '../../controller/logger.ts';
import { isNotFound, quietAfterNoAnswer, resourcePath } from '../../controller/rest-client.ts';
import { semanticEqual } from '../../controller/status.ts';
import { walkGraph } from '../../controller/task-graph.ts';
import {
  ClusterPass,
  byClusterIndex,
  ComponentError,
  runComponent,
  type ApiClient,
  type CacheReader,
  type ClusterCaches,
  type ClusterComponent,
  type ComponentStatus,
  type EtcdConnector,
  type EventSink,
  type GuestConnector,
  type GuestMemory,
  type MetaObject,
} from './component.ts';
import { CLUSTER_COMPONENTS } from './components.ts';
import { EtcdClusterClient } from './etcd-client.ts';
import { guestClient, guestSecureContext, probeReadyz } from './guest-access.ts';
import { forgetGuestApplyState } from './guest/apply-to-guest.ts';
import { CLUSTER_LABEL, COMPONENT_LABEL, controlPlaneDeploymentName } from './names.ts';
import { fieldManager, firstDifference } from './owned-objects.ts';
import { pkiSecretNames } from './pki/certificate-set.ts';
import { etcdMemberCount } from './etcd-member.ts';
import { etcdVersionFor } from './render-context.ts';
import { observeDeployment, observeEtcdMembers, reportedVersion } from './running-versions.ts';
import { CONTROL_PLANE_INPUTS, ConditionType, EventReason, READY_INPUTS, Reason } from './status.ts';
import { planUpgrade, stepPosition, UPGRADE_STEPS, type ControlPlaneStep, type StepObservation, type UpgradePlan } from './upgrade-plan.ts';
import { componentOverrideViolation, decideVersion } from './version-policy.ts';
import { withoutRefusedExtraArgs } from './spec-checks.ts';
import { decideNodeReachability } from './node-reachability.ts';
import { withTierResources } from './tier-resources.ts';
import { effectiveClusterSpec } from '../placement/profile.ts';
import { currentTier, tierResources } from '../tiering/tiers.ts';
import { TIER_POLICY_NAME, defaultTierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';
import type { EventTarget } from '../../controller/events.ts';

export const clusterFinalizer = 'tessera.dev/cluster-cleanup';
export { byClusterIndex, clusterKeyOf } from './component.ts';
export type { ClusterCaches } from './component.ts';

const clustersPath = (namespace: string, name: string, subresource?: string) =>
  resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace, name, subresource });

/** The status fields this operator writes (field manager tessera-cluster-operator-status). */
const OPERATOR_STATUS_FIELDS: readonly (keyof ClusterStatus)[] = ['phase', 'conditions', 'observedGeneration', 'endpoint', 'versions', 'etcdMembers', 'certificates', 'adminKubeconfigSecret'];

/** The condition types this operator writes; others (Placed, Tiered) belong to other controllers. */
const OWN_CONDITION_TYPES: ReadonlySet<string> = new Set(Object.values(ConditionType));

/** First requeue of a guest that is not settled, and the cap its backoff doubles up to. */
export const UNSETTLED_REQUEUE_MS = 1000;
export const MAX_UNSETTLED_REQUEUE_MS = 60_000;

/** How long after a status write the operator trusts its own copy of it over the cache's. */
export const OWN_WRITE_VISIBLE_MS = 5000;

/** While a guest provisions, the least time between two status writes that change only messages or versions. */
export const STATUS_WRITE_INTERVAL_MS = 5000;

/** The default full resync of a guest's own objects (drift inside the guest is repaired then). */
export const DEFAULT_RESYNC_PERIOD_MS = 5 * 60_000;

export type ClusterReconcilerOptions = {
  client: ApiClient;
  caches: ClusterCaches;
  events: EventSink;
  logger?: Logger;
  metaClusterDomain?: string;
  /** How often a guest's own objects are re-applied even if nothing changed; default 5 minutes. */
  resyncPeriodMs?: number;
  /** A file on this cell's nodes with the egress selector configuration of its egress proxy; absent: the cell has none. */
  egressSelectorConfigFile?: string;
  now?: () => Date;
  random?: (size: number) => Uint8Array;
  /** How the operator reaches a guest's etcd; default the JSON gateway over TLS. */
  etcd?: EtcdConnector;
  /** How the operator reaches a guest's API; default HTTPS with the admin kubeconfig. */
  guest?: GuestConnector;
  /** Default STATUS_WRITE_INTERVAL_MS; 0 writes every change at once. */
  statusWriteIntervalMs?: number;
  /** The meta cluster's Service range guest ClusterIPs are picked from; absent: the API server picks them. */
  serviceCIDR?: () => Promise<string | undefined>;
  /** The components and their graph; default CLUSTER_COMPONENTS (tests pass their own). */
  components?: readonly ClusterComponent[];
};

/** A guest's /readyz answers in milliseconds when it is up; a silent one must not hold a worker long. */
export const READYZ_TIMEOUT_MS = 2000;
/**
 * The same for the member list every pass reads: a member that accepts and never answers would
 * hold a worker 5 s a pass. Changes of membership (add, remove) keep the longer default: they
 * are rare, and giving up on one halfway helps nobody.
 */
export const ETCD_MEMBER_LIST_TIMEOUT_MS = 2000;
/**
 * After a guest endpoint accepted and did not answer, it is not asked again for this long (its
 * last answer stands): otherwise 24 silent guests of 200 held a third of the workers for their
 * deadlines and slowed every other guest down (bench/operator-scale.ts).
 */
export const SILENT_GUEST_QUIET_MS = 15_000;
const defaultEtcd: EtcdConnector = (endpoint, tls, serverName) => new EtcdClusterClient(endpoint, tls, serverName, { listTimeoutMs: ETCD_MEMBER_LIST_TIMEOUT_MS, quietAfterNoAnswerMs: SILENT_GUEST_QUIET_MS });
const defaultGuest: GuestConnector = (endpoint, credentials, clusterName) => {
  const secureContext = guestSecureContext(credentials);
  const readyz = quietAfterNoAnswer(() => probeReadyz(endpoint, secureContext, READYZ_TIMEOUT_MS), SILENT_GUEST_QUIET_MS, { unanswered: (answer) => answer.noAnswer === true });
  return { readyz, client: guestClient(endpoint, credentials, clusterName) };
};

type Observed = Record<ControlPlaneStep, StepObservation>;

export class ClusterReconciler {
  private readonly options: ClusterReconcilerOptions;
  private readonly logger: Logger;
  private readonly memory = new Map<string, GuestMemory>();
  /** API writes per Cluster key, for the "converged costs nothing" benchmark and tests. */
  readonly writes = new Map<string, number>();

  constructor(options: ClusterReconcilerOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private countWrites(key: string, count: number): void {
    if (count > 0) this.writes.set(key, (this.writes.get(key) ?? 0) + count);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cluster = this.options.caches.clusters.get(key);
    if (!cluster) {
      this.forget(key);
      return;
    }
    if (cluster.metadata.deletionTimestamp) return this.finalize(key, cluster);
    // A fleet Cluster is provisioned by the cell it is placed in: not before placement, and not
    // here when placed into another cell (the placement controller copies it there).
    if (!this.provisionedHere(cluster)) return;
    let current = cluster;
    if (!cluster.metadata.finalizers?.includes(clusterFinalizer)) {
      // The finalizer goes on before anything is created, so nothing can outlive the Cluster;
      // the pass then goes on with the object as written.
      current = await addFinalizer(this.options.client as Parameters<typeof addFinalizer>[0], clustersPath(cluster.metadata.namespace ?? 'default', cluster.metadata.name), cluster, clusterFinalizer);
      this.countWrites(key, 1);
    }
    return this.provision(key, current);
  }

  private provisionedHere(cluster: Cluster): boolean {
    if (!cluster.spec.placement) return true;
    const cell = cluster.status?.cell;
    return cell !== undefined && this.options.caches.cells?.get(cell)?.spec.kubeconfigSecretRef === undefined;
  }

  private owned<T extends MetaObject>(cache: CacheReader<T>, key: string): T[] {
    return cache.byIndex(byClusterIndex, key);
  }

  /** What runs of each control-plane step, from the caches. */
  private observe(key: string, spec: DefaultedClusterSpec, name: string): Observed {
    const { caches } = this.options;
    const pods = this.owned(caches.pods, key);
    const podsOf = (component: string) => pods.filter((pod) => pod.metadata?.labels?.[COMPONENT_LABEL] === component);
    // The API server, controller-manager and scheduler are containers of one Deployment's pods:
    // each is a step of its own, which rolls those pods with that container's new image.
    const deployment = caches.deployments.get(`${key.split('/')[0]}/${controlPlaneDeploymentName(name)}`);
    const container = (step: Exclude<ControlPlaneStep, 'etcd'>) => observeDeployment(deployment, podsOf('control-plane'), step);
    return {
      etcd: observeEtcdMembers(podsOf('etcd'), etcdMemberCount(spec.mode)),
      'kube-apiserver': container('kube-apiserver'),
      'kube-controller-manager': container('kube-controller-manager'),
      'kube-scheduler': container('kube-scheduler'),
    };
  }

  private async provision(key: string, cluster: Cluster): Promise<ReconcileResult> {
    const now = this.now();
    const generation = cluster.metadata.generation;
    // Only this operator's conditions: others (Placed, Tiered) belong to their controllers.
    let memory = this.memory.get(key);
    if (!memory) this.memory.set(key, (memory = {}));
    // What the API server holds of this operator's status: its last write, for a few seconds after
    // it (the cache may not show it yet: conditions computed from the cache would flip again, with
    // a new transition time, and be written again), else the cache.
    const recent = memory.lastStatus && now.getTime() - memory.lastStatus.at < OWN_WRITE_VISIBLE_MS ? memory.lastStatus.status : undefined;
    const stored = recent ?? cluster.status;
    const previous = (ownStatus(stored).conditions ?? []) as Condition[];
    let conditions = previous;
    const set = (type: string, update: Omit<ConditionUpdate, 'type'>) => {
      conditions = setCondition(conditions, { type, ...update }, generation, now);
    };

    // A ClusterProfile fills what the Cluster leaves out; until the profile is recorded on the
    // Cluster nothing is rendered, or the guest would roll once it arrives.
    const effective = effectiveClusterSpec(cluster);
    if (!effective.ready) {
      set(ConditionType.SpecValid, { status: 'False', reason: Reason.ProfileNotApplied, message: effective.message });
      await this.writeStatus(key, cluster, { ...ownStatus(cluster.status), phase: 'Pending', conditions: conditions as ClusterCondition[] });
      return { requeueAfter: MAX_UNSETTLED_REQUEUE_MS };
    }
    let spec: DefaultedClusterSpec;
    try {
      spec = withDefaults(effective.spec);
    } catch (error) {
      // The API server's rules make this rare (a CRD older than the operator): say so and wait.
      set(ConditionType.Ready, { status: 'False', reason: Reason.ReconcileError, message: (error as Error).message });
      await this.writeStatus(key, cluster, { ...ownStatus(cluster.status), phase: 'Pending', conditions: conditions as ClusterCondition[] });
      return {};
    }

    // Sized by the guest's tier (measured by the tiering controller, or pinned in spec.tier).
    const policy = this.options.caches.tierPolicies?.get(TIER_POLICY_NAME)?.spec ?? defaultTierPolicySpec;
    try {
      spec = withTierResources(spec, tierResources(currentTier(cluster, policy).name, policy));
    } catch (error) {
      this.logger.warn('tier not applied', { cluster: key, error: (error as Error).message });
    }

    // The API server refuses protected extraArgs; an older CRD may not have: never render them.
    const checked = withoutRefusedExtraArgs(spec);
    spec = checked.spec;
    // How the API server reaches nodes: the spec's choice against what this cell offers.
    const reachability = decideNodeReachability(spec, this.options.egressSelectorConfigFile);
    const specProblem =
      checked.violations.length > 0
        ? { reason: Reason.ProtectedFlag, message: `ignoring extraArgs the platform owns: ${checked.violations.join('; ')}` }
        : reachability.problem
          ? { reason: Reason.NodeReachabilityUnavailable, message: reachability.problem }
          : undefined;
    if (specProblem) {
      set(ConditionType.SpecValid, { status: 'False', ...specProblem });
      if (findCondition(previous, ConditionType.SpecValid)?.message !== specProblem.message) this.options.events.warning(clusterTarget(cluster), specProblem.reason, specProblem.message);
    } else {
      set(ConditionType.SpecValid, { status: 'True', reason: Reason.Accepted, message: `the spec overrides no flag the platform owns; ${reachability.message}` });
    }

    // Which version may run: decided against what the API servers run now.
    const observed = this.observe(key, spec, cluster.metadata.name);
    const apiServers = observed['kube-apiserver'];
    const current = oldestVersion([...(apiServers.rendered ? [apiServers.rendered] : []), ...apiServers.running]);
    const decision = decideVersion({ desired: spec.version, current });
    const overrideViolation = decision.accepted ? componentOverrideViolation(spec) : undefined;
    const refusal = !decision.accepted ? decision : overrideViolation;
    const target = clusterTarget(cluster);
    if (refusal) {
      set(ConditionType.VersionSupported, { status: 'False', reason: refusal.reason, message: refusal.message });
      if (findCondition(previous, ConditionType.VersionSupported)?.message !== refusal.message) this.options.events.warning(target, EventReason.VersionRefused, refusal.message);
      if (current === undefined) {
        // Nothing runs yet and nothing may: the Cluster waits for a version Tessera supports.
        await this.writeStatus(key, cluster, { ...ownStatus(cluster.status), phase: 'Pending', conditions: this.summarize(conditions, generation, now) as ClusterCondition[] });
        return {};
      }
    } else {
      set(ConditionType.VersionSupported, { status: 'True', reason: Reason.Supported, message: decision.accepted ? decision.message : '' });
    }

    // Targets: the spec's versions, or after a refusal what each component is rendered at now.
    const targets: Record<ControlPlaneStep, string> = refusal
      ? {
          etcd: observed.etcd.rendered ?? etcdVersionFor({ ...spec, version: current ?? spec.version }),
          'kube-apiserver': apiServers.rendered ?? (current as string),
          'kube-controller-manager': observed['kube-controller-manager'].rendered ?? (current as string),
          'kube-scheduler': observed['kube-scheduler'].rendered ?? (current as string),
        }
      : {
          etcd: etcdVersionFor(spec),
          'kube-apiserver': spec.controlPlane.apiServer.version,
          'kube-controller-manager': spec.controlPlane.controllerManager.version,
          'kube-scheduler': spec.controlPlane.scheduler.version,
        };
    const plan = planUpgrade({ targets, observed, paused: cluster.spec.paused === true });
    const renderSpec = withPlannedVersions(spec, plan);

    const pass = new ClusterPass({
      key,
      cluster,
      spec: renderSpec,
      plan,
      now,
      client: this.options.client,
      caches: this.options.caches,
      events: this.options.events,
      logger: this.logger,
      memory,
      etcd: this.options.etcd ?? defaultEtcd,
      guest: this.options.guest ?? defaultGuest,
      random: this.options.random ?? ((size) => randomBytes(size)),
      metaClusterDomain: this.options.metaClusterDomain,
      egressSelectorConfigFile: reachability.egressSelectorConfigFile,
      resyncPeriodMs: this.options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS,
      serviceCIDR: this.options.serviceCIDR,
      fieldManager,
    });
    const wasUpgrading = findCondition(previous, ConditionType.Upgrading)?.status === 'True';
    if (plan.inProgress && !plan.inProgress.held && !wasUpgrading) {
      const etcdFrom = observed.etcd.rendered ?? targets.etcd;
      const etcdStep = etcdFrom === targets.etcd ? `etcd stays at ${targets.etcd}` : `etcd ${etcdFrom} -> ${targets.etcd}`;
      pass.normal(EventReason.UpgradeStarted, `upgrading to Kubernetes ${targets['kube-apiserver']} from ${current}: ${etcdStep} (${stepPosition(0)})`);
    }
    if (plan.starting) {
      const { step, index, from, to } = plan.starting;
      pass.normal(EventReason.UpgradeStep, `upgrading ${step} from ${from} to ${to} (${stepPosition(index)})`);
    }

    // Walk the graph.
    const failures: Error[] = [];
    const components = this.options.components ?? CLUSTER_COMPONENTS;
    const outcomes = await walkGraph<ClusterComponent['name'], ClusterComponent, ComponentStatus>(components, {
      run: (component) => runComponent(component, pass),
      blocked: (component, waitingFor) => ({
        ready: false,
        condition: { status: 'False', reason: Reason.DependencyNotReady, message: `waiting for ${waitingFor.join(', ')}` },
      }),
      failed: (component, error) => {
        const message = error instanceof Error ? error.message : String(error);
        const reason = error instanceof ComponentError ? error.reason : Reason.ReconcileError;
        failures.push(new Error(`${component.name}: ${message}`, { cause: error }));
        pass.warning(EventReason.ComponentFailed, `${component.name}: ${message}`);
        return { ready: false, condition: { status: 'False', reason, message: `${component.name}: ${message}` } };
      },
    });
    for (const component of components) {
      const outcome = outcomes.get(component.name);
      if (component.condition && outcome?.condition) set(component.condition, outcome.condition);
    }

    // Upgrading: from the plan, and the addons once the control plane is done.
    const addonsBehind = plan.controlPlaneSettled && (pass.facts.addons?.size ?? 0) === 0 && wasUpgrading;
    const upgrading = upgradingCondition(plan, addonsBehind, cluster.spec.paused === true);
    set(ConditionType.Upgrading, upgrading);
    const upgradingMessage = upgrading.message ?? '';
    if (wasUpgrading && upgrading.status === 'False') pass.normal(EventReason.UpgradeCompleted, `every component runs ${targets['kube-apiserver']}`);
    if (upgrading.reason === Reason.Paused && findCondition(previous, ConditionType.Upgrading)?.reason !== Reason.Paused) pass.normal(EventReason.UpgradePaused, upgradingMessage);

    const summarized = this.summarize(conditions, generation, now);
    const ready = findCondition(summarized, ConditionType.Ready)?.status === 'True';
    const pods = this.owned(this.options.caches.pods, key);
    const runningVersion = (component: string, container?: string) => reportedVersion(pods.filter((pod) => pod.metadata?.labels?.[COMPONENT_LABEL] === component), container);
    const status: ClusterStatus = {
      phase: upgrading.status === 'True' ? 'Upgrading' : ready ? 'Ready' : stored?.phase === 'Ready' || stored?.phase === 'Degraded' ? 'Degraded' : 'Provisioning',
      conditions: summarized as ClusterCondition[],
      ...(pass.facts.endpoint ? { endpoint: pass.facts.endpoint } : {}),
      versions: dropUndefined({
        apiServer: runningVersion('control-plane', 'kube-apiserver'),
        controllerManager: runningVersion('control-plane', 'kube-controller-manager'),
        scheduler: runningVersion('control-plane', 'kube-scheduler'),
        etcd: runningVersion('etcd'),
      }),
      etcdMembers: pass.facts.etcdMembers ?? stored?.etcdMembers ?? [],
      ...(pass.facts.certificates ? { certificates: pass.facts.certificates } : stored?.certificates ? { certificates: stored.certificates } : {}),
      adminKubeconfigSecret: pkiSecretNames(cluster.metadata.name).adminKubeconfig,
    };
    // While the guest provisions, a status that changes only in what the conditions say (not whether
    // they hold) and what runs waits for the interval since the last write: its pods turning Ready
    // one by one would otherwise each cost a write, and a Cluster status write costs the meta API
    // server several times what a Secret's does. A new phase, or a condition that flips, goes out
    // at once; a new reason of a condition that still does not hold waits like a message.
    const nextStatus: ClusterStatus = { ...status, observedGeneration: generation };
    const settledBefore = stored?.phase === 'Ready' && findCondition(previous, ConditionType.Upgrading)?.status !== 'True';
    const holdFor = settledBefore ? 0 : statusWriteHoldMs({ lastWriteAt: memory.lastStatus?.at, now: now.getTime(), intervalMs: this.options.statusWriteIntervalMs ?? STATUS_WRITE_INTERVAL_MS, current: stored, next: nextStatus });
    const statusWritten = holdFor > 0 ? false : await this.writeStatus(key, cluster, status, stored);
    if (statusWritten) memory.lastStatus = { status: nextStatus, at: now.getTime() };
    if (holdFor > 0) pass.requeueWithin(holdFor);
    this.countWrites(key, pass.writes);
    // One line per pass (debug): what it wrote, for benchmarks and for people chasing a write loop.
    this.logger.debug('Cluster pass', { cluster: key, writes: pass.writes + (statusWritten ? 1 : 0), phase: status.phase, failed: failures.length });
    if (failures.length > 0) {
      throw failures.length === 1 ? failures[0] : new AggregateError(failures, `Cluster ${key}: ${failures.length} components failed: ${failures.map((f) => f.message).join('; ')}`);
    }
    const resync = this.options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS;
    const settled = ready && upgrading.status === 'False';
    if (settled) {
      memory.backoffMs = undefined;
      return { requeueAfter: Math.min(pass.requeueAfter ?? resync, resync) };
    }
    // Not settled: every change of what the Cluster owns (a pod turning Ready, a Deployment rolled
    // out) queues it again at once through the informers, so the timer only covers what no watch
    // shows (the guest's own /readyz, etcd's member list). It backs off while passes change
    // nothing, so a fleet of guests that never come up costs next to nothing.
    // Progress is a write: of an owned object, or of this operator's own status fields (conditions
    // other controllers write on the Cluster, such as MachinesHealthy, are not progress).
    const progressed = pass.writes > 0 || statusWritten || holdFor > 0;
    memory.backoffMs = progressed ? UNSETTLED_REQUEUE_MS : Math.min((memory.backoffMs ?? UNSETTLED_REQUEUE_MS) * 2, MAX_UNSETTLED_REQUEUE_MS);
    return { requeueAfter: Math.min(pass.requeueAfter ?? memory.backoffMs, memory.backoffMs) };
  }

  private summarize(conditions: Condition[], generation: number | undefined, now: Date): Condition[] {
    const present = (types: readonly string[]) => types.filter((type) => conditions.some((c) => c.type === type));
    let next = conditions;
    const controlPlane = present(CONTROL_PLANE_INPUTS);
    if (controlPlane.length > 0) next = setCondition(next, summarizeReady(next, controlPlane, { type: ConditionType.ControlPlaneReady }), generation, now);
    const addons = present([ConditionType.CoreDNSReady, ConditionType.KubeProxyReady]);
    if (addons.length > 0) next = setCondition(next, summarizeReady(next, addons, { type: ConditionType.AddonsReady }), generation, now);
    else next = setCondition(next, { type: ConditionType.AddonsReady, status: 'False', reason: Reason.DependencyNotReady, message: 'the guest API does not answer yet' }, generation, now);
    return setCondition(next, summarizeReady(next, READY_INPUTS), generation, now);
  }

  /** Applies `status` unless `stored` (default: the cached Cluster's) already has it; true when written. */
  private async writeStatus(key: string, cluster: Cluster, status: ClusterStatus, stored: ClusterStatus | undefined = cluster.status): Promise<boolean> {
    const next = { ...status, observedGeneration: cluster.metadata.generation };
    // Only the fields this operator sets count: others (the tier, the load) belong to other managers.
    const ours = ownStatus(stored);
    if (semanticEqual(ours, next)) return false;
    // Which field made the write: a Cluster status write costs the API server several times a Secret's.
    const before = new Map((ours.conditions ?? []).map((condition) => [condition.type, condition]));
    const changed = (next.conditions ?? []).filter((condition) => before.get(condition.type)?.message !== condition.message || before.get(condition.type)?.status !== condition.status);
    this.logger.debug('applied Cluster status', { cluster: key, differs: firstDifference(next, ours) ?? firstDifference(ours, next), conditions: changed.map((condition) => `${condition.type}=${condition.status}: ${condition.message}`) });
    await this.options.client.apply(
      clustersPath(cluster.metadata.namespace ?? 'default', cluster.metadata.name, 'status'),
      { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: cluster.metadata.name, namespace: cluster.metadata.namespace }, status: next },
      'tessera-cluster-operator-status',
      true,
    );
    this.countWrites(key, 1);
    return true;
  }

  private forget(key: string): void {
    const guest = this.memory.get(key)?.guest;
    if (guest) forgetGuestApplyState(guest.api.client);
    this.memory.delete(key);
  }

  /**
   * Deletion: remove everything the Cluster owns, wait until it is gone, then the finalizer.
   * The API servers, controller-manager and scheduler go without a grace period: nobody may use
   * a guest that is being deleted, so there is nothing to drain, and their state is all in etcd.
   * etcd members get their normal grace period (etcd stops in well under a second on SIGTERM,
   * with its data consistent), and their volumes go only once the members are gone: the
   * claims' protection finalizer holds them while a pod still mounts them.
   */
  private async finalize(key: string, cluster: Cluster): Promise<ReconcileResult | void> {
    const { client, caches, events } = this.options;
    const namespace = cluster.metadata.namespace ?? 'default';
    const selector = `${CLUSTER_LABEL}=${cluster.metadata.name}`;
    // Machines go first, while the guest still runs: the Node operator takes each host out
    // (Node deleted, services stopped, packages removed) before the control plane goes.
    const machines = (await client.get<{ items: Machine[] }>(resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'machines', namespace }))).items.filter((machine) => machine.spec.clusterName === cluster.metadata.name);
    if (machines.length > 0) {
      const fresh = machines.filter((machine) => !machine.metadata.deletionTimestamp);
      for (const machine of fresh) {
        await client.delete(resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'machines', namespace, name: machine.metadata.name })).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
      }
      const names = machines.map((machine) => machine.metadata.name).sort().join(', ');
      if (fresh.length > 0) events.normal(clusterTarget(cluster), EventReason.Deleting, `taking out ${fresh.length} Machine(s) before the control plane: ${fresh.map((machine) => machine.metadata.name).join(', ')}`);
      const message = `waiting for Machine(s) ${names} to be taken out of the guest and cleaned; a Machine whose host cannot be cleaned says why in its status (annotate it ${SKIP_HOST_CLEANUP_ANNOTATION}=true to give up on a dead host)`;
      const conditions = setCondition((ownStatus(cluster.status).conditions ?? []) as Condition[], { type: ConditionType.Ready, status: 'False', reason: Reason.WaitingForMachines, message }, cluster.metadata.generation, this.now());
      await this.writeStatus(key, cluster, { ...ownStatus(cluster.status), phase: 'Deleting', conditions: conditions as ClusterCondition[] });
      return { requeueAfter: 5_000 };
    }
    const owned = [caches.deployments, caches.pods, caches.claims, caches.services, caches.secrets] as CacheReader<MetaObject>[];
    const total = owned.reduce((sum, cache) => sum + this.owned(cache, key).length, 0);
    if (total > 0) {
      const collection = (resource: { group?: string; version: string; resource: string }) => resourcePath({ ...resource, namespace });
      const background = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' };
      // Deployments and their ReplicaSets first, leaving the pods to be deleted right after:
      // through the garbage collector they would get their full grace period, and a ReplicaSet
      // still alive would recreate what is deleted.
      const orphan = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Orphan' };
      await client.delete(collection({ group: 'apps', version: 'v1', resource: 'deployments' }), orphan, { labelSelector: selector });
      await client.delete(collection({ group: 'apps', version: 'v1', resource: 'replicasets' }), orphan, { labelSelector: selector });
      await client.delete(collection({ version: 'v1', resource: 'pods' }), { ...background, gracePeriodSeconds: 0 }, { labelSelector: `${selector},${COMPONENT_LABEL}!=etcd` });
      await client.delete(collection({ version: 'v1', resource: 'pods' }), background, { labelSelector: `${selector},${COMPONENT_LABEL}=etcd` });
      await client.delete(collection({ version: 'v1', resource: 'persistentvolumeclaims' }), background, { labelSelector: selector });
      await client.delete(collection({ version: 'v1', resource: 'secrets' }), background, { labelSelector: selector });
      // Services have no deletecollection: one by one.
      for (const service of this.owned(caches.services, key)) {
        await client.delete(resourcePath({ version: 'v1', resource: 'services', namespace, name: service.metadata?.name })).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
      }
      events.normal(clusterTarget(cluster), EventReason.Deleting, `deleting ${total} owned object(s)`);
      // Each object's disappearance queues the Cluster again; the timer is only a safety net.
      return { requeueAfter: 1000 };
    }
    if (cluster.metadata.finalizers?.includes(clusterFinalizer)) {
      await removeFinalizer(client as Parameters<typeof removeFinalizer>[0], clustersPath(namespace, cluster.metadata.name), cluster, clusterFinalizer);
      this.countWrites(key, 1);
    }
    this.forget(key);
  }
}

/** The spec with each component's version as the plan renders it in this pass. */
export function withPlannedVersions(spec: DefaultedClusterSpec, plan: UpgradePlan): DefaultedClusterSpec {
  const { controlPlane } = spec;
  return {
    ...spec,
    controlPlane: {
      ...controlPlane,
      etcd: { ...controlPlane.etcd, version: plan.render.etcd },
      apiServer: { ...controlPlane.apiServer, version: plan.render['kube-apiserver'] },
      controllerManager: { ...controlPlane.controllerManager, version: plan.render['kube-controller-manager'] },
      scheduler: { ...controlPlane.scheduler, version: plan.render['kube-scheduler'] },
    },
  };
}

/** The Upgrading condition: which step runs, with progress, or why it is held. */
export function upgradingCondition(plan: UpgradePlan, addonsBehind: boolean, paused: boolean): Omit<ConditionUpdate, 'type'> {
  const step = plan.inProgress;
  if (step) {
    const where = `${step.step} ${step.from} -> ${step.to} (${stepPosition(step.index)})`;
    if (step.held && paused) return { status: 'True', reason: Reason.Paused, message: `paused before ${where}: spec.paused is true; set it to false to continue` };
    return { status: 'True', reason: Reason.InProgress, message: `upgrading ${where}: ${step.held ? 'waiting for the steps before it' : `${step.updated}/${step.wanted} running ${step.to}`}` };
  }
  if (addonsBehind) return { status: 'True', reason: Reason.InProgress, message: `upgrading addons to ${plan.render.addons} (${stepPosition(UPGRADE_STEPS.length - 1)}): waiting for the guest API` };
  return { status: 'False', reason: Reason.UpToDate, message: `every component runs its target version (Kubernetes ${plan.render['kube-apiserver']}, etcd ${plan.render.etcd})` };
}

/**
 * Whether an update of a Cluster can change what a pass does: its spec, metadata (finalizers,
 * deletion, the applied profile), the status fields others write that a pass reads (tier, cell),
 * or this operator's own status. Other controllers' writes (the measured load every scrape, their
 * conditions) cannot, and would otherwise wake every guest each time; the periodic requeue still
 * looks at every guest.
 */
export function clusterUpdateMatters(old: Cluster, next: Cluster): boolean {
  const read = (cluster: Cluster) => ({
    generation: cluster.metadata.generation,
    spec: cluster.spec,
    labels: cluster.metadata.labels,
    annotations: cluster.metadata.annotations,
    finalizers: cluster.metadata.finalizers,
    deletionTimestamp: cluster.metadata.deletionTimestamp,
    tier: cluster.status?.tier,
    cell: cluster.status?.cell,
    own: { conditions: [], ...ownStatus(cluster.status) },
  });
  return !semanticEqual(read(old), read(next));
}

/**
 * How long a status write of a guest that is provisioning waits (0: written now): only while the
 * last write was less than `intervalMs` ago, and only when what changed is the conditions'
 * messages, the reasons of conditions that do not hold, or status.versions. The phase, whether a
 * condition holds, the reason of one that does, the generation observed, the endpoint are written
 * at once. Reasons of conditions that do not hold wait too: a new guest's conditions move
 * from waiting for a dependency to starting to rolling out while none of them holds yet, and
 * each of those was a write of its own.
 */
export function statusWriteHoldMs(input: { lastWriteAt: number | undefined; now: number; intervalMs: number; current: ClusterStatus | undefined; next: ClusterStatus }): number {
  const since = input.lastWriteAt === undefined ? Infinity : input.now - input.lastWriteAt;
  if (since >= input.intervalMs) return 0;
  const ours = ownStatus(input.current);
  if (semanticEqual(ours, input.next)) return 0;
  const gist = (status: ClusterStatus) => ({ ...status, versions: undefined, conditions: (status.conditions ?? []).map((condition) => [condition.type, condition.status, condition.status === 'True' ? condition.reason : undefined, condition.observedGeneration]) });
  return semanticEqual(gist(ours), gist(input.next)) ? input.intervalMs - since : 0;
}

/** The status fields this operator owns, and of the conditions its own, from a status others write to as well. */
function ownStatus(status: ClusterStatus | undefined): ClusterStatus {
  const ours = Object.fromEntries(Object.entries(status ?? {}).filter(([field]) => OPERATOR_STATUS_FIELDS.includes(field as keyof ClusterStatus))) as ClusterStatus;
  if (ours.conditions) ours.conditions = ours.conditions.filter((condition) => OWN_CONDITION_TYPES.has(condition.type));
  return ours;
}

function clusterTarget(cluster: Cluster): EventTarget {
  return { apiVersion: cluster.apiVersion, kind: cluster.kind, name: cluster.metadata.name, namespace: cluster.metadata.namespace, uid: cluster.metadata.uid };
}

function dropUndefined<T extends Record<string, string | undefined>>(record: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: string };
}
