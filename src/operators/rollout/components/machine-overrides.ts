// The package version each Machine is asked for: the rollout writes its own entry in the Machine's
// spec.packages (server-side apply under its own field manager, so a person's entries are never
// touched) from the moment a Machine is upgraded, and releases it when the Machine is rolled back
// (the ClusterPackageVersion, unchanged, applies again) or once the ClusterPackageVersion holds
// the new version (the Node operator has observed it, so nothing is installed twice).
import type { NodeRollout } from '../../../api/v1alpha1/package-rollout.ts';
import type { RolloutPass, RolloutReconcilerOptions } from '../rollout-pass.ts';

const HOLDS_TARGET: readonly NodeRollout['state'][] = ['Upgrading', 'Verifying', 'Soaking', 'Verified', 'Failed'];

export async function ensureMachineOverrides(pass: RolloutPass, options: RolloutReconcilerOptions): Promise<void> {
  const pkg = pass.rollout.spec.package.name;
  const succeeded = pass.decision.status.phase === 'Succeeded';
  for (const entry of pass.decision.status.nodes ?? []) {
    if (entry.state === 'Pending' || entry.state === 'Skipped' || entry.state === 'Draining') continue;
    const machine = pass.machines.get(entry.machine);
    if (!machine) continue;
    const current = machine.spec.packages?.find((item) => item.name === pkg)?.version;
    const wantTarget = HOLDS_TARGET.includes(entry.state) && !succeeded && (entry.state !== 'Failed' || pass.decision.status.phase !== 'RolledBack');
    if (wantTarget && current !== entry.toVersion) await options.meta.applyMachinePackage(machine, pkg, entry.toVersion);
    else if (!wantTarget && current === entry.toVersion) await options.meta.applyMachinePackage(machine, pkg, undefined);
  }
}
