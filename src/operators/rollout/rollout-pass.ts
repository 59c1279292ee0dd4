// What a rollout pass works with: the I/O it may use (all from the reconciler's options, so unit
// tests pass fakes) and what it read and decided. The components that change the world
// (components/) act on the decided status only after it is written.
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import type { ClusterPackageVersion } from '../../api/v1alpha1/cluster-package-version.ts';
import type { Machine } from '../../api/v1alpha1/machine.ts';
import type { PackageRollout, PackageRolloutStatus } from '../../api/v1alpha1/package-rollout.ts';
import type { Logger } from '../../controller/logger.ts';
import type { GuestApi, GuestConnector } from '../machine/machine-pass.ts';
import type { HttpGet, NodeObservation } from './verification.ts';
import type { RolloutDecision } from './progress.ts';

/** The field manager of the rollout's Machine overrides and ClusterPackageVersion changes. */
export const ROLLOUT_FIELD_MANAGER = 'tessera-package-rollout';

/** The meta cluster as the rollout operator uses it (reads from informer caches). */
export type RolloutMetaApi = {
  getCluster(namespace: string, name: string): Cluster | undefined;
  listMachines(namespace: string, clusterName: string): Machine[];
  listRollouts(namespace: string, clusterName: string): PackageRollout[];
  getPackageVersion(namespace: string, name: string): ClusterPackageVersion | undefined;
  /** Writes status when it differs from `rollout.status`; returns whether it wrote. */
  writeStatus(rollout: PackageRollout, status: PackageRolloutStatus): Promise<boolean>;
  /** Server-side applies spec.packages[name].version under ROLLOUT_FIELD_MANAGER; undefined version releases the entry. */
  applyMachinePackage(machine: Machine, name: string, version: string | undefined): Promise<void>;
  /** Sets one package's version in the ClusterPackageVersion's spec (nothing else). */
  setPackageVersion(object: ClusterPackageVersion, name: string, version: string): Promise<void>;
  addFinalizer(rollout: PackageRollout): Promise<PackageRollout>;
  removeFinalizer(rollout: PackageRollout): Promise<void>;
};

/** Resolves once the Event is recorded (or its failure reported): the pass records its Events before the status they describe. */
export type RolloutEvents = {
  normal(rollout: PackageRollout, reason: string, message: string): void | Promise<void>;
  warning(rollout: PackageRollout, reason: string, message: string): void | Promise<void>;
};

export type RolloutReconcilerOptions = {
  meta: RolloutMetaApi;
  guests: GuestConnector;
  /** GETs for declared checks. */
  httpGet: HttpGet;
  events: RolloutEvents;
  logger: Logger;
  now?: () => Date;
};

export type RolloutPass = {
  rollout: PackageRollout;
  namespace: string;
  machines: Map<string, Machine>;
  guest: GuestApi | undefined;
  nodes: Map<string, NodeObservation | undefined> | undefined;
  packageVersion: ClusterPackageVersion | undefined;
  decision: RolloutDecision;
  now: Date;
};
