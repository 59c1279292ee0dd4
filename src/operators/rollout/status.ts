// The PackageRollout's conditions, their reasons, and its phase: one list, each set by one part
// of the pass (progress.ts decides them all, from what it read).
export const RolloutCondition = {
  /** The spec names a known package and version, the Cluster exists, and no other rollout of the package runs. */
  Accepted: 'Accepted',
  /** Machines are being upgraded, verified or rolled back. */
  Progressing: 'Progressing',
  /** No new Machine starts: spec.paused, the failure policy, or a drain that timed out. */
  Paused: 'Paused',
  /** Every Machine upgraded so far passes its checks; False names the Machine and the check that failed. */
  Verified: 'Verified',
} as const;

export const RolloutReason = {
  // Accepted
  Valid: 'Valid',
  Invalid: 'Invalid',
  ClusterMissing: 'ClusterMissing',
  Conflict: 'Conflict',
  // Progressing
  Upgrading: 'Upgrading',
  Verifying: 'Verifying',
  Promoting: 'Promoting',
  RollingBack: 'RollingBack',
  Succeeded: 'Succeeded',
  RolledBack: 'RolledBack',
  RollbackFailed: 'RollbackFailed',
  NothingToDo: 'NothingToDo',
  Waiting: 'Waiting',
  // Paused
  NotPaused: 'NotPaused',
  PausedBySpec: 'PausedBySpec',
  PausedByFailurePolicy: 'PausedByFailurePolicy',
  DrainTimeout: 'DrainTimeout',
  // Verified
  ChecksPassing: 'ChecksPassing',
  CheckFailed: 'CheckFailed',
} as const;

/** The checks every upgraded Machine passes, in the order they are reported. */
export const BuiltInCheck = {
  PackageInstalled: 'PackageInstalled',
  PackageHealthy: 'PackageHealthy',
  NodeReady: 'NodeReady',
} as const;

export function stepPhase(step: number, steps: number): string {
  return step === 0 ? 'Canary' : `Wave ${step} of ${Math.max(1, steps - 1)}`;
}
