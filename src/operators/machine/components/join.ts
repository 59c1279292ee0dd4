// NodeJoined: once the packages are in and the guest answers, start the kubelet with the guest's
// CA pinned and a bootstrap token issued for this Machine alone (minutes of life; deleted once
// its Node is Ready, kubelet-certificates.ts); the kubelet asks for its client certificate
// through a CSR that only this Machine's identity gets approved. A kubelet that already holds its
// certificate and runs is left alone (a stopped one is remediation's business).
import { cidr, formatAddress } from '../../../plan/cidr.ts';
import { kubeletStep, podNetworkStep } from '../../../node/join-steps.ts';
import { isConditionTrue } from '../../../controller/conditions.ts';
import { mustRun } from '../host-access.ts';
import { nodeNameOf, setCondition, type GuestApi, type MachinePass, type MachineReconcilerOptions } from '../machine-pass.ts';
import { MachineCondition, MachineReason } from '../status.ts';

/** The cluster DNS address: the tenth address of the Service range, like kubeadm. */
export function clusterDnsAddress(serviceCIDR: string): string {
  const range = cidr(serviceCIDR);
  return formatAddress(range.family, range.first + 10n);
}

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** A Machine's bootstrap token lives long enough for one join, no longer. */
export const MACHINE_TOKEN_TTL_MS = 15 * 60_000;
/** A token with less life left than this is not handed to a kubelet that may take a while to start. */
const MIN_TOKEN_LIFE_MS = 5 * 60_000;

/** This Machine's usable bootstrap token, issued when it has none with enough life left. */
async function machineToken(pass: MachinePass, options: MachineReconcilerOptions, guest: GuestApi): Promise<{ token: string; issued: boolean }> {
  const uid = pass.machine.metadata.uid;
  if (!uid) throw new Error('the Machine has no metadata.uid: read it from the API server');
  const now = pass.now.getTime();
  const usable = (await guest.machineBootstrapTokens(uid)).filter((token) => token.expiresAt.getTime() - now >= MIN_TOKEN_LIFE_MS).sort((a, b) => b.expiresAt.getTime() - a.expiresAt.getTime())[0];
  if (usable) return { token: usable.token, issued: false };
  const issued = await guest.issueMachineBootstrapToken(uid, `joins Machine ${pass.namespace}/${pass.machine.metadata.name} as a Node`, pass.now, new Date(now + MACHINE_TOKEN_TTL_MS));
  options.events.normal(pass.machine, 'BootstrapTokenIssued', `bootstrap token ${issued.id} issued for this Machine only, valid until ${issued.expiresAt.toISOString()}`);
  return { token: issued.token, issued: true };
}

export async function joinNode(pass: MachinePass, options: MachineReconcilerOptions): Promise<void> {
  const { host, probe, cluster } = pass;
  if (!host || !probe || !cluster) return;
  const waiting = (message: string, afterMs: number) => {
    setCondition(pass, { type: MachineCondition.NodeJoined, status: 'False', reason: MachineReason.WaitingForGuest, message });
    pass.stop = true;
    pass.requeueAfterMs = afterMs;
  };
  if (!isConditionTrue(cluster.status?.conditions as never, 'Ready')) return waiting(`Cluster ${cluster.metadata.name} is not Ready yet`, 10_000);
  const guest = await options.guests(cluster);
  if (!guest) return waiting(`Cluster ${cluster.metadata.name} has no admin kubeconfig yet`, 10_000);
  pass.guest = guest;
  pass.guestReachable = await guest.reachable();
  if (!pass.guestReachable) return waiting(`the guest API of ${cluster.metadata.name} does not answer`, 10_000);
  const nodeName = nodeNameOf(pass);
  if (!nodeName) throw new Error('the host reported no hostname and spec.hostname is unset: set spec.hostname');
  pass.status.nodeName = nodeName;
  pass.node = await guest.getNode(nodeName);
  if (probe.kubeletJoined && probe.services.kubelet !== 'missing') {
    if (pass.node) setCondition(pass, { type: MachineCondition.NodeJoined, status: 'True', reason: MachineReason.Joined, message: `Node ${nodeName}` });
    else {
      setCondition(pass, { type: MachineCondition.NodeJoined, status: 'False', reason: MachineReason.WaitingForNode, message: `the kubelet holds its certificate; Node ${nodeName} is not registered yet` });
      pass.requeueAfterMs = 3_000;
    }
    return;
  }
  const { token, issued } = await machineToken(pass, options, guest);
  if (probe.services.kubelet === 'run' && !issued) {
    // Started with this token, it waits for its client certificate (kubelet-certificates.ts approves it).
    setCondition(pass, { type: MachineCondition.NodeJoined, status: 'False', reason: MachineReason.WaitingForCertificate, message: `the kubelet runs and waits for its client certificate; Node ${nodeName} registers once it has one` });
    pass.requeueAfterMs = 2_000;
    return;
  }
  const network = cluster.spec.network ?? {};
  if (!options.fabric) throw new Error('no node fabric is configured: the operator cannot give the host a pod subnet (run it with the local fabric, or route pod subnets and set one per host)');
  const { podSubnet, guestObjects } = await options.fabric.prepareHost({ machine: pass.machine, server: guest.server, podCIDR: network.podCIDR ?? '10.244.0.0/16', nodeMaskSize: network.nodeCIDRMaskSize ?? 24 });
  if (guestObjects && guestObjects.length > 0) await guest.applyObjects(guestObjects);
  const labels: Record<string, string> = pass.machine.spec.zone ? { [ZONE_LABEL]: pass.machine.spec.zone } : {};
  const steps = [
    podNetworkStep(podSubnet),
    kubeletStep({ nodeName, nodeIP: probe.nodeIP, labels, cgroupRoot: probe.cgroup, server: guest.server, caPem: guest.caPem, bootstrapToken: token, clusterDNS: clusterDnsAddress(network.serviceCIDR ?? '10.96.0.0/12'), clusterDomain: network.clusterDomain ?? 'cluster.local' }),
  ];
  pass.status.lastOperation = { type: 'Join', description: `join as ${nodeName}`, state: 'Succeeded', time: pass.now.toISOString() };
  try {
    for (const step of steps) await mustRun(host, step.name, step.script, 120);
    // A kubelet still waiting with an older token reads the new one only when it starts again.
    if (probe.services.kubelet === 'run') await mustRun(host, 'restart the kubelet with the new bootstrap token', 'sv restart /etc/service/kubelet >/dev/null', 60);
  } catch (error) {
    const message = (error as Error).message;
    pass.status.lastOperation = { ...pass.status.lastOperation, state: 'Failed', error: message.slice(0, 1000) };
    setCondition(pass, { type: MachineCondition.NodeJoined, status: 'False', reason: MachineReason.JoinFailed, message });
    options.events.warning(pass.machine, 'JoinFailed', message);
    pass.stop = true;
    throw error;
  }
  options.events.normal(pass.machine, 'KubeletStarted', `kubelet started as ${nodeName} (${probe.nodeIP}, pod subnet ${podSubnet}) with this Machine's bootstrap token`);
  setCondition(pass, { type: MachineCondition.NodeJoined, status: 'False', reason: MachineReason.WaitingForNode, message: `kubelet started; waiting for Node ${nodeName} to register` });
  pass.requeueAfterMs = 2_000;
}
