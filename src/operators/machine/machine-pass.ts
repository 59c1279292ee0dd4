// What one reconcile pass of a Machine works with: the objects read once at its start, the I/O
// it may use (all from the reconciler's options, so tests pass fakes), and what the components
// found out. Components read earlier components' findings from here and add their own.
import type { V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import type { ClusterPackageVersion } from '../../api/v1alpha1/cluster-package-version.ts';
import type { Machine, MachineStatus } from '../../api/v1alpha1/machine.ts';
import type { Condition, ConditionUpdate } from '../../controller/conditions.ts';
import type { Logger } from '../../controller/logger.ts';
import type { PackageDefinition } from '../../node/catalogue.ts';
import type { PackageArtifact } from '../../node/package-manifest.ts';
import type { HostConnector, HostSession } from './host-access.ts';
import type { HostProbe } from './host-probe.ts';
import type { RemediationSettings } from './remediation-policy.ts';
import type { CsrVerdict, KubeletCsr } from './kubelet-csr.ts';

/** A bootstrap token issued for one Machine: "<id>.<secret>" and when it stops working. */
export type MachineBootstrapToken = { id: string; token: string; expiresAt: Date };

/** The meta cluster as the Node operator uses it. */
export type MetaApi = {
  getCluster(namespace: string, name: string): Promise<Cluster | undefined>;
  /** The Secret's data, decoded; undefined when it does not exist. */
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  listMachines(namespace: string, clusterName: string): Machine[];
  getPackageVersion(namespace: string, name: string): Promise<ClusterPackageVersion | undefined>;
  createPackageVersion(object: ClusterPackageVersion): Promise<void>;
  /** Writes status when it differs from `machine.status`; returns whether it wrote. */
  writeStatus(machine: Machine, status: MachineStatus): Promise<boolean>;
  /** The active PackageRollout changing this Machine now (named, with its package and state), if any. */
  rolloutChanging(namespace: string, clusterName: string, machineName: string): Promise<string | undefined>;
  /** Sets the Cluster's conditions this operator owns (MachinesHealthy) when they differ. */
  writeClusterConditions(cluster: Cluster, conditions: Condition[]): Promise<boolean>;
  addFinalizer(machine: Machine): Promise<Machine>;
  /** Makes the Cluster the Machine's owner, so deleting the Cluster deletes (and cleans) its Machines. */
  setOwner(machine: Machine, cluster: Cluster): Promise<void>;
  removeFinalizer(machine: Machine): Promise<void>;
};

/** A guest's API as the Node operator uses it (its admin credentials). */
export type GuestApi = {
  /** The URL kubelets dial, and the CA they pin. */
  server: string;
  caPem: string;
  reachable(): Promise<boolean>;
  getNode(name: string): Promise<V1Node | undefined>;
  /** This Machine's own bootstrap tokens (labelled with its UID) still in the guest. */
  machineBootstrapTokens(machineUid: string): Promise<MachineBootstrapToken[]>;
  /** Issues a bootstrap token for this Machine only, expiring at `expiresAt`. */
  issueMachineBootstrapToken(machineUid: string, description: string, now: Date, expiresAt: Date): Promise<MachineBootstrapToken>;
  deleteBootstrapToken(id: string): Promise<void>;
  /** Kubelet client and serving CSRs neither approved nor denied yet. */
  pendingKubeletCsrs(): Promise<KubeletCsr[]>;
  /** Approves or denies a CSR, with the reason in its condition. */
  decideCsr(name: string, verdict: CsrVerdict): Promise<void>;
  patchNode(name: string, patch: { labels?: Record<string, string | null>; annotations?: Record<string, string>; taints?: V1Taint[]; unschedulable?: boolean }): Promise<void>;
  deleteNode(name: string): Promise<void>;
  /** Pods bound to the Node. */
  podsOnNode(name: string): Promise<V1Pod[]>;
  /** Asks the Eviction API to evict a pod: 'blocked' when a PodDisruptionBudget refuses (429). */
  evictPod(namespace: string, name: string): Promise<'evicted' | 'blocked'>;
  /** Server-side applies objects into the guest (e.g. the fabric's `kubernetes` endpoints). */
  applyObjects(objects: readonly object[]): Promise<void>;
};

/** Undefined while the guest has no admin kubeconfig yet. */
export type GuestConnector = (cluster: Cluster) => Promise<GuestApi | undefined>;

/** The package archive to upload, from wherever packages are kept (locally: the build cache). */
export type ArtifactSource = (definition: PackageDefinition) => Promise<PackageArtifact>;

/**
 * How hosts and the guest reach each other beyond plain routing. Locally (src/local/fabric) this
 * links the guest API into the hosts and routes the host's pod subnet through the VPC switch; on
 * a datacenter network it may do nothing but hand out pod subnets.
 */
export type NodeFabric = {
  prepareHost(input: { machine: Machine; server: string; podCIDR: string; nodeMaskSize: number }): Promise<{ podSubnet: string; guestObjects?: readonly object[] }>;
};

/** Events go on a Machine, or on its Cluster for what concerns all its Machines. */
export type Events = {
  normal(object: Machine | Cluster, reason: string, message: string): void;
  warning(object: Machine | Cluster, reason: string, message: string): void;
};

export type MachineReconcilerOptions = {
  meta: MetaApi;
  connect: HostConnector;
  guests: GuestConnector;
  artifacts: ArtifactSource;
  fabric?: NodeFabric;
  events: Events;
  logger: Logger;
  now?: () => Date;
  remediation?: RemediationSettings;
  /** How long a drain may wait for evictions before the Machine says why it waits; default 10 minutes. */
  drainTimeoutMs?: number;
  /** How often a converged Machine's host and Node are looked at again; default 30 s. */
  healthCheckPeriodMs?: number;
};

export type MachinePass = {
  machine: Machine;
  namespace: string;
  cluster: Cluster | undefined;
  now: Date;
  conditions: Map<string, ConditionUpdate>;
  status: MachineStatus;
  host?: HostSession;
  probe?: HostProbe;
  guest?: GuestApi;
  guestReachable?: boolean;
  node?: V1Node;
  /** Set by a component that wants the pass to stop after it (the rest would only fail). */
  stop?: boolean;
  /** A component asks to be looked at again sooner than the health period. */
  requeueAfterMs?: number;
};

export function setCondition(pass: MachinePass, update: ConditionUpdate): void {
  pass.conditions.set(update.type, update);
}

/** The Node name: spec.hostname, else what the host calls itself. */
export function nodeNameOf(pass: MachinePass): string | undefined {
  return pass.machine.spec.hostname ?? (pass.probe?.hostname || undefined);
}
