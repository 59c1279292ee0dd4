// Which version each component is rendered at in this pass, so a version change rolls through
// the guest in a safe order: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, then
// the addons. A step starts only when every step before it runs its target version everywhere
// and is ready (settled); until then it stays at what it is rendered at now. Because the rule
// reads only what runs, an operator killed at any moment resumes the same plan, and the
// controller-manager and scheduler are never newer than the oldest API server.
// Pure: the reconciler observes (running-versions.ts), this decides.
import { oldestVersion } from '../../api/v1alpha1/version-catalogue.ts';

export const UPGRADE_STEPS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'addons'] as const;
export type UpgradeStep = (typeof UPGRADE_STEPS)[number];
export type ControlPlaneStep = Exclude<UpgradeStep, 'addons'>;

/** What runs of one step now. */
export type StepObservation = {
  /** The version its objects are rendered at now (a Deployment's template; the oldest etcd member); undefined before it exists. */
  rendered: string | undefined;
  /** Versions of every pod of the step, terminating ones included. */
  running: readonly string[];
  /** Every replica or member is up to date, rolled out and ready. */
  rolledOut: boolean;
  /** How many replicas or members there should be, for progress messages. */
  wanted: number;
};

export type UpgradePlanInput = {
  /** The version each control-plane step should reach (the spec, or what runs after a refusal). */
  targets: Record<ControlPlaneStep, string>;
  observed: Record<ControlPlaneStep, StepObservation>;
  /** spec.paused: no step starts; one already started finishes. */
  paused: boolean;
};

export type UpgradePlan = {
  /** The version each step is rendered at in this pass; for addons, the Kubernetes version they follow. */
  render: Record<UpgradeStep, string>;
  /** The step that starts in this pass (its objects change version now), if any. */
  starting?: { step: UpgradeStep; index: number; from: string; to: string };
  /** Every control-plane step runs its target everywhere and is rolled out. */
  controlPlaneSettled: boolean;
  /** The first step not settled, with progress; undefined when all are. */
  inProgress?: { step: UpgradeStep; index: number; from: string; to: string; updated: number; wanted: number; held: boolean };
};

const CONTROL_PLANE_STEPS = UPGRADE_STEPS.filter((step): step is ControlPlaneStep => step !== 'addons');

function settledAt(observation: StepObservation, target: string): boolean {
  return observation.rendered === target && observation.rolledOut && observation.running.every((version) => version === target);
}

export function planUpgrade(input: UpgradePlanInput): UpgradePlan {
  const render = {} as Record<UpgradeStep, string>;
  let previousSettled = true;
  let starting: UpgradePlan['starting'];
  let inProgress: UpgradePlan['inProgress'];
  CONTROL_PLANE_STEPS.forEach((step, index) => {
    const target = input.targets[step];
    const observed = input.observed[step];
    const started = observed.rendered === undefined || observed.rendered === target || observed.running.includes(target);
    const open = started || (previousSettled && !input.paused);
    render[step] = open ? target : (observed.rendered ?? target);
    const from = oldestVersion([...(observed.rendered ? [observed.rendered] : []), ...observed.running].filter((version) => version !== target)) ?? target;
    if (open && !started && observed.rendered !== undefined) starting = { step, index, from: observed.rendered, to: target };
    const settled = settledAt(observed, target);
    const changing = observed.rendered !== undefined && from !== target;
    if (!settled && changing && inProgress === undefined) {
      inProgress = { step, index, from, to: target, updated: observed.running.filter((version) => version === target).length, wanted: observed.wanted, held: !open };
    }
    previousSettled = previousSettled && settled;
  });
  // Addons (kube-proxy, CoreDNS) follow the control plane: never newer than the oldest part of
  // it that runs, so they move last, once the scheduler is done.
  const controlPlaneVersions = (['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const).flatMap((step) => [
    ...(input.observed[step].rendered ? [input.observed[step].rendered as string] : []),
    ...input.observed[step].running,
    render[step],
  ]);
  render.addons = previousSettled ? input.targets['kube-apiserver'] : (oldestVersion(controlPlaneVersions) ?? input.targets['kube-apiserver']);
  const plan: UpgradePlan = { render, controlPlaneSettled: previousSettled };
  if (starting) plan.starting = starting;
  if (inProgress) plan.inProgress = inProgress;
  return plan;
}

/** "step 2 of 5". */
export function stepPosition(index: number): string {
  return `step ${index + 1} of ${UPGRADE_STEPS.length}`;
}
