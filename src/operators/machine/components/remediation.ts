// Remediating: repairs what the operator can fix on a joined host (containerd or kubelet service
// down, kubelet not answering, Node NotReady past the grace period), escalating with cooldowns:
// restart, reinstall, then ask for a replacement. remediation-policy.ts decides whether acting is
// safe; this file only observes and carries the decision out, with an Event for every step.
import { findCondition } from '../../../controller/conditions.ts';
import { findPackage } from '../../../node/catalogue.ts';
import { renderInstallScript } from '../../../node/host-install.ts';
import { mustRun } from '../host-access.ts';
import { probeHost } from './connection.ts';
import { setCondition, type MachinePass, type MachineReconcilerOptions } from '../machine-pass.ts';
import { MachineCondition, MachineReason } from '../status.ts';
import { DEFAULT_REMEDIATION, decideRemediation, type MachineHealth } from '../remediation-policy.ts';
import { nodeReadiness } from './node-status.ts';
import type { Machine } from '../../../api/v1alpha1/machine.ts';

/** What is wrong with this host that Tessera can fix, or undefined when nothing is. */
export function hostFault(pass: MachinePass, notReadyGraceMs: number): string | undefined {
  const { probe } = pass;
  if (!probe) return undefined;
  if (probe.services.containerd !== 'run') return `containerd service is ${probe.services.containerd}`;
  if (!probe.criServing) return 'containerd\'s CRI plugin is not serving';
  if (probe.services.kubelet !== 'run') return `kubelet service is ${probe.services.kubelet}`;
  if (!probe.kubeletHealthy) return 'the kubelet does not answer /healthz';
  const readiness = nodeReadiness(pass.node);
  if (pass.node && !readiness.ready && readiness.since && pass.now.getTime() - readiness.since.getTime() > notReadyGraceMs) return `Node NotReady since ${readiness.since.toISOString()}: ${readiness.message}`;
  return undefined;
}

/**
 * A Machine's health as its last status says: one that is still joining is not unhealthy; one
 * that is not Ready, or has a fault remediation repairs or holds, is.
 */
export function peerHealth(machine: Pick<Machine, 'metadata' | 'spec' | 'status'>): MachineHealth {
  const remediating = findCondition(machine.status?.conditions as never, MachineCondition.Remediating);
  const faulty = remediating?.status === 'True' || (remediating?.reason ?? '').startsWith('Held') || remediating?.reason === MachineReason.WaitingForHost;
  const down = ['NotReady', 'Remediating', 'Failed'].includes(machine.status?.phase ?? 'Pending');
  return { name: machine.metadata.name, zone: machine.spec.zone ?? '', healthy: !faulty && !down, remediating: remediating?.status === 'True' };
}

/** Every Machine of the pass's Cluster, with this one as just observed. */
function peersOf(pass: MachinePass, self: MachineHealth, options: MachineReconcilerOptions): MachineHealth[] {
  const peers = options.meta.listMachines(pass.namespace, pass.machine.spec.clusterName).map((peer) => (peer.metadata.name === pass.machine.metadata.name ? self : peerHealth(peer)));
  if (!peers.some((peer) => peer.name === self.name)) peers.push(self);
  return peers;
}

/**
 * A joined host that does not answer SSH: nothing can be repaired over SSH, so Remediating says
 * whether it is held (too many Machines down at once: the network, not the hosts) or waits for
 * the host, and what a person can do.
 */
export async function reportUnreachableHost(pass: MachinePass, options: MachineReconcilerOptions): Promise<void> {
  const { machine } = pass;
  if (!machine.status?.nodeName) return;
  const settings = options.remediation ?? DEFAULT_REMEDIATION;
  const fault = `the host does not answer SSH (${machine.spec.address}:${machine.spec.port ?? 22})`;
  const self: MachineHealth = { name: machine.metadata.name, zone: machine.spec.zone ?? '', healthy: false, remediating: machine.status.remediation !== undefined };
  const rollout = await options.meta.rolloutChanging(pass.namespace, machine.spec.clusterName, machine.metadata.name);
  // The guest rule needs the guest's answer, which this pass never asked for: left out here.
  const decision = decideRemediation({ machine: self, peers: peersOf(pass, self, options), guestReachable: true, rollout, now: pass.now, settings });
  const previous = findCondition(machine.status.conditions as never, MachineCondition.Remediating);
  if (decision.action === 'hold' && decision.reason !== 'CoolingDown') {
    const message = `${fault}: ${decision.message}`;
    setCondition(pass, { type: MachineCondition.Remediating, status: 'False', reason: MachineReason[decision.reason], message });
    if (previous?.reason !== decision.reason) options.events.warning(machine, 'RemediationHeld', message);
    return;
  }
  setCondition(pass, { type: MachineCondition.Remediating, status: 'False', reason: MachineReason.WaitingForHost, message: `${fault}: nothing can be repaired until it does; if it stays down, replace it (delete this Machine and bring a new host)` });
}

