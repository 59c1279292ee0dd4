// One run of a container: a process tree started by `unshare` + container-entry.sh, leading its
// own process group, with its output in a log file and its exit status written by the entry
// script. Runs are recorded on disk so a restarted runtime adopts them instead of losing them.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRecordAlive, recordFor, signalGroup, terminateGroup, writeRecord, type ProcessRecord } from '../process/process-record.ts';
import { runtimeDirectory } from './images.ts';

export type Mount = { source: string; target: string; readOnly: boolean };

export type ContainerLaunch = {
  containerDirectory: string;
  name: string;
  attempt: number;
  argv: string[];
  env: Record<string, string>;
  workingDir: string | undefined;
  hostname: string;
  mounts: Mount[];
};

export type ContainerRun = {
  record: ProcessRecord;
  attempt: number;
  startedAt: string;
  logFile: string;
  exitFile: string;
  containerID: string;
};

export type ContainerExit = { exitCode: number; finishedAt: string; reason: string };

const entryScript = join(runtimeDirectory, 'container-entry.sh');

/**
 * Containers run at this niceness, below the supervisor that serves them. On a real node the
 * kubelet and the container runtime keep system-reserved CPU and the Service data path is the
 * kernel's; here one Node process relays every Service, answers DNS and runs the pod workers,
 * so a box full of busy pods must not starve it (measured on a 2-core box under a load of 18:
 * event loop stalls of 1 to 4 s, each one an unanswered request through a Service).
 */
export const CONTAINER_NICENESS = 5;

/** `command args` as a container's process would run it: at CONTAINER_NICENESS, set before exec so every thread has it. */
export function atContainerPriority(command: string, args: readonly string[]): [string, string[]] {
  return ['nice', ['-n', String(CONTAINER_NICENESS), command, ...args]];
}

export function runFile(containerDirectory: string): string {
  return join(containerDirectory, 'run.pid.json');
}

export async function startContainer(launch: ContainerLaunch): Promise<ContainerRun> {
  const directory = launch.containerDirectory;
  const layer = join(directory, `layer-${launch.attempt}`);
  const [upper, work, rootfs] = ['upper', 'work', 'rootfs'].map((part) => join(layer, part)) as [string, string, string];
  await Promise.all([upper, work, rootfs].map((path) => mkdir(path, { recursive: true })));
  const mountsFile = join(layer, 'mounts');
  await writeFile(mountsFile, launch.mounts.map((m) => `${m.source}\t${m.target}\t${m.readOnly ? 'ro' : 'rw'}\n`).join(''));
  const logFile = join(directory, `${launch.attempt}.log`);
  const exitFile = join(directory, `${launch.attempt}.exit`);
  await rm(exitFile, { force: true });
  const log = openSync(logFile, 'a');
  const [command, args] = atContainerPriority('unshare', ['--mount', '--uts', '--', '/bin/sh', entryScript, ...launch.argv]);
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: {
      ...launch.env,
      TESSERA_ROOTFS: rootfs,
      TESSERA_UPPER: upper,
      TESSERA_WORK: work,
      TESSERA_MOUNTS: mountsFile,
      TESSERA_HOSTNAME: launch.hostname,
      TESSERA_EXIT_FILE: exitFile,
      TESSERA_WORKDIR: launch.workingDir ?? '/',
    },
  });
  closeSync(log);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  // The runtime does not keep the child: exits are observed through /proc and the exit file,
  // the same way for processes we started and processes adopted after a restart.
  child.unref();
  child.on('exit', () => {});
  const record = recordFor(launch.name, child.pid as number, launch.argv);
  const run: ContainerRun = {
    record,
    attempt: launch.attempt,
    startedAt: new Date().toISOString(),
    logFile,
    exitFile,
    containerID: `tessera://${record.pid}-${record.startTime}`,
  };
  await writeRecord(runFile(directory), record);
  await writeFile(join(directory, 'run.json'), JSON.stringify(run));
  return run;
}

export async function readRun(containerDirectory: string): Promise<ContainerRun | undefined> {
  try {
    return JSON.parse(await readFile(join(containerDirectory, 'run.json'), 'utf8')) as ContainerRun;
  } catch {
    return undefined;
  }
}

export function isRunning(run: ContainerRun): boolean {
  return isRecordAlive(run.record);
}

/** Resolves when the run's process has exited, with the status the entry script recorded. */
export async function waitForExit(run: ContainerRun, signal?: AbortSignal): Promise<ContainerExit> {
  while (isRecordAlive(run.record)) {
    if (signal?.aborted) throw new Error('aborted');
    await sleep(250);
  }
  return readExit(run);
}

export async function readExit(run: ContainerRun): Promise<ContainerExit> {
  let exitCode = 137;
  let reason = 'Error';
  try {
    exitCode = Number((await readFile(run.exitFile, 'utf8')).trim());
  } catch {
    // Killed before it could record a status (e.g. SIGKILL of the whole group).
    reason = 'Unknown';
  }
  if (exitCode === 0) reason = 'Completed';
  return { exitCode, finishedAt: new Date().toISOString(), reason };
}

export async function stopContainer(run: ContainerRun, graceMs: number): Promise<void> {
  await terminateGroup(run.record, graceMs);
}

export function killContainer(run: ContainerRun): void {
  signalGroup(run.record, 'SIGKILL');
}

/** The pid of the container's own command (the child of the entry shell), for exec probes. */
export async function commandPid(run: ContainerRun): Promise<number | undefined> {
  try {
    const children = (await readFile(`/proc/${run.record.pid}/task/${run.record.pid}/children`, 'utf8')).trim().split(/\s+/);
    const first = Number(children[0]);
    return Number.isFinite(first) && first > 0 ? first : undefined;
  } catch {
    return undefined;
  }
}
