// One pass over a PackageRollout: read the rollout, its Cluster's Machines, the guest Nodes, drains
// and checks once; decide the next status (progress.ts, pure); write it; then carry out what it
// records (components.ts). Deleting a rollout lifts the cordons it holds on Nodes that did not fail
// and leaves every Machine at the version it runs. All I/O comes in through the options.
import type { V1Node } from '@kubernetes/client-node';
import type { Machine } from '../../api/v1alpha1/machine.ts';
import { TERMINAL_PHASES, type PackageRollout } from '../../api/v1alpha1/package-rollout.ts';
import { findCondition, type Condition } from '../../controller/conditions.ts';
import type { ReconcileResult } from '../../controller/controller.ts';
import { findPackage } from '../../node/catalogue.ts';
import { kubeletSkewRefusal } from '../machine/package-plan.ts';
import { podsToEvict } from '../machine/drain.ts';
import { ROLLOUT_STEPS } from './components.ts';
import { decideRollout, drainRequired, type DrainObservation, type RolloutObservations } from './progress.ts';
import type { RolloutPass, RolloutReconcilerOptions } from './rollout-pass.ts';
import { runDeclaredCheck, type CheckResult, type MachineObservation, type NodeObservation } from './verification.ts';
import { matchesSelector } from './selector.ts';

export const ROLLOUT_FINALIZER = 'tessera.dev/package-rollout';

export class RolloutReconciler {
  private readonly options: RolloutReconcilerOptions;
  private readonly getRollout: (key: string) => PackageRollout | undefined | Promise<PackageRollout | undefined>;

