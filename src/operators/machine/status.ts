// The Machine's conditions and their reasons: one list, each produced by one component.
export const MachineCondition = {
  HostReachable: 'HostReachable',
  HostKeyVerified: 'HostKeyVerified',
  PackagesInstalled: 'PackagesInstalled',
  NodeJoined: 'NodeJoined',
  NodeReady: 'NodeReady',
  Remediating: 'Remediating',
  Ready: 'Ready',
} as const;
export type MachineConditionType = (typeof MachineCondition)[keyof typeof MachineCondition];

export const MachineReason = {
  // HostReachable (components/connection.ts)
  Connected: 'Connected',
  SecretMissing: 'SecretMissing',
  Unreachable: 'Unreachable',
  // HostKeyVerified (components/connection.ts)
  KeyMatches: 'KeyMatches',
  KeyMismatch: 'KeyMismatch',
  NotChecked: 'NotChecked',
  // PackagesInstalled (components/packages.ts)
  AtDeclaredVersions: 'AtDeclaredVersions',
  Installing: 'Installing',
  InstallFailed: 'InstallFailed',
  Refused: 'Refused',
  // NodeJoined (components/join.ts)
  Joined: 'Joined',
  WaitingForGuest: 'WaitingForGuest',
  WaitingForNode: 'WaitingForNode',
  WaitingForCertificate: 'WaitingForCertificate',
  JoinFailed: 'JoinFailed',
  // NodeReady (components/node-status.ts)
  KubeletReady: 'KubeletReady',
  NodeNotReady: 'NodeNotReady',
  NoNode: 'NoNode',
  // Remediating (components/remediation.ts)
  Healthy: 'Healthy',
  ServiceRestarted: 'ServiceRestarted',
  PackageReinstalled: 'PackageReinstalled',
  ReplacementRequired: 'ReplacementRequired',
  HeldTooManyUnhealthy: 'HeldTooManyUnhealthy',
  HeldGuestUnreachable: 'HeldGuestUnreachable',
  HeldInFlightLimit: 'HeldInFlightLimit',
  HeldByRollout: 'HeldByRollout',
  WaitingForHost: 'WaitingForHost',
  CoolingDown: 'CoolingDown',
  // Ready (the pass)
  AllTrue: 'AllTrue',
  NotAllTrue: 'NotAllTrue',
  // Deletion
  Cleaning: 'Cleaning',
  CleanupFailed: 'CleanupFailed',
} as const;

/**
 * The one condition this operator writes on a Cluster (under its own field manager): whether the
 * Cluster's Machines are healthy, and whether remediation repairs them or holds, and why.
 */
export const CLUSTER_MACHINES_CONDITION = 'MachinesHealthy';

/** What Ready summarises. */
export const READY_INPUTS: readonly MachineConditionType[] = [MachineCondition.HostReachable, MachineCondition.HostKeyVerified, MachineCondition.PackagesInstalled, MachineCondition.NodeJoined, MachineCondition.NodeReady];
