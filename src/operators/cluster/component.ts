// One component of a guest (after Kamaji's internal/resources): a small file that renders the
// meta-cluster objects it wants from the defaulted spec (pure), names the owned objects that are
// no longer wanted (pruning), may act beyond applying objects (etcd membership, writes inside the
// guest), and observes what runs as its condition and whether its dependents may start.
// components.ts lists them with their dependencies; the reconciler walks that graph with one
// ClusterPass, the per-pass context through which every read, write and Event goes.
import type { V1Deployment, V1ObjectMeta, V1PersistentVolumeClaim, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import type { Cluster, ClusterStatus, DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';
import type { TierPolicy } from '../../api/v1alpha1/tier-policy.ts';
import type { Cell } from '../../api/v1alpha1/cell.ts';
import type { ConditionUpdate } from '../../controller/conditions.ts';
import type { EventTarget } from '../../controller/events.ts';
import type { Logger } from '../../controller/logger.ts';
import { isNotFound, type RestClient } from '../../controller/rest-client.ts';
import type { GraphTask } from '../../controller/task-graph.ts';
import type { EtcdMember, EtcdTls } from './etcd-client.ts';
import type { BootstrapToken } from './guest/bootstrap-token.ts';
import type { CertificateSecretsResult } from './pki/certificate-secrets.ts';
import type { GuestCredentials } from './guest-access.ts';
import { initialEtcdMembers } from './etcd-member.ts';
import { CLUSTER_LABEL } from './names.ts';
import { renderContext, type RenderContext } from './render-context.ts';
import { applyIfChanged, firstDifference, pathOf } from './owned-objects.ts';
import type { ClusterConditionType } from './status.ts';
import type { UpgradePlan } from './upgrade-plan.ts';

// --- I/O, all through the reconciler's options --------------------------------------------------

/** What the operator does with an API server: the RestClient, or a fake in unit tests. */
export type ApiClient = Pick<RestClient, 'get' | 'apply' | 'delete' | 'create' | 'patch'>;

/** Read access to an informer's cache. */
export type CacheReader<T> = { get(key: string): T | undefined; list(): T[]; byIndex(index: string, value: string): T[] };

export type ClusterCaches = {
  clusters: CacheReader<Cluster>;
  pods: CacheReader<V1Pod>;
  services: CacheReader<V1Service>;
  secrets: CacheReader<V1Secret>;
  claims: CacheReader<V1PersistentVolumeClaim>;
  deployments: CacheReader<V1Deployment>;
  /** The TierPolicy (cluster-scoped, one named TIER_POLICY_NAME); absent: the built-in tiers. */
  tierPolicies?: CacheReader<TierPolicy>;
  /** Cells of the fleet: a Cluster placed into another cell is provisioned there, not here. */
  cells?: CacheReader<Cell>;
};

export type EventSink = { normal(target: EventTarget, reason: string, message: string): void; warning(target: EventTarget, reason: string, message: string): void };

/** A guest's etcd, reached through its client Service. */
export type EtcdApi = { listMembers(): Promise<EtcdMember[]>; addMember(peerURL: string): Promise<EtcdMember>; removeMember(id: string): Promise<void> };
export type EtcdConnector = (endpoint: string, tls: EtcdTls, serverName: string) => EtcdApi;

/** A guest's own API: /readyz and a client, as its admin. */
export type GuestApi = { readyz(): Promise<{ ready: boolean; detail: string }>; client: ApiClient };
export type GuestConnector = (endpoint: string, credentials: GuestCredentials, clusterName: string) => GuestApi;

// --- The pass -----------------------------------------------------------------------------------

/** Index of owned objects by their Cluster's key, `<namespace>/<name>` from the cluster label. */
export const byClusterIndex = 'cluster';
export function clusterKeyOf(object: { metadata?: { namespace?: string; labels?: Record<string, string> } }): string[] {
  const name = object.metadata?.labels?.[CLUSTER_LABEL];
  return name ? [`${object.metadata?.namespace}/${name}`] : [];
}

export type MetaObject = { apiVersion?: string; kind?: string; metadata?: V1ObjectMeta };

/** What one guest keeps between passes: connections and memos that save work, never the truth. */
export type GuestMemory = {
  guest?: { identity: string; api: GuestApi; lastFullSync: number };
  bootstrapToken?: BootstrapToken;
  /** How long to wait before looking again while the guest is not settled: doubles on each pass that changes nothing. */
  backoffMs?: number;
  /** The connection to the guest's etcd, kept while its address and client certificate stay the same. */
  etcd?: { identity: string; api: EtcdApi };
  /** The last certificate reconciliation and what it was computed from (pki.ts). */
  certificates?: { inputs: string; result: CertificateSecretsResult; entries?: unknown };
  /** This operator's last write of the guest's status, and when (ms since the epoch, the reconciler's clock). */
  lastStatus?: { status: ClusterStatus; at: number };
  /** Per Service name, how many picked ClusterIPs were found taken (the next pick is attempt N). */
  serviceAddressAttempts?: Map<string, number>;
  /** The admin credentials as read from the admin kubeconfig Secret's data (the kubeconfig, base64). */
  credentials?: { source: string; credentials: GuestCredentials };
};

/** What components learn and hand to the components after them. */
export type PassFacts = {
  /** The meta cluster's Service range this pass picks ClusterIPs from, if any. */
  serviceCIDR?: string;
  apiServerIP?: string;
  etcdClientIP?: string;
  endpoint?: string;
  /** SHA-256 over the PKI Secrets the control-plane pods mount: changes roll them. */
  certificateChecksum?: string;
  secrets?: Map<string, V1Secret>;
  certificateResult?: CertificateSecretsResult;
  certificates?: { notAfter: string; caNotAfter: string; renewAt: string };
  credentials?: GuestCredentials;
  etcdMembers?: { name: string; id?: string; ready: boolean }[];
  guest?: GuestApi;
  /** etcd's condition and readiness, from its membership step. */
  etcd?: ComponentStatus;
  /** The addons applied in this pass (name and version), and whether every enabled one was. */
  addons?: Map<string, string>;
};

export type PassOptions = {
  key: string;
  cluster: Cluster;
  /** The defaulted spec with each component's version as the upgrade plan renders it. */
  spec: DefaultedClusterSpec;
  plan: UpgradePlan;
  now: Date;
  client: ApiClient;
  caches: ClusterCaches;
  events: EventSink;
  logger: Logger;
  memory: GuestMemory;
  etcd: EtcdConnector;
  guest: GuestConnector;
  random: (size: number) => Uint8Array;
  metaClusterDomain?: string;
  /** The cell's egress selector file when this guest reaches its nodes through it. */
  egressSelectorConfigFile?: string;
  resyncPeriodMs: number;
  fieldManager: string;
  /** The meta cluster's Service range, to pick ClusterIPs from (service-addresses.ts); undefined: the API server picks. */
  serviceCIDR?: () => Promise<string | undefined>;
};

export class ClusterPass {
  readonly key: string;
  readonly cluster: Cluster;
  readonly name: string;
  readonly namespace: string;
  readonly spec: DefaultedClusterSpec;
  readonly plan: UpgradePlan;
  readonly now: Date;
  readonly options: PassOptions;
  readonly facts: PassFacts = {};
  readonly target: EventTarget;
  writes = 0;
  private requeueMs: number | undefined;
  /**
   * What this pass wrote, as the API server answered: newer than the caches until the watch
   * brings it, so a component observing an object it has just created does not call it missing
   * (that alone changed a condition's message, and cost a status write of its own).
   */
  private readonly written = new Map<string, MetaObject>();

  constructor(options: PassOptions) {
    this.options = options;
    this.key = options.key;
    this.cluster = options.cluster;
    this.name = options.cluster.metadata.name;
    this.namespace = options.cluster.metadata.namespace ?? 'default';
    this.spec = options.spec;
    this.plan = options.plan;
    this.now = options.now;
    this.target = { apiVersion: options.cluster.apiVersion, kind: options.cluster.kind, name: this.name, namespace: this.namespace, uid: options.cluster.metadata.uid };
  }

  get memory(): GuestMemory {
    return this.options.memory;
  }

  /** The objects of `cache` this Cluster owns, from the cache's index. */
  owned<T extends MetaObject>(cache: CacheReader<T>): T[] {
    return cache.byIndex(byClusterIndex, this.key);
  }

  ownedByName<T extends MetaObject>(cache: CacheReader<T>): Map<string, T> {
    return new Map(this.owned(cache).map((object) => [object.metadata?.name ?? '', object]));
  }

  /** Asks to be reconciled again within `ms` (the earliest ask of the pass wins). */
  requeueWithin(ms: number): void {
    this.requeueMs = this.requeueMs === undefined ? ms : Math.min(this.requeueMs, ms);
  }

  get requeueAfter(): number | undefined {
    return this.requeueMs;
  }

  /** The live copy of an owned object (what this pass wrote, else the caches'), found by its kind and name. */
  liveOf<T extends MetaObject>(object: MetaObject): T | undefined {
    const writtenNow = this.written.get(writtenKey(object, this.namespace));
    if (writtenNow) return writtenNow as T;
    const caches = this.options.caches;
    const byKind: Record<string, CacheReader<MetaObject>> = { Pod: caches.pods, Service: caches.services, Secret: caches.secrets, PersistentVolumeClaim: caches.claims, Deployment: caches.deployments };
    const cache = byKind[object.kind ?? ''];
    if (!cache) throw new Error(`no cache holds ${object.kind} objects; add the kind to ClusterPass.liveOf and the operator's informers`);
    return cache.get(`${object.metadata?.namespace ?? this.namespace}/${object.metadata?.name ?? ''}`) as T | undefined;
  }

  /** Server-side applies `desired` unless its live copy already has every field it sets. */
  async apply<T extends MetaObject>(desired: MetaObject, live: T | undefined = this.liveOf<T>(desired)): Promise<T> {
    const result = await applyIfChanged<T>(this.options.client, desired, live);
    if (result.written) {
      this.writes++;
      this.written.set(writtenKey(desired, this.namespace), result.object);
      // Which object a pass wrote: what a person chasing a write loop needs first.
      this.options.logger.debug('applied owned object', { cluster: this.key, kind: desired.kind, name: desired.metadata?.name, live: live !== undefined, ...(live ? { differs: firstDifference(desired, live) } : {}) });
    }
    return result.object;
  }

  /** Deletes an owned object; one already gone counts as deleted. */
  async remove(object: MetaObject, reason: string): Promise<void> {
    try {
      await this.options.client.delete(pathOf(object));
      this.written.delete(writtenKey(object, this.namespace));
      this.writes++;
      this.options.logger.info('deleted owned object', { cluster: this.key, kind: object.kind, name: object.metadata?.name, reason });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** What every renderer takes: the Cluster, the pass's spec, and what earlier components learnt. */
  renderContext(): RenderContext {
    return renderContext({
      cluster: this.cluster,
      spec: this.spec,
      certificateChecksum: this.facts.certificateChecksum ?? 'not-yet-issued',
      etcdMembers: initialEtcdMembers(this.name, this.spec.mode),
      apiServerServiceIP: this.facts.apiServerIP,
      metaClusterDomain: this.options.metaClusterDomain,
      egressSelectorConfigFile: this.options.egressSelectorConfigFile,
    });
  }

  countWrite(): void {
    this.writes++;
  }

  normal(reason: string, message: string): void {
    this.options.events.normal(this.target, reason, message);
  }

  warning(reason: string, message: string): void {
    this.options.events.warning(this.target, reason, message);
  }
}

// --- The component interface --------------------------------------------------------------------

export type ClusterComponentName =
  | 'network'
  | 'services'
  | 'pki'
  | 'etcd'
  | 'kube-apiserver'
  | 'guest-api'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'guest-bootstrap'
  | 'coredns'
  | 'kube-proxy';

export type ComponentStatus = {
  /** Whether the components that depend on this one may run. */
  ready: boolean;
  /** This component's condition (its `condition` type); absent for components without one. */
  condition?: Omit<ConditionUpdate, 'type'>;
};

export interface ClusterComponent extends GraphTask<ClusterComponentName> {
  /** The condition this component reports, declared in status.ts. */
  readonly condition?: ClusterConditionType;
  /**
   * Write the rendered objects side by side rather than one by one: for objects the API server
   * stores independently (a guest's 14 PKI Secrets, most of the time before its etcd could
   * start; its Services, whose ClusterIPs the operator picks, see service-addresses.ts).
   */
  readonly parallelWrites?: boolean;
  /** The meta-cluster objects this component wants, from the pass's spec and facts. */
  render(pass: ClusterPass): MetaObject[] | Promise<MetaObject[]>;
  /** Owned objects of this component that exist but are no longer in `desired`. */
  prune?(pass: ClusterPass, desired: readonly MetaObject[]): MetaObject[];
  /** A write the API server refused: the object to write instead, or undefined to fail the component. */
  retry?(pass: ClusterPass, refused: MetaObject, error: unknown): MetaObject | undefined;
  /** Work beyond applying objects: etcd membership changes, writes inside the guest. */
  act?(pass: ClusterPass, applied: readonly MetaObject[]): Promise<void>;
  /** What runs now: the condition and readiness. */
  observe(pass: ClusterPass): ComponentStatus | Promise<ComponentStatus>;
}

const writtenKey = (object: MetaObject, namespace: string) => `${object.kind}/${object.metadata?.namespace ?? namespace}/${object.metadata?.name ?? ''}`;

/** A failure with the reason its component's condition should carry. */
export class ComponentError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** Applies `object`, and what the component asks to write instead each time one is refused. */
async function applyOrRetry(component: ClusterComponent, pass: ClusterPass, object: MetaObject): Promise<MetaObject> {
  for (let tries = 1; ; tries++) {
    try {
      return await pass.apply<MetaObject>(object);
    } catch (error) {
      const instead = tries < MAX_WRITE_TRIES ? component.retry?.(pass, object, error) : undefined;
      if (!instead) throw error;
      object = instead;
    }
  }
}

/** Tries of one object's write within a pass (see ClusterComponent.retry). */
const MAX_WRITE_TRIES = 8;

/** Runs one component: render, apply what differs, prune, act, observe. */
export async function runComponent(component: ClusterComponent, pass: ClusterPass): Promise<ComponentStatus> {
  const desired = await component.render(pass);
  let applied: MetaObject[] = [];
  if (component.parallelWrites) {
    const results = await Promise.allSettled(desired.map((object) => applyOrRetry(component, pass, object)));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    applied = results.map((result) => (result as PromiseFulfilledResult<MetaObject>).value);
  } else {
    for (const object of desired) applied.push(await applyOrRetry(component, pass, object));
  }
  for (const stale of component.prune?.(pass, desired) ?? []) await pass.remove(stale, `${component.name} no longer renders it`);
  await component.act?.(pass, applied);
  return component.observe(pass);
}