  /** `getRollout` must not return a status older than this operator's last write of it (the cache may lag: operator.ts reads such an object from the API). */
  constructor(options: RolloutReconcilerOptions, getRollout: (key: string) => PackageRollout | undefined | Promise<PackageRollout | undefined>) {
    this.options = options;
    this.getRollout = getRollout;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    let rollout = await this.getRollout(key);
    if (!rollout) return {};
    const now = this.options.now?.() ?? new Date();
    const namespace = rollout.metadata.namespace ?? 'default';
    const { meta } = this.options;
    if (rollout.metadata.deletionTimestamp) return this.delete(rollout, namespace);
    const terminal = rollout.status?.phase !== undefined && TERMINAL_PHASES.includes(rollout.status.phase);
    // A finished rollout whose last actions were carried out (its finalizer gone) costs nothing.
    if (terminal && !rollout.metadata.finalizers?.includes(ROLLOUT_FINALIZER)) return {};
    if (!terminal && !rollout.metadata.finalizers?.includes(ROLLOUT_FINALIZER)) rollout = await meta.addFinalizer(rollout);
    const cluster = meta.getCluster(namespace, rollout.spec.clusterName);
    const packageVersion = meta.getPackageVersion(namespace, rollout.spec.clusterName);
    const machines = new Map(meta.listMachines(namespace, rollout.spec.clusterName).filter((machine) => matchesSelector(rollout.spec.selector, machine.metadata.labels ?? {})).map((machine) => [machine.metadata.name, machine]));
    const guest = cluster ? await this.options.guests(cluster) : undefined;
    const reachable = guest ? await guest.reachable() : false;
    const statusNodes = rollout.status?.nodes ?? [];
    // Nodes are read for every Machine the rollout plans or acts on (a Node informer per guest would scale further).
    const watched = rollout.status?.startTime ? statusNodes.filter((node) => node.state !== 'Skipped').map((node) => node.machine) : [...machines.keys()];
    let nodes: Map<string, NodeObservation | undefined> | undefined;
    if (guest && reachable) {
      nodes = new Map();
      for (const name of watched) {
        const machine = machines.get(name);
        const nodeName = machine?.status?.nodeName;
        nodes.set(name, nodeName ? observeNode(await guest.getNode(nodeName)) : undefined);
      }
    }
    const drains = new Map<string, DrainObservation>();
    const checks = new Map<string, CheckResult[]>();
    if (guest && nodes) {
      for (const entry of statusNodes) {
        if (!entry.node) continue;
        if (entry.state === 'Draining' && drainRequired(rollout)) {
          const left = podsToEvict(await guest.podsOnNode(entry.node));
          drains.set(entry.machine, { left: left.length, blocked: [] });
        }
        if ((entry.state === 'Verifying' || entry.state === 'Soaking') && rollout.spec.verification?.checks?.length) {
          checks.set(entry.machine, await Promise.all(rollout.spec.verification.checks.map((check) => runDeclaredCheck(check, entry.node ?? entry.machine, this.options.httpGet))));
        }
      }
    }
    const observed: RolloutObservations = {
      now,
      refusal: this.refusal(rollout, namespace, cluster !== undefined),
      machines: new Map([...machines.values()].map((machine) => [machine.metadata.name, observeMachine(machine, rollout.spec.package.name)])),
      nodes,
      drains,
      checks,
      packageVersion: packageVersion ? { version: packageVersion.spec.packages.find((entry) => entry.name === rollout.spec.package.name)?.version, generation: packageVersion.metadata.generation ?? 0, observedGeneration: packageVersion.status?.observedGeneration } : undefined,
      pausedBy: pausedBy(rollout),
    };
    const decision = decideRollout(rollout, observed);
    // Events first, in order and awaited: an operator killed after the status write must not lose
    // the Event of a step it recorded (the pass after a kill before the write decides it again).
    for (const event of decision.events) await (event.type === 'Warning' ? this.options.events.warning : this.options.events.normal)(rollout, event.reason, event.message);
    await meta.writeStatus(rollout, decision.status);
    const pass: RolloutPass = { rollout, namespace, machines, guest: reachable ? guest : undefined, nodes, packageVersion, decision, now };
    for (const step of ROLLOUT_STEPS) await step.run(pass, this.options);
    if (decision.status.phase && TERMINAL_PHASES.includes(decision.status.phase)) {
      // Finished: nothing is held any more (failed Nodes stay cordoned on purpose, recorded in status).
      if (rollout.metadata.finalizers?.includes(ROLLOUT_FINALIZER)) await meta.removeFinalizer(rollout);
      return {};
    }
    return { requeueAfter: guest && reachable ? (decision.requeueAfterMs ?? 5_000) : 10_000 };
  }

  /** Why this rollout may not run (it has not started yet): unknown package or version, skew, no Cluster, another rollout first. */
  private refusal(rollout: PackageRollout, namespace: string, clusterExists: boolean): RolloutObservations['refusal'] {
    const { name, version } = rollout.spec.package;
    try {
      findPackage(name, version);
    } catch (error) {
      return { reason: 'Invalid', message: `spec.package: ${(error as Error).message}` };
    }
    const cluster = this.options.meta.getCluster(namespace, rollout.spec.clusterName);
    if (!clusterExists || !cluster) return { reason: 'ClusterMissing', message: `spec.clusterName: Cluster ${namespace}/${rollout.spec.clusterName} does not exist` };
    if (name === 'kubelet') {
      const refusal = kubeletSkewRefusal(version, cluster.status?.versions?.apiServer ?? cluster.spec.version);
      if (refusal) return { reason: 'Invalid', message: `spec.package.version: ${refusal}` };
    }
    const blocking = this.options.meta.listRollouts(namespace, rollout.spec.clusterName).find((other) => other.metadata.name !== rollout.metadata.name && other.spec.package.name === name && blocks(other, rollout));
    if (blocking) return { reason: 'Conflict', message: `PackageRollout ${blocking.metadata.name} is rolling ${name} on Cluster ${rollout.spec.clusterName}: one rollout per Cluster and package at a time; this one starts when it finishes` };
    return undefined;
  }

