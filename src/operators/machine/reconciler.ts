// One pass over a Machine: read the Machine and its Cluster once, walk the steps (connect and
// verify the host key, install packages, join, observe the Node, remediate), summarise the
// conditions, write status once. Deleting a Machine takes the Node out of the guest and cleans
// the host before the finalizer goes. All I/O comes in through the options.
import type { Machine, MachinePhase, MachineStatus } from '../../api/v1alpha1/machine.ts';
import { SKIP_HOST_CLEANUP_ANNOTATION } from '../../api/v1alpha1/machine.ts';
import { findCondition, setCondition as setConditionIn, type Condition } from '../../controller/conditions.ts';
import type { ReconcileResult } from '../../controller/controller.ts';
import { splitObjectKey } from '../../controller/informer.ts';
import { MACHINE_STEPS } from './components.ts';
import { peerHealth, reportUnreachableHost } from './components/remediation.ts';
import { CLEANUP_SCRIPT } from './components/host-cleanup.ts';
import { mustRun } from './host-access.ts';
import { podName, podsToEvict } from './drain.ts';
import type { MachinePass, MachineReconcilerOptions } from './machine-pass.ts';
import { CLUSTER_MACHINES_CONDITION, MachineCondition, MachineReason, READY_INPUTS } from './status.ts';
import { DEFAULT_REMEDIATION, clusterMachinesHealth } from './remediation-policy.ts';

export const MACHINE_FINALIZER = 'tessera.dev/machine-cleanup';
export const DEFAULT_HEALTH_CHECK_PERIOD_MS = 30_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10 * 60_000;

export class MachineReconciler {
  private readonly options: MachineReconcilerOptions;
  private readonly getMachine: (key: string) => Machine | undefined;

  constructor(options: MachineReconcilerOptions, getMachine: (key: string) => Machine | undefined) {
    this.options = options;
    this.getMachine = getMachine;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    let machine = this.getMachine(key);
    if (!machine) return {};
    if (machine.metadata.deletionTimestamp) return this.delete(machine);
    if (!machine.metadata.finalizers?.includes(MACHINE_FINALIZER)) machine = await this.options.meta.addFinalizer(machine);
    const namespace = machine.metadata.namespace ?? splitObjectKey(key).namespace ?? 'default';
    const pass: MachinePass = { machine, namespace, cluster: await this.options.meta.getCluster(namespace, machine.spec.clusterName), now: this.now(), conditions: new Map(), status: structuredClone(machine.status ?? {}) };
    if (pass.cluster?.metadata.uid && !machine.metadata.ownerReferences?.some((owner) => owner.uid === pass.cluster?.metadata.uid)) await this.options.meta.setOwner(machine, pass.cluster);
    let failure: unknown;
    try {
      for (const step of MACHINE_STEPS) {
        await step.run(pass, this.options);
        if (pass.stop) break;
      }
      if (pass.conditions.get(MachineCondition.HostReachable)?.reason === MachineReason.Unreachable) await reportUnreachableHost(pass, this.options);
    } catch (error) {
      failure = error;
      this.options.logger.warn('machine pass failed', { machine: key, error: (error as Error).message });
    } finally {
      pass.host?.close();
    }
    const status = this.summarise(pass);
    await this.options.meta.writeStatus(machine, status);
    if (pass.cluster) await this.reportClusterMachines(pass, status);
    if (failure) return { requeue: true };
    return { requeueAfter: pass.requeueAfterMs ?? this.options.healthCheckPeriodMs ?? DEFAULT_HEALTH_CHECK_PERIOD_MS };
  }

