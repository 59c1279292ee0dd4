// On success the Cluster's ClusterPackageVersion moves to the rolled version (one field, nothing
// else), so Machines added later get it; the Node operator keeps the earlier sets in its status.
import type { RolloutPass, RolloutReconcilerOptions } from '../rollout-pass.ts';

export async function promotePackageVersion(pass: RolloutPass, options: RolloutReconcilerOptions): Promise<void> {
  if (!pass.decision.promote || !pass.packageVersion) return;
  const { name, version } = pass.rollout.spec.package;
  if (pass.packageVersion.spec.packages.find((entry) => entry.name === name)?.version === version) return;
  await options.meta.setPackageVersion(pass.packageVersion, name, version);
}