  private async delete(rollout: PackageRollout, namespace: string): Promise<ReconcileResult> {
    if (!rollout.metadata.finalizers?.includes(ROLLOUT_FINALIZER)) return {};
    const cluster = this.options.meta.getCluster(namespace, rollout.spec.clusterName);
    const guest = cluster && !cluster.metadata.deletionTimestamp ? await this.options.guests(cluster) : undefined;
    if (guest && (await guest.reachable())) {
      for (const entry of rollout.status?.nodes ?? []) {
        if (!entry.cordoned || entry.failed || !entry.node) continue;
        const node = await guest.getNode(entry.node);
        if (node?.spec?.unschedulable) await guest.patchNode(entry.node, { unschedulable: false });
      }
    } else if (cluster && !cluster.metadata.deletionTimestamp) {
      this.options.logger.warn('rollout deleted while its guest does not answer: cordons it set stay', { rollout: rollout.metadata.name });
    }
    const pinned = (rollout.status?.nodes ?? []).filter((entry) => ['Upgrading', 'Verifying', 'Soaking', 'Verified', 'Failed'].includes(entry.state)).map((entry) => entry.machine);
    if (pinned.length > 0) await this.options.events.normal(rollout, 'Deleted', `deleted before it finished: ${pinned.join(', ')} keep ${rollout.spec.package.name} ${rollout.spec.package.version} through spec.packages (field manager tessera-package-rollout); remove the entries or start another rollout`);
    await this.options.meta.removeFinalizer(rollout);
    return {};
  }
}

/** Whether `other` holds the Cluster's package before `self`: it runs already, or both wait and it is older. */
function blocks(other: PackageRollout, self: PackageRollout): boolean {
  if (other.status?.phase && TERMINAL_PHASES.includes(other.status.phase)) return false;
  if (other.metadata.deletionTimestamp) return false;
  if (self.status?.startTime) return false;
  if (other.status?.startTime) return true;
  const age = (rollout: PackageRollout) => `${rollout.metadata.creationTimestamp ?? ''}/${rollout.metadata.name}`;
  return age(other) < age(self);
}

export function observeMachine(machine: Machine, pkg: string): MachineObservation {
  const conditions = machine.status?.conditions as Condition[] | undefined;
  const view = (type: string) => {
    const condition = findCondition(conditions, type);
    return condition ? { status: condition.status, reason: condition.reason, message: condition.message, observedGeneration: condition.observedGeneration } : undefined;
  };
  const ready = findCondition(conditions, 'Ready');
  return {
    name: machine.metadata.name,
    zone: machine.spec.zone ?? '',
    labels: machine.metadata.labels ?? {},
    nodeName: machine.status?.nodeName,
    generation: machine.metadata.generation ?? 0,
    observedGeneration: machine.status?.observedGeneration,
    override: machine.spec.packages?.find((entry) => entry.name === pkg)?.version,
    hostVersion: machine.status?.packages?.find((entry) => entry.name === pkg)?.version,
    ready: ready?.status === 'True',
    readyMessage: ready?.message ?? '',
    packagesInstalled: view('PackagesInstalled'),
    remediating: view('Remediating'),
  };
}

export function observeNode(node: V1Node | undefined): NodeObservation | undefined {
  if (!node) return undefined;
  const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
  return { ready: ready?.status === 'True', message: ready?.message ?? ready?.reason ?? 'no Ready condition', unschedulable: node.spec?.unschedulable === true, kubeletVersion: node.status?.nodeInfo?.kubeletVersion };
}

/** "kubectl-patch at 2026-…" from managedFields: who last set spec.paused. */
export function pausedBy(rollout: PackageRollout): string | undefined {
  const owner = rollout.metadata.managedFields?.find((entry) => entry.subresource === undefined && ((entry.fieldsV1 as { 'f:spec'?: Record<string, unknown> } | undefined)?.['f:spec']?.['f:paused'] !== undefined));
  return owner ? `${owner.manager ?? 'unknown'}${owner.time ? ` at ${owner.time}` : ''}` : undefined;
}
