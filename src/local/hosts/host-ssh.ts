// Runs commands and uploads files on a local host with the real OpenSSH client, the host key
// pinned (StrictHostKeyChecking=yes against a known_hosts built from the host's record).
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hostPaths, type HostRecord } from './host-layout.ts';

/** known_hosts with the host's pinned key, so ssh verifies it and never asks. */
export async function writeKnownHosts(tesseraHome: string, record: HostRecord): Promise<string> {
  const path = join(hostPaths(tesseraHome, record.name).dir, 'ssh', 'known_hosts');
  const host = record.sshPort === 22 ? record.sshAddress : `[${record.sshAddress}]:${record.sshPort}`;
  await writeFile(path, `${host} ${record.hostKey}\n`);
  return path;
}

export function sshArguments(tesseraHome: string, record: HostRecord, knownHosts: string): string[] {
  return [
    '-i', hostPaths(tesseraHome, record.name).clientKey,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    '-o', 'ConnectTimeout=15',
    '-p', String(record.sshPort),
    `root@${record.sshAddress}`,
  ];
}

export type RemoteResult = { code: number; stdout: string; stderr: string };

/** Runs `command` on the host through sh; stdin is a string or a local file. */
export async function runOnHost(tesseraHome: string, record: HostRecord, command: string, stdin?: { text: string } | { file: string }, timeoutMs = 300_000): Promise<RemoteResult> {
  const knownHosts = await writeKnownHosts(tesseraHome, record);
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...sshArguments(tesseraHome, record, knownHosts), command], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 255, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    if (stdin === undefined) child.stdin.end();
    else if ('text' in stdin) child.stdin.end(stdin.text);
    else createReadStream(stdin.file).pipe(child.stdin);
  });
}

/** Like runOnHost, failing with the command's output when it exits non-zero. */
export async function mustRunOnHost(tesseraHome: string, record: HostRecord, what: string, command: string, stdin?: { text: string } | { file: string }): Promise<string> {
  const result = await runOnHost(tesseraHome, record, command, stdin);
  if (result.code !== 0) throw new Error(`${record.name}: ${what} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  return result.stdout;
}

/** Copies a local file to the host: written beside the target, then renamed into place. */
export async function uploadToHost(tesseraHome: string, record: HostRecord, localPath: string, remotePath: string): Promise<void> {
  const partial = `${remotePath}.partial`;
  await mustRunOnHost(tesseraHome, record, `upload ${remotePath}`, `mkdir -p '${dirname(remotePath)}' && cat > '${partial}' && mv '${partial}' '${remotePath}'`, { file: localPath });
}


/** Runs join or install steps (src/node/join-steps.ts) in order; returns each step's duration. */
export async function runStepsOnHost(tesseraHome: string, record: HostRecord, steps: readonly { name: string; upload?: { localPath: string; remotePath: string }; script: string }[]): Promise<{ name: string; ms: number }[]> {
  const timings: { name: string; ms: number }[] = [];
  for (const step of steps) {
    const started = Date.now();
    if (step.upload) await uploadToHost(tesseraHome, record, step.upload.localPath, step.upload.remotePath);
    await mustRunOnHost(tesseraHome, record, step.name, 'sh -s', { text: step.script });
    timings.push({ name: step.name, ms: Date.now() - started });
  }
  return timings;
}