export async function remediate(pass: MachinePass, options: MachineReconcilerOptions): Promise<void> {
  const { host, probe, machine } = pass;
  if (!host || !probe || !probe.kubeletJoined) return;
  const settings = options.remediation ?? DEFAULT_REMEDIATION;
  const fault = hostFault(pass, settings.notReadyGraceMs);
  const self: MachineHealth = { name: machine.metadata.name, zone: machine.spec.zone ?? '', healthy: fault === undefined, remediating: pass.machine.status?.remediation !== undefined };
  const peers = peersOf(pass, self, options);
  const last = machine.status?.remediation;
  // Only a faulty Machine asks whether a rollout is changing it (one list, and only then).
  const rollout = fault ? await options.meta.rolloutChanging(pass.namespace, machine.spec.clusterName, machine.metadata.name) : undefined;
  const decision = decideRemediation({ machine: self, peers, guestReachable: pass.guestReachable ?? false, rollout, last: last ? { step: last.step, time: new Date(last.lastActionTime) } : undefined, now: pass.now, settings });
  if (decision.action === 'none') {
    if (last) options.events.normal(machine, 'Remediated', `the host is healthy again after ${['a restart', 'a reinstall', 'replacement'][last.step] ?? 'remediation'}`);
    pass.status.remediation = undefined;
    setCondition(pass, { type: MachineCondition.Remediating, status: 'False', reason: MachineReason.Healthy, message: 'nothing to repair' });
    return;
  }
  pass.requeueAfterMs = 5_000;
  if (decision.action === 'hold') {
    if (last) pass.status.remediation = last;
    const reason = MachineReason[decision.reason];
    setCondition(pass, { type: MachineCondition.Remediating, status: decision.reason === 'CoolingDown' ? 'True' : 'False', reason, message: `${fault}: ${decision.message}` });
    if (decision.reason !== 'CoolingDown') options.events.warning(machine, 'RemediationHeld', `${fault}: ${decision.message}`);
    return;
  }
  const time = pass.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  pass.status.remediation = { step: decision.step, lastActionTime: time, reason: fault ?? '' };
  if (decision.action === 'replace') {
    setCondition(pass, { type: MachineCondition.Remediating, status: 'True', reason: MachineReason.ReplacementRequired, message: `${fault}: restart and reinstall did not help; replace this host (delete the Machine and bring a new one)` });
    options.events.warning(machine, 'ReplacementRequired', `${fault}: restart and reinstall did not help`);
    return;
  }
  if (decision.action === 'restart') {
    pass.status.lastOperation = { type: 'Restart', description: 'restart containerd and the kubelet', state: 'Succeeded', time };
    await mustRun(host, 'restart services', ['containerd', 'kubelet'].map((service) => `if [ -L /etc/service/${service} ]; then sv up /etc/service/${service}; sv restart /etc/service/${service} >/dev/null; fi`).join('\n'), 60);
    options.events.normal(machine, 'ServiceRestarted', `${fault}: restarted containerd and the kubelet`);
    setCondition(pass, { type: MachineCondition.Remediating, status: 'True', reason: MachineReason.ServiceRestarted, message: `${fault}: restarted containerd and the kubelet (step 1 of 3)` });
  } else {
    const kubelet = probe.packages.find((entry) => entry.name === 'kubelet');
    if (!kubelet) throw new Error('the host reports no kubelet package to reinstall');
    const artifact = await options.artifacts(findPackage('kubelet', kubelet.version));
    pass.status.lastOperation = { type: 'Reinstall', description: `reinstall kubelet ${kubelet.version}`, state: 'Succeeded', time };
    await host.upload(artifact.archive, `/var/lib/tessera/uploads/kubelet-${kubelet.version}.tar.gz`, 300);
    await mustRun(host, 'reinstall the kubelet', `${renderInstallScript(artifact.manifest, artifact.sha256, { reinstall: true })}\nsv up /etc/service/kubelet; sv restart /etc/service/kubelet >/dev/null`, 300);
    options.events.normal(machine, 'PackageReinstalled', `${fault}: reinstalled kubelet ${kubelet.version} and restarted it`);
    setCondition(pass, { type: MachineCondition.Remediating, status: 'True', reason: MachineReason.PackageReinstalled, message: `${fault}: reinstalled kubelet ${kubelet.version} (step 2 of 3)` });
  }
  await probeHost(pass);
}
