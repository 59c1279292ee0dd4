// What a rollout pass does after its status is written, in order: hold or lift cordons and drain
// (before a package changes), set or release Machine overrides, move the ClusterPackageVersion.
// Each step is idempotent and writes only where the world differs from the recorded status.
import type { RolloutPass, RolloutReconcilerOptions } from './rollout-pass.ts';
import { ensureCordons } from './components/node-cordon.ts';
import { ensureMachineOverrides } from './components/machine-overrides.ts';
import { promotePackageVersion } from './components/package-promotion.ts';

export type RolloutStep = { name: string; run: (pass: RolloutPass, options: RolloutReconcilerOptions) => Promise<void> };

export const ROLLOUT_STEPS: readonly RolloutStep[] = [
  { name: 'cordons', run: ensureCordons },
  { name: 'machine-overrides', run: ensureMachineOverrides },
  { name: 'package-promotion', run: promotePackageVersion },
];
