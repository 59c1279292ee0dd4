// The rollout as a pure decision: from the recorded status and what was read this pass (Machines,
// guest Nodes, drains, check results, the ClusterPackageVersion) to the next status and the Events
// for every step taken. Everything that changes the world (cordons, evictions, Machine overrides,
// the ClusterPackageVersion) follows from the status this returns and is done only after it is
// written, so an operator killed at any line resumes from the status and the hosts' own records.
import type { CountOrPercent, NodeRollout, NodeRolloutState, PackageRollout, PackageRolloutStatus } from '../../api/v1alpha1/package-rollout.ts';
import { TERMINAL_PHASES } from '../../api/v1alpha1/package-rollout.ts';
import { parseDuration } from '../../api/v1alpha1/cluster.ts';
import { formatConditionTime, setCondition, type Condition, type ConditionUpdate } from '../../controller/conditions.ts';
import { maxUnavailableCount, planSteps, selectBatch, type BatchNode } from './wave-plan.ts';
import { builtInChecks, firstFailure, machineCaughtUp, type CheckResult, type MachineObservation, type NodeObservation } from './verification.ts';
import { RolloutCondition, RolloutReason, stepPhase } from './status.ts';

export const DEFAULT_SOAK = '2m';
export const DEFAULT_TIMEOUT = '10m';
export const DEFAULT_DRAIN_TIMEOUT = '10m';
export const DEFAULT_WAVES: CountOrPercent[] = ['10%', '50%', '100%'];
/** Packages whose change restarts the containers on the host (drained first under drain policy Auto). */
export const WORKLOAD_RESTARTING_PACKAGES: readonly string[] = ['containerd', 'runc', 'cni-plugins'];

export type DrainObservation = { left: number; blocked: string[] };

export type RolloutObservations = {
  now: Date;
  /** Why the rollout cannot run (unknown package, missing Cluster, another rollout of the package). */
  refusal?: { reason: 'Invalid' | 'ClusterMissing' | 'Conflict'; message: string };
  /** The Cluster's Machines the selector matches, by name. */
  machines: ReadonlyMap<string, MachineObservation>;
  /** Guest Nodes by Machine name (undefined entries: not in the guest); absent map when the guest does not answer. */
  nodes: ReadonlyMap<string, NodeObservation | undefined> | undefined;
  /** Pods still to evict, for Machines being drained. */
  drains: ReadonlyMap<string, DrainObservation>;
  /** Declared checks' results by Machine. */
  checks: ReadonlyMap<string, readonly CheckResult[]>;
  packageVersion?: { version?: string; generation: number; observedGeneration?: number };
  /** Who set spec.paused (field manager and time, from managedFields). */
  pausedBy?: string;
};

export type RolloutEvent = { type: 'Normal' | 'Warning'; reason: string; message: string };

export type RolloutDecision = {
  status: PackageRolloutStatus;
  events: RolloutEvent[];
  /** Move the ClusterPackageVersion to the target version now. */
  promote: boolean;
  requeueAfterMs?: number;
};

const IN_FLIGHT: readonly NodeRolloutState[] = ['Draining', 'Upgrading', 'Verifying'];
const UPGRADED: readonly NodeRolloutState[] = ['Upgrading', 'Verifying', 'Soaking', 'Verified', 'Failed'];

export function drainRequired(rollout: PackageRollout): boolean {
  const policy = rollout.spec.drain?.policy ?? 'Auto';
  return policy === 'Always' || (policy === 'Auto' && WORKLOAD_RESTARTING_PACKAGES.includes(rollout.spec.package.name));
}

function ms(value: string | undefined, fallback: string): number {
  return parseDuration(value ?? fallback);
}

function stepName(step: number, steps: number): string {
  return step === 0 ? 'canary' : `wave ${step} of ${Math.max(1, steps - 1)}`;
}