  /** The Cluster's MachinesHealthy condition, from every Machine's Ready (this one's as just computed). */
  private async reportClusterMachines(pass: MachinePass, status: MachineStatus): Promise<void> {
    const cluster = pass.cluster;
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    const peers = this.options.meta.listMachines(pass.namespace, cluster.metadata.name).filter((peer) => !peer.metadata.deletionTimestamp && peer.metadata.name !== pass.machine.metadata.name).map(peerHealth);
    peers.push(peerHealth({ ...pass.machine, status }));
    const health = clusterMachinesHealth(peers, pass.guestReachable, this.options.remediation ?? DEFAULT_REMEDIATION);
    const own = ((cluster.status?.conditions ?? []) as Condition[]).filter((condition) => condition.type === CLUSTER_MACHINES_CONDITION);
    const conditions = setConditionIn(own, { type: CLUSTER_MACHINES_CONDITION, ...health }, cluster.metadata.generation, pass.now);
    const before = own[0];
    if (await this.options.meta.writeClusterConditions(cluster, conditions)) {
      if (health.status === 'False' && health.reason !== 'Remediating' && before?.reason !== health.reason) this.options.events.warning(cluster, 'RemediationHeld', health.message);
    }
  }

  /** Conditions with times, the Ready summary, the phase. */
  private summarise(pass: MachinePass): MachineStatus {
    const generation = pass.machine.metadata.generation;
    let conditions: Condition[] = (pass.status.conditions ?? []) as Condition[];
    for (const update of pass.conditions.values()) conditions = setConditionIn(conditions, update, generation, pass.now);
    const notTrue = READY_INPUTS.filter((type) => findCondition(conditions, type)?.status !== 'True');
    conditions = setConditionIn(conditions, notTrue.length === 0 ? { type: MachineCondition.Ready, status: 'True', reason: MachineReason.AllTrue, message: 'the Node is Ready with the declared packages' } : { type: MachineCondition.Ready, status: 'False', reason: MachineReason.NotAllTrue, message: `not yet: ${notTrue.join(', ')}` }, generation, pass.now);
    const status: MachineStatus = { ...pass.status, conditions: conditions as MachineStatus['conditions'], observedGeneration: generation ?? 0 };
    if (status.remediation === undefined) delete status.remediation;
    status.phase = phaseOf(conditions, pass.machine.status?.phase);
    return status;
  }

  private async delete(machine: Machine): Promise<ReconcileResult> {
    if (!machine.metadata.finalizers?.includes(MACHINE_FINALIZER)) return {};
    const namespace = machine.metadata.namespace ?? 'default';
    const now = this.now();
    const status: MachineStatus = structuredClone(machine.status ?? {});
    status.phase = 'Deleting';
    try {
      const waiting = await this.drainAndRemoveNode(machine, namespace, now);
      if (waiting) {
        status.lastOperation = { type: 'Drain', description: waiting, state: 'Failed', time: machine.status?.lastOperation?.type === 'Drain' ? machine.status.lastOperation.time : now.toISOString().replace(/\.\d{3}Z$/, 'Z'), error: waiting };
        await this.options.meta.writeStatus(machine, status);
        return { requeueAfter: 5_000 };
      }
      // A host whose key was never verified had nothing run on it: there is nothing to clean,
      // and logging in to a host that presents another key is exactly what must not happen.
      if (machine.status?.hostKeyFingerprint) await this.cleanHost(machine, namespace);
    } catch (error) {
      const message = (error as Error).message;
      if (machine.metadata.annotations?.[SKIP_HOST_CLEANUP_ANNOTATION] === 'true') {
        this.options.events.warning(machine, 'CleanupSkipped', `${message}; released anyway (${SKIP_HOST_CLEANUP_ANNOTATION}=true)`);
      } else {
        status.lastOperation = { type: 'Cleanup', description: 'take the host out', state: 'Failed', time: now.toISOString(), error: message.slice(0, 1000) };
        status.conditions = setConditionIn(status.conditions as Condition[], { type: MachineCondition.Ready, status: 'False', reason: MachineReason.CleanupFailed, message: `${message}; the Machine stays until the host is clean. To give up on a dead host: kubectl annotate machine ${machine.metadata.name} ${SKIP_HOST_CLEANUP_ANNOTATION}=true` }, machine.metadata.generation, now) as MachineStatus['conditions'];
        await this.options.meta.writeStatus(machine, status);
        this.options.events.warning(machine, 'CleanupFailed', message);
        return { requeue: true };
      }
    }
    this.options.events.normal(machine, 'HostCleaned', 'Node deleted from the guest; services stopped and packages removed from the host');
    await this.options.meta.removeFinalizer(machine);
    return {};
  }

