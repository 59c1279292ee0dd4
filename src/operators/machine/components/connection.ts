// HostReachable and HostKeyVerified: log in with the Machine's key, accepting only the host key
// in spec.ssh.hostKey (no trust on first use), then read what the host has. A host presenting
// another key gets no command at all.
import { HostKeyMismatchError, fingerprintOf, mustRun } from '../host-access.ts';
import { PROBE_SCRIPT, parseProbe } from '../host-probe.ts';
import { setCondition, type MachinePass, type MachineReconcilerOptions } from '../machine-pass.ts';
import { MachineCondition, MachineReason } from '../status.ts';

export const PROBE_TIMEOUT_SECONDS = 30;

export async function connectToHost(pass: MachinePass, options: MachineReconcilerOptions): Promise<void> {
  const { machine } = pass;
  const ssh = machine.spec.ssh;
  const secretName = ssh.privateKeySecretRef.name;
  const secretKey = ssh.privateKeySecretRef.key ?? 'ssh-privatekey';
  const secret = await options.meta.readSecret(pass.namespace, secretName);
  const privateKey = secret?.[secretKey];
  if (!privateKey) {
    setCondition(pass, { type: MachineCondition.HostReachable, status: 'False', reason: MachineReason.SecretMissing, message: `spec.ssh.privateKeySecretRef: Secret ${pass.namespace}/${secretName} ${secret ? `has no key "${secretKey}"` : 'does not exist'}: create it with the SSH private key` });
    setCondition(pass, { type: MachineCondition.HostKeyVerified, status: 'Unknown', reason: MachineReason.NotChecked, message: 'not connected' });
    pass.stop = true;
    return;
  }
  const expected = fingerprintOf(ssh.hostKey);
  try {
    pass.host = await options.connect({ address: machine.spec.address, port: machine.spec.port ?? 22, user: ssh.user ?? 'root', privateKey, hostKey: ssh.hostKey });
  } catch (error) {
    if (error instanceof HostKeyMismatchError) {
      setCondition(pass, { type: MachineCondition.HostReachable, status: 'True', reason: MachineReason.Connected, message: 'the host answers SSH; its key was refused' });
      setCondition(pass, { type: MachineCondition.HostKeyVerified, status: 'False', reason: MachineReason.KeyMismatch, message: `expected ${error.expected} (spec.ssh.hostKey), the host presented ${error.presented}; nothing was run on it` });
      options.events.warning(machine, 'HostKeyMismatch', `host ${machine.spec.address} presented ${error.presented}, spec.ssh.hostKey is ${error.expected}: nothing was run`);
    } else {
      setCondition(pass, { type: MachineCondition.HostReachable, status: 'False', reason: MachineReason.Unreachable, message: (error as Error).message });
      setCondition(pass, { type: MachineCondition.HostKeyVerified, status: 'Unknown', reason: MachineReason.NotChecked, message: 'not connected' });
    }
    pass.stop = true;
    pass.requeueAfterMs = 15_000;
    return;
  }
  setCondition(pass, { type: MachineCondition.HostReachable, status: 'True', reason: MachineReason.Connected, message: `ssh ${ssh.user ?? 'root'}@${machine.spec.address}:${machine.spec.port ?? 22}` });
  setCondition(pass, { type: MachineCondition.HostKeyVerified, status: 'True', reason: MachineReason.KeyMatches, message: `host key ${expected}` });
  const previous = machine.status?.hostKeyFingerprint;
  if (previous && previous !== expected) options.events.normal(machine, 'HostKeyChanged', `spec.ssh.hostKey changed from ${previous} to ${expected}; the host was verified against the new key`);
  pass.status.hostKeyFingerprint = expected;
  await probeHost(pass);
}

/** Reads the host's state into the pass and status.packages (what the host says, never the spec). */
export async function probeHost(pass: MachinePass): Promise<void> {
  if (!pass.host) return;
  pass.probe = parseProbe(await mustRun(pass.host, 'reading the host state', PROBE_SCRIPT, PROBE_TIMEOUT_SECONDS));
  pass.status.packages = pass.probe.packages;
  if (pass.probe.nodeIP) pass.status.nodeIP = pass.probe.nodeIP;
}
