// Kubelet certificates: approve the CSRs of this Machine's kubelet (its client certificate when
// joining and renewing, its serving certificate for its own names) and deny requests that claim
// its Node with anything else; nothing in the guest approves them otherwise. Once the Node is
// Ready its bootstrap tokens have done their work and are deleted.
import { judgeKubeletCsr } from '../kubelet-csr.ts';
import type { MachinePass, MachineReconcilerOptions } from '../machine-pass.ts';
import { nodeReadiness } from './node-status.ts';

/** How soon to look again while the kubelet waits for a certificate. */
const CERTIFICATE_WAIT_REQUEUE_MS = 2_000;

export async function approveKubeletCertificates(pass: MachinePass, options: MachineReconcilerOptions): Promise<void> {
  const { guest, probe } = pass;
  const nodeName = pass.status.nodeName;
  const uid = pass.machine.metadata.uid;
  if (!guest || !probe || !nodeName || !uid || !pass.guestReachable) return;
  const tokens = await guest.machineBootstrapTokens(uid);
  const identity = {
    nodeName,
    bootstrapTokenIds: tokens.map((token) => token.id),
    hostnames: [...new Set([nodeName, probe.hostname].filter(Boolean))],
    addresses: [...new Set([probe.nodeIP, pass.status.nodeIP ?? ''].filter(Boolean))],
  };
  for (const csr of await guest.pendingKubeletCsrs()) {
    const verdict = judgeKubeletCsr(csr, identity);
    if (!verdict) continue;
    await guest.decideCsr(csr.name, verdict);
    if (verdict.verdict === 'approve') options.events.normal(pass.machine, 'CertificateApproved', `approved ${csr.name}: ${verdict.message}`);
    else options.events.warning(pass.machine, 'CertificateDenied', `denied ${verdict.message}`);
  }
  if (nodeReadiness(pass.node).ready) {
    for (const token of tokens) {
      await guest.deleteBootstrapToken(token.id);
      options.events.normal(pass.machine, 'BootstrapTokenDeleted', `bootstrap token ${token.id} deleted: Node ${nodeName} is Ready`);
    }
  }
  // A kubelet that has joined but serves without its certificate yet is waiting on a CSR.
  if (probe.kubeletJoined && !probe.kubeletServing) pass.requeueAfterMs = Math.min(pass.requeueAfterMs ?? CERTIFICATE_WAIT_REQUEUE_MS, CERTIFICATE_WAIT_REQUEUE_MS);
}