  /**
   * Cordons the Node, evicts its pods (PodDisruptionBudgets respected, never forced) and deletes
   * it. Returns why it still waits, or undefined when the Node is gone.
   */
  private async drainAndRemoveNode(machine: Machine, namespace: string, now: Date): Promise<string | undefined> {
    const nodeName = machine.status?.nodeName;
    if (!nodeName) return undefined;
    const cluster = await this.options.meta.getCluster(namespace, machine.spec.clusterName);
    // A Cluster being deleted takes its guest with it: there is no Node to take out.
    if (!cluster || cluster.metadata.deletionTimestamp) return undefined;
    const guest = await this.options.guests(cluster);
    if (!guest) return undefined;
    const node = await guest.getNode(nodeName);
    if (!node) return undefined;
    if (!node.spec?.unschedulable) await guest.patchNode(nodeName, { unschedulable: true });
    const left = podsToEvict(await guest.podsOnNode(nodeName));
    const blocked: string[] = [];
    for (const pod of left) {
      if (pod.metadata?.deletionTimestamp) continue;
      if ((await guest.evictPod(pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '')) === 'blocked') blocked.push(podName(pod));
    }
    if (left.length > 0) {
      const since = machine.status?.lastOperation?.type === 'Drain' ? new Date(machine.status.lastOperation.time) : now;
      const overdue = now.getTime() - since.getTime() > (this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
      const why = blocked.length > 0 ? `evictions refused by a PodDisruptionBudget: ${blocked.join(', ')}` : `waiting for ${left.length} evicted pod(s) to terminate: ${left.map(podName).join(', ')}`;
      if (overdue) this.options.events.warning(machine, 'DrainTimeout', `draining ${nodeName} since ${since.toISOString()}: ${why}; pods are never deleted by force: resolve the budget or delete them yourself`);
      return `draining ${nodeName}: ${why}`;
    }
    await guest.deleteNode(nodeName);
    return undefined;
  }

  private async cleanHost(machine: Machine, namespace: string): Promise<void> {
    const ssh = machine.spec.ssh;
    const secret = await this.options.meta.readSecret(namespace, ssh.privateKeySecretRef.name);
    const privateKey = secret?.[ssh.privateKeySecretRef.key ?? 'ssh-privatekey'];
    if (!privateKey) throw new Error(`cannot log in to clean the host: Secret ${namespace}/${ssh.privateKeySecretRef.name} has no private key`);
    const host = await this.options.connect({ address: machine.spec.address, port: machine.spec.port ?? 22, user: ssh.user ?? 'root', privateKey, hostKey: ssh.hostKey });
    try {
      await mustRun(host, 'clean the host', CLEANUP_SCRIPT, 120);
    } finally {
      host.close();
    }
  }
}

export function phaseOf(conditions: readonly Condition[], previous: MachinePhase | undefined): MachinePhase {
  const status = (type: string) => findCondition(conditions, type);
  if (status(MachineCondition.HostKeyVerified)?.status === 'False' || status(MachineCondition.PackagesInstalled)?.reason === MachineReason.Refused || status(MachineCondition.Remediating)?.reason === MachineReason.ReplacementRequired) return 'Failed';
  if (status(MachineCondition.Remediating)?.status === 'True') return 'Remediating';
  if (status(MachineCondition.Ready)?.status === 'True') return 'Ready';
  if (previous === 'Ready' || previous === 'Remediating' || previous === 'NotReady') return 'NotReady';
  if (status(MachineCondition.NodeJoined)?.reason === MachineReason.WaitingForGuest) return 'Pending';
  return 'Provisioning';
}