export function decideRollout(rollout: PackageRollout, observed: RolloutObservations): RolloutDecision {
  const { spec } = rollout;
  const now = observed.now;
  const time = formatConditionTime(now);
  // A copy one level deep per node: status entries are flat, and a deep clone of 10,000 of them costs more than the whole decision.
  const previous = rollout.status ?? {};
  const status: PackageRolloutStatus = { ...previous, ...(previous.nodes ? { nodes: previous.nodes.map((node) => ({ ...node })) } : {}), ...(previous.failure ? { failure: { ...previous.failure } } : {}), ...(previous.counts ? { counts: { ...previous.counts } } : {}) };
  const events: RolloutEvent[] = [];
  const conditions = new Map<string, ConditionUpdate>();
  const pkg = spec.package.name;
  const target = spec.package.version;
  const timeoutMs = ms(spec.verification?.timeout, DEFAULT_TIMEOUT);
  const soakMs = ms(spec.verification?.soak, DEFAULT_SOAK);
  let promote = false;
  let requeueAfterMs: number | undefined;
  const wake = (after: number) => {
    requeueAfterMs = Math.max(250, Math.min(requeueAfterMs ?? Number.POSITIVE_INFINITY, after));
  };
  const normal = (reason: string, message: string) => events.push({ type: 'Normal', reason, message });
  const warning = (reason: string, message: string) => events.push({ type: 'Warning', reason, message });
  const finish = (): RolloutDecision => {
    let list = (status.conditions ?? []) as Condition[];
    for (const update of conditions.values()) list = setCondition(list, update, rollout.metadata.generation, now);
    status.conditions = list as PackageRolloutStatus['conditions'];
    status.observedGeneration = rollout.metadata.generation ?? 0;
    const nodes = status.nodes ?? [];
    const planned = nodes.filter((node) => node.state !== 'Skipped');
    status.counts = {
      total: planned.length,
      updated: planned.filter((node) => node.hostVersion === target).length,
      verified: planned.filter((node) => node.state === 'Verified').length,
      failed: planned.filter((node) => node.failed).length,
      remaining: planned.filter((node) => node.state === 'Pending').length,
      skipped: nodes.length - planned.length,
    };
    return { status, events, promote, requeueAfterMs };
  };

  if (status.phase && TERMINAL_PHASES.includes(status.phase)) return finish();

  if (observed.refusal && !status.startTime) {
    status.phase = 'Pending';
    conditions.set(RolloutCondition.Accepted, { type: RolloutCondition.Accepted, status: 'False', reason: RolloutReason[observed.refusal.reason], message: observed.refusal.message });
    if (rollout.status?.conditions?.find((condition) => condition.type === RolloutCondition.Accepted)?.message !== observed.refusal.message) warning('Refused', observed.refusal.message);
    wake(30_000);
    return finish();
  }
  conditions.set(RolloutCondition.Accepted, { type: RolloutCondition.Accepted, status: 'True', reason: RolloutReason.Valid, message: `${pkg} ${target} to the Machines of Cluster ${spec.clusterName}` });

  // The plan, once: which Machines, in which step. Fixed from here on (the spec fields it reads are immutable).
  if (!status.startTime) {
    const eligible: { name: string; zone: string }[] = [];
    const skipped: NodeRollout[] = [];
    for (const machine of [...observed.machines.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const skip = (message: string) => skipped.push({ machine: machine.name, node: machine.nodeName, zone: machine.zone, step: 0, toVersion: target, hostVersion: machine.hostVersion, state: 'Skipped', time, message });
      if (machine.override !== undefined) skip(`spec.packages pins ${pkg} ${machine.override}: remove that override to include this Machine`);
      else if (!machine.nodeName || !machine.ready) skip(`not Ready when the rollout started (${machine.readyMessage || 'no Node yet'}); it gets ${target} from the ClusterPackageVersion after the rollout succeeds`);
      else if (machine.hostVersion === undefined) skip(`the host records no ${pkg} package`);
      else if (machine.hostVersion === target) skip(`already at ${pkg} ${target}`);
      else eligible.push({ name: machine.name, zone: machine.zone });
    }
    const steps = planSteps(eligible, spec.canary ?? 1, spec.waves ?? DEFAULT_WAVES);
    const planned: NodeRollout[] = steps.flatMap((step, index) =>
      step.map((entry) => {
        const machine = observed.machines.get(entry.name);
        return { machine: entry.name, node: machine?.nodeName, zone: entry.zone, step: index, fromVersion: machine?.hostVersion, toVersion: target, hostVersion: machine?.hostVersion, state: 'Pending' as const, time };
      }),
    );
    status.nodes = [...planned, ...skipped];
    status.steps = steps.length;
    status.currentStep = 0;
    status.startTime = time;
    const described = steps.map((step, index) => `${stepName(index, steps.length)}: ${step.map((entry) => entry.name).join(', ')}`).join('; ');
    normal('RolloutStarted', `${pkg} -> ${target} on ${planned.length} Machine(s) of Cluster ${spec.clusterName}${described ? `: ${described}` : ''}${skipped.length > 0 ? `; skipped ${skipped.map((node) => `${node.machine} (${node.message})`).join(', ')}` : ''}`);
  }
  const nodes = status.nodes ?? [];
  const steps = status.steps ?? 0;
  for (const node of nodes) {
    const machine = observed.machines.get(node.machine);
    if (machine?.hostVersion !== undefined) node.hostVersion = machine.hostVersion;
    if (machine?.nodeName) node.node = machine.nodeName;
  }
  const setState = (node: NodeRollout, state: NodeRolloutState, message?: string) => {
    node.state = state;
    node.time = time;
    if (message === undefined) delete node.message;
    else node.message = message;
  };
  const checksOf = (node: NodeRollout): CheckResult[] => [...builtInChecks(node, pkg, observed.machines.get(node.machine), observed.nodes?.get(node.machine)), ...(observed.checks.get(node.machine) ?? [])];

  const failurePolicy = spec.failurePolicy ?? 'Rollback';
  // Forward: move the Machines in flight along, and stop at the first failed verification.
  // Research section c, rule 1: when the observer may be at fault (the guest API does not answer),
  // nothing is judged: no check fails, no timeout runs out, nothing starts.
  const guestSeen = observed.nodes !== undefined;
  if (!guestSeen && status.startTime) {
    conditions.set(RolloutCondition.Progressing, { type: RolloutCondition.Progressing, status: 'True', reason: RolloutReason.Waiting, message: `the guest API of Cluster ${spec.clusterName} does not answer: holding; nothing is judged or started until it does` });
    wake(5_000);
    return finish();
  }
  if (!status.failure && status.phase !== 'RollingBack') {
    for (const node of nodes) {
      const machine = observed.machines.get(node.machine);
      const started = node.startTime ? new Date(node.startTime).getTime() : now.getTime();
      const fail = (result: CheckResult, after: string) => {
        node.failed = true;
        setState(node, 'Failed', `${result.check}: ${result.message}`);
        status.failure ??= { machine: node.machine, node: node.node, check: result.check, message: `${node.node ?? node.machine} failed ${result.check} ${after}: ${result.message}`, time };
      };
      if (node.state === 'Draining') {
        const nodeSeen = observed.nodes?.get(node.machine);
        const drain = observed.drains.get(node.machine);
        if (nodeSeen?.unschedulable && (!drainRequired(rollout) || (drain && drain.left === 0))) {
          setState(node, 'Upgrading');
          normal('NodeUpgrading', `${node.node ?? node.machine}: cordoned${drainRequired(rollout) ? ' and drained' : ''}; ${pkg} ${node.fromVersion ?? '(none)'} -> ${target}`);
        } else if (drain && drain.left > 0) {
          node.message = drain.blocked.length > 0 ? `evictions refused by a PodDisruptionBudget: ${drain.blocked.join(', ')}` : `waiting for ${drain.left} evicted pod(s) to terminate`;
        }
      } else if (node.state === 'Upgrading') {
        const applied = machine !== undefined && machine.override === target && machineCaughtUp(machine);
        if (applied && machine.packagesInstalled?.status === 'False' && (machine.packagesInstalled.reason === 'InstallFailed' || machine.packagesInstalled.reason === 'Refused')) {
          fail({ check: 'PackageInstalled', ok: false, message: machine.packagesInstalled.message }, 'while installing');
        } else if (applied && machine.hostVersion === target) {
          setState(node, 'Verifying');
          normal('NodeUpgraded', `${node.node ?? node.machine}: the host records ${pkg} ${target}; verifying`);
        } else if (now.getTime() - started > timeoutMs) {
          fail({ check: 'PackageInstalled', ok: false, message: `the host still records ${pkg} ${machine?.hostVersion ?? '(none)'}` }, `within ${spec.verification?.timeout ?? DEFAULT_TIMEOUT}`);
        }
      } else if (node.state === 'Verifying') {
        const failed = firstFailure(checksOf(node));
        if (!failed) {
          setState(node, 'Soaking');
          normal('NodeHealthy', `${node.node ?? node.machine}: ${pkg} ${target} passes every check; uncordoned, soaking`);
        } else if (now.getTime() - started > timeoutMs) {
          fail(failed, `within ${spec.verification?.timeout ?? DEFAULT_TIMEOUT} of its upgrade`);
        } else {
          node.message = `waiting for ${failed.check}: ${failed.message}`;
        }
      } else if (node.state === 'Soaking') {
        const failed = firstFailure(checksOf(node));
        if (failed) fail(failed, 'while soaking');
      }
    }
    const failure = status.failure as PackageRolloutStatus['failure'];
    if (failure) {
      warning('VerificationFailed', `${failure.message}; ${failurePolicy === 'Rollback' ? 'rolling back every upgraded Machine in reverse order' : 'paused by failurePolicy Pause'}; the failed Node stays cordoned`);
    }
  }

  if (status.failure) {
    conditions.set(RolloutCondition.Verified, { type: RolloutCondition.Verified, status: 'False', reason: RolloutReason.CheckFailed, message: status.failure.message });
    if (failurePolicy === 'Pause' && status.phase !== 'RollingBack') {
      status.phase = 'Paused';
      conditions.set(RolloutCondition.Paused, { type: RolloutCondition.Paused, status: 'True', reason: RolloutReason.PausedByFailurePolicy, message: `${status.failure.message}; nothing more starts. Set spec.failurePolicy to Rollback to roll back` });
      conditions.set(RolloutCondition.Progressing, { type: RolloutCondition.Progressing, status: 'False', reason: RolloutReason.PausedByFailurePolicy, message: status.failure.message });
      return finish();
    }
    rollBack();
    return finish();
  }

  // Steps: the current one is verified once every Machine in it passed its checks for the soak time.
  let current = status.currentStep ?? 0;
  const inStep = (step: number) => nodes.filter((node) => node.step === step && node.state !== 'Skipped');
  while (current < steps) {
    const members = inStep(current);
    if (!members.every((node) => node.state === 'Soaking' || node.state === 'Verified')) break;
    status.stepHealthySince ??= time;
    const soaked = now.getTime() - new Date(status.stepHealthySince).getTime();
    if (soaked < soakMs) {
      wake(soakMs - soaked);
      break;
    }
    for (const node of members) if (node.state === 'Soaking') setState(node, 'Verified');
    normal('StepVerified', `${stepName(current, steps)} verified: ${members.map((node) => node.node ?? node.machine).join(', ')} passed every check for ${spec.verification?.soak ?? DEFAULT_SOAK}`);
    delete status.stepHealthySince;
    current++;
  }
  status.currentStep = current;

  if (current >= steps) {
    const cpv = observed.packageVersion;
    if (cpv?.version === target && (cpv.observedGeneration ?? -1) >= cpv.generation) {
      status.phase = 'Succeeded';
      status.completionTime = time;
      status.packageVersionGeneration = cpv.generation;
      conditions.set(RolloutCondition.Progressing, { type: RolloutCondition.Progressing, status: 'False', reason: steps === 0 ? RolloutReason.NothingToDo : RolloutReason.Succeeded, message: `every Machine verified on ${pkg} ${target}; ClusterPackageVersion ${spec.clusterName} holds it (generation ${cpv.generation})` });
      conditions.set(RolloutCondition.Verified, { type: RolloutCondition.Verified, status: 'True', reason: RolloutReason.ChecksPassing, message: `${nodes.filter((node) => node.state === 'Verified').length} Machine(s) verified` });
      conditions.set(RolloutCondition.Paused, { type: RolloutCondition.Paused, status: 'False', reason: RolloutReason.NotPaused, message: '' });
      normal('Succeeded', `${pkg} ${target} on every selected Machine; ClusterPackageVersion ${spec.clusterName} moved to it, so Machines added later get it`);
      return finish();
    }
    promote = true;
    status.phase = 'Verifying';
    conditions.set(RolloutCondition.Progressing, { type: RolloutCondition.Progressing, status: 'True', reason: RolloutReason.Promoting, message: `every Machine verified; ClusterPackageVersion ${spec.clusterName}: ${pkg} -> ${target}, waiting for the Node operator to observe it` });
    if (cpv?.version !== target) normal('Promoting', `ClusterPackageVersion ${spec.clusterName}: ${pkg} ${cpv?.version ?? '(none)'} -> ${target}`);
    wake(2_000);
    return finish();
  }

  // Start Machines of the current step, within the budget and one zone at a time, unless paused.
  const maxUnavailable = maxUnavailableCount(spec.maxUnavailable ?? '10%', nodes.filter((node) => node.state !== 'Skipped').length);
  const drainLimitMs = ms(spec.drain?.timeout, DEFAULT_DRAIN_TIMEOUT);
  const stuck = nodes.find((node) => node.state === 'Draining' && node.startTime && now.getTime() - new Date(node.startTime).getTime() > drainLimitMs);
  if (stuck) {
    const message = `draining ${stuck.node ?? stuck.machine} for more than ${spec.drain?.timeout ?? DEFAULT_DRAIN_TIMEOUT}: ${stuck.message ?? 'pods remain'}; pods are never deleted by force: resolve the PodDisruptionBudget or move the pods`;
    if (rollout.status?.conditions?.find((condition) => condition.type === RolloutCondition.Paused)?.reason !== RolloutReason.DrainTimeout) warning('DrainTimeout', message);
    conditions.set(RolloutCondition.Paused, { type: RolloutCondition.Paused, status: 'True', reason: RolloutReason.DrainTimeout, message });
  } else if (spec.paused) {
    const inFlight = nodes.filter((node) => IN_FLIGHT.includes(node.state)).length;
    const message = `spec.paused is true${observed.pausedBy ? ` (set by ${observed.pausedBy})` : ''}: no Machine starts; ${inFlight} in flight finish`;
    if (rollout.status?.conditions?.find((condition) => condition.type === RolloutCondition.Paused)?.status !== 'True') normal('Paused', message);
    conditions.set(RolloutCondition.Paused, { type: RolloutCondition.Paused, status: 'True', reason: RolloutReason.PausedBySpec, message });
  } else {
    if (rollout.status?.conditions?.find((condition) => condition.type === RolloutCondition.Paused)?.reason === RolloutReason.PausedBySpec) normal('Resumed', 'spec.paused is false: the rollout continues');
    conditions.set(RolloutCondition.Paused, { type: RolloutCondition.Paused, status: 'False', reason: RolloutReason.NotPaused, message: '' });
    if (observed.nodes) {
      const batchNodes: BatchNode[] = nodes
        .filter((node) => node.state !== 'Skipped')
        .map((node) => ({
          name: node.machine,
          zone: node.zone ?? '',
          step: node.step,
          progress: node.state === 'Pending' ? 'Pending' : IN_FLIGHT.includes(node.state) ? 'InFlight' : 'Done',
          unavailable: !(observed.machines.get(node.machine)?.ready ?? false) || !(observed.nodes?.get(node.machine)?.ready ?? false),
        }));
      const batch = selectBatch(batchNodes, current, maxUnavailable);
      let order = nodes.reduce((highest, node) => Math.max(highest, node.order ?? 0), 0);
      const byMachine = new Map(nodes.map((node) => [node.machine, node]));
      const firstOfStep = batch.start.length > 0 && inStep(current).every((node) => node.state === 'Pending');
      if (firstOfStep) normal('StepStarted', `${stepName(current, steps)}: ${inStep(current).map((node) => node.node ?? node.machine).join(', ')}`);
      for (const name of batch.start) {
        const node = byMachine.get(name);
        if (!node) continue;
        const machine = observed.machines.get(name);
        node.order = ++order;
        node.startTime = time;
        node.fromVersion = machine?.hostVersion ?? node.fromVersion;
        node.cordoned = !(observed.nodes.get(name)?.unschedulable ?? false);
        setState(node, 'Draining');
        normal('NodeStarted', `${stepName(current, steps)}: ${node.node ?? name} (zone ${node.zone || '-'}) ${drainRequired(rollout) ? 'cordoned and draining' : 'cordoned'} before ${pkg} ${node.fromVersion ?? '(none)'} -> ${target}`);
      }
    }
  }
  const stepMembers = inStep(current);
  status.phase = spec.paused || stuck ? 'Paused' : stepMembers.some((node) => node.state === 'Pending' || node.state === 'Draining' || node.state === 'Upgrading') ? stepPhase(current, steps) : 'Verifying';
  conditions.set(RolloutCondition.Progressing, { type: RolloutCondition.Progressing, status: 'True', reason: status.phase === 'Verifying' ? RolloutReason.Verifying : RolloutReason.Upgrading, message: `${stepName(current, steps)}: ${stepMembers.map((node) => `${node.node ?? node.machine} ${node.state}`).join(', ')}` });
  conditions.set(RolloutCondition.Verified, { type: RolloutCondition.Verified, status: 'True', reason: RolloutReason.ChecksPassing, message: `${nodes.filter((node) => node.state === 'Verified' || node.state === 'Soaking').length} Machine(s) pass their checks` });
  wake(2_000);
  return finish();

  /** Every upgraded Machine back to its previous version, one at a time, the last started first. */
  function rollBack(): void {
    if (status.phase !== 'RollingBack') normal('RollingBack', `rolling back ${nodes.filter((node) => UPGRADED.includes(node.state)).map((node) => node.node ?? node.machine).join(', ') || 'nothing'} in reverse order`);
    status.phase = 'RollingBack';
    conditions.set(RolloutCondition.Paused, { type: RolloutCondition.Paused, status: 'False', reason: RolloutReason.NotPaused, message: '' });
    for (const node of nodes) if (node.state === 'Draining') setState(node, 'RolledBack', 'stopped before its package changed');
    const active = nodes.find((node) => node.state === 'RollingBack');
    if (active) {
      const machine = observed.machines.get(active.machine);
      const nodeSeen = observed.nodes?.get(active.machine);
      const back = machine !== undefined && machine.override === undefined && machineCaughtUp(machine) && machine.hostVersion !== undefined && machine.hostVersion !== target;
      const nodeBack = nodeSeen?.ready === true && (pkg !== 'kubelet' || nodeSeen.kubeletVersion === `v${machine?.hostVersion ?? ''}`);
      if (back && nodeBack) {
        setState(active, 'RolledBack', active.failed ? `back at ${pkg} ${machine.hostVersion}; stays cordoned: it failed verification` : `back at ${pkg} ${machine.hostVersion}`);
        normal('NodeRolledBack', `${active.node ?? active.machine}: the host records ${pkg} ${machine.hostVersion} and the Node is Ready${active.failed ? '; it stays cordoned (failed verification)' : ''}`);
      } else if (now.getTime() - new Date(active.time).getTime() > timeoutMs) {
        status.phase = 'Failed';
        status.completionTime = time;
        const message = `rolling back ${active.node ?? active.machine} did not finish within ${spec.verification?.timeout ?? DEFAULT_TIMEOUT}: host records ${pkg} ${machine?.hostVersion ?? '(none)'}, Node ${nodeSeen ? (nodeSeen.ready ? 'Ready' : `NotReady (${nodeSeen.message})`) : 'not seen'}; a person must look at it`;
        active.message = message;
        conditions.set(RolloutCondition.Progressing, { type: RolloutCondition.Progressing, status: 'False', reason: RolloutReason.RollbackFailed, message });
        warning('RollbackFailed', message);
        return;
      } else {
        active.message = back ? `the host records ${pkg} ${machine.hostVersion}; waiting for the Node to be Ready` : `waiting for the host to record its previous ${pkg} (now ${machine?.hostVersion ?? '(none)'})`;
        conditions.set(RolloutCondition.Progressing, { type: RolloutCondition.Progressing, status: 'True', reason: RolloutReason.RollingBack, message: `${active.node ?? active.machine}: ${active.message}` });
        wake(2_000);
        return;
      }
    }
    const next = nodes.filter((node) => UPGRADED.includes(node.state)).sort((a, b) => (b.order ?? 0) - (a.order ?? 0))[0];
    if (next) {
      setState(next, 'RollingBack', `back to ${pkg} ${next.fromVersion ?? '(the Cluster default)'}`);
      normal('NodeRollingBack', `${next.node ?? next.machine}: cordoned; ${pkg} ${target} -> ${next.fromVersion ?? 'the Cluster default'}`);
      conditions.set(RolloutCondition.Progressing, { type: RolloutCondition.Progressing, status: 'True', reason: RolloutReason.RollingBack, message: `${next.node ?? next.machine}: back to ${pkg} ${next.fromVersion ?? '(the Cluster default)'}` });
      wake(1_000);
      return;
    }
    status.phase = 'RolledBack';
    status.completionTime = time;
    const failedNodes = nodes.filter((node) => node.failed).map((node) => node.node ?? node.machine);
    const message = `${status.failure?.message ?? 'verification failed'}; every upgraded Machine runs its previous ${pkg} again and ClusterPackageVersion ${spec.clusterName} is unchanged${failedNodes.length > 0 ? `; ${failedNodes.join(', ')} stay(s) cordoned` : ''}`;
    conditions.set(RolloutCondition.Progressing, { type: RolloutCondition.Progressing, status: 'False', reason: RolloutReason.RolledBack, message });
    normal('RolledBack', message);
  }
}
