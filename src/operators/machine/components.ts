// The one ordered list of what a Machine pass does. Each step reads what the earlier ones found
// (the host session and probe, the guest, the Node) from the pass; a step that sets `stop` ends
// the pass early because the rest could only fail (no connection, refused packages, no guest).
import type { MachinePass, MachineReconcilerOptions } from './machine-pass.ts';
import { connectToHost } from './components/connection.ts';
import { installPackages } from './components/packages.ts';
import { joinNode } from './components/join.ts';
import { observeNode } from './components/node-status.ts';
import { remediate } from './components/remediation.ts';
import { approveKubeletCertificates } from './components/kubelet-certificates.ts';

export type MachineStep = { name: string; run: (pass: MachinePass, options: MachineReconcilerOptions) => Promise<void> };

export const MACHINE_STEPS: readonly MachineStep[] = [
  { name: 'connection', run: connectToHost },
  { name: 'packages', run: installPackages },
  { name: 'join', run: joinNode },
  { name: 'node-status', run: observeNode },
  { name: 'kubelet-certificates', run: approveKubeletCertificates },
  { name: 'remediation', run: remediate },
];
