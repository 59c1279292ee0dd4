// How the Node operator reaches a host: an SSH session whose host key was verified against
// spec.ssh.hostKey before anything ran. The reconciler sees only this interface; ssh-connection.ts
// implements it with ssh2, and the unit tests with a fake host.
import { createHash } from 'node:crypto';

export type SshTarget = {
  address: string;
  port: number;
  user: string;
  privateKey: string;
  /** OpenSSH public key text, "ssh-ed25519 AAAA...": the only key accepted. */
  hostKey: string;
};

export type CommandResult = { code: number; stdout: string; stderr: string };

export type HostSession = {
  /** Runs `script` with sh on the host, killed on the host after `timeoutSeconds`. */
  run(script: string, timeoutSeconds: number): Promise<CommandResult>;
  /** Copies a local file to `remotePath` (written beside it, then renamed). */
  upload(localPath: string, remotePath: string, timeoutSeconds: number): Promise<void>;
  close(): void;
};

export type HostConnector = (target: SshTarget) => Promise<HostSession>;

/** The host presented another key than spec.ssh.hostKey: nothing was run. */
export class HostKeyMismatchError extends Error {
  readonly expected: string;
  readonly presented: string;
  constructor(expected: string, presented: string) {
    super(`the host presented key ${presented}, but spec.ssh.hostKey is ${expected}: nothing was run. If the host was reinstalled, verify its new key out of band and put it in spec.ssh.hostKey`);
    this.expected = expected;
    this.presented = presented;
  }
}

/** The host did not answer SSH (refused, timed out, authentication failed). */
export class HostUnreachableError extends Error {}

/** The key blob of OpenSSH public key text ("type base64 [comment]"). */
export function publicKeyBlob(openSshKey: string): { type: string; blob: Buffer } {
  const [type, data] = openSshKey.trim().split(/\s+/);
  if (!type || !data) throw new Error(`"${openSshKey.slice(0, 40)}" is not an OpenSSH public key ("ssh-ed25519 AAAA...")`);
  return { type, blob: Buffer.from(data, 'base64') };
}

/** OpenSSH's fingerprint: "SHA256:" and the unpadded base64 SHA-256 of the key blob. */
export function fingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function fingerprintOf(openSshKey: string): string {
  return fingerprintOfBlob(publicKeyBlob(openSshKey).blob);
}

/** Fails with the command's output when it exits non-zero. */
export async function mustRun(session: HostSession, what: string, script: string, timeoutSeconds: number): Promise<string> {
  const result = await session.run(script, timeoutSeconds);
  if (result.code !== 0) throw new Error(`${what} failed on the host (exit ${result.code}): ${(result.stderr.trim() || result.stdout.trim()).slice(-600)}`);
  return result.stdout;
}
