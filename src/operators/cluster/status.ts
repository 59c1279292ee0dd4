// The Cluster's conditions: every type and reason the operator sets, in one place beside the API
// type. Each condition has exactly one producer (a component of components.ts, or the pass
// itself for the version decision, the upgrade and the summaries); status.test.ts checks that
// every declared type is produced and every produced type declared.

export const ConditionType = {
  /** network.ts: the pod and service ranges are consistent and free in the VPC. */
  NetworkValid: 'NetworkValid',
  /** The pass: nothing in extraArgs overrides a flag the platform owns (spec-checks.ts). */
  SpecValid: 'SpecValid',
  /** The pass: spec.version (and overrides) may be run from what runs now. */
  VersionSupported: 'VersionSupported',
  /** pki.ts: every certificate valid and renewed in time. */
  CertificatesValid: 'CertificatesValid',
  /** etcd.ts: every member healthy and in the cluster. */
  EtcdReady: 'EtcdReady',
  /** apiserver.ts: the guest's /readyz answers ok through its Service. */
  APIServerAvailable: 'APIServerAvailable',
  /** controller-manager.ts. */
  ControllerManagerAvailable: 'ControllerManagerAvailable',
  /** scheduler.ts. */
  SchedulerAvailable: 'SchedulerAvailable',
  /** Summary of the API server, controller-manager and scheduler. */
  ControlPlaneReady: 'ControlPlaneReady',
  /** guest-bootstrap.ts: RBAC, cluster-info and a bootstrap token inside the guest. */
  GuestBootstrapped: 'GuestBootstrapped',
  /** addons.ts, one per addon. */
  CoreDNSReady: 'CoreDNSReady',
  KubeProxyReady: 'KubeProxyReady',
  /** Summary of the addon conditions. */
  AddonsReady: 'AddonsReady',
  /** The pass: a version change is rolling through the components. */
  Upgrading: 'Upgrading',
  /** Summary of everything a user needs to use the guest. */
  Ready: 'Ready',
} as const;
export type ClusterConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  // NetworkValid
  NoConflicts: 'NoConflicts',
  NetworkConflict: 'NetworkConflict',
  // VersionSupported
  Supported: 'Supported',
  UnsupportedVersion: 'UnsupportedVersion',
  MinorDowngrade: 'MinorDowngrade',
  MinorSkip: 'MinorSkip',
  SkewViolation: 'SkewViolation',
  ProtectedFlag: 'ProtectedFlag',
  ProfileNotApplied: 'ProfileNotApplied',
  NodeReachabilityUnavailable: 'NodeReachabilityUnavailable',
  /** Ready while the Cluster is being deleted and waits for its Machines. */
  WaitingForMachines: 'WaitingForMachines',
  Accepted: 'Accepted',
  // CertificatesValid
  Valid: 'Valid',
  CertificateError: 'CertificateError',
  CertificateAuthorityExpiring: 'CertificateAuthorityExpiring',
  // EtcdReady
  MembersHealthy: 'MembersHealthy',
  MembersStarting: 'MembersStarting',
  QuorumWait: 'QuorumWait',
  Degraded: 'Degraded',
  // APIServerAvailable
  ReadyzOK: 'ReadyzOK',
  ReadyzFailing: 'ReadyzFailing',
  // Deployments
  Available: 'Available',
  Progressing: 'Progressing',
  Unavailable: 'Unavailable',
  // Guest objects
  Applied: 'Applied',
  ApplyFailed: 'ApplyFailed',
  Disabled: 'Disabled',
  // Upgrading
  UpToDate: 'UpToDate',
  InProgress: 'InProgress',
  Paused: 'Paused',
  // Any component
  DependencyNotReady: 'DependencyNotReady',
  ReconcileError: 'ReconcileError',
} as const;
export type ClusterConditionReason = (typeof Reason)[keyof typeof Reason];

/** The conditions Ready summarises, in priority order (the first failing one gives Ready's reason). */
export const READY_INPUTS: readonly ClusterConditionType[] = [
  ConditionType.NetworkValid,
  ConditionType.CertificatesValid,
  ConditionType.EtcdReady,
  ConditionType.ControlPlaneReady,
  ConditionType.GuestBootstrapped,
  ConditionType.AddonsReady,
];

/** ControlPlaneReady summarises these. */
export const CONTROL_PLANE_INPUTS: readonly ClusterConditionType[] = [
  ConditionType.APIServerAvailable,
  ConditionType.ControllerManagerAvailable,
  ConditionType.SchedulerAvailable,
];

/** Conditions produced by the pass rather than a component. */
export const PASS_CONDITIONS: readonly ClusterConditionType[] = [
  ConditionType.SpecValid,
  ConditionType.VersionSupported,
  ConditionType.ControlPlaneReady,
  ConditionType.AddonsReady,
  ConditionType.Upgrading,
  ConditionType.Ready,
];

/** Events the operator records, beyond a component's own; one place for their reasons. */
export const EventReason = {
  VersionRefused: 'VersionRefused',
  UpgradeStarted: 'UpgradeStarted',
  UpgradeStep: 'UpgradeStep',
  UpgradePaused: 'UpgradePaused',
  UpgradeCompleted: 'UpgradeCompleted',
  ComponentFailed: 'ComponentFailed',
  Deleting: 'Deleting',
} as const;
