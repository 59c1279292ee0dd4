// A record of a process we started, written to disk so a later `tessera down` (or a restarted
// supervisor) can find it again. A pid alone is not an identity: pids are reused, so the record
// also keeps the kernel's start time of the process, read from /proc/<pid>/stat.
import { readFileSync } from 'node:fs';
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type ProcessRecord = {
  name: string;
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTime: number;
  command: string[];
};

/**
 * The fields of a /proc/<pid>/stat (or task stat) text from field 3 (state) on: index i is field
 * i + 3. The command name (field 2) may contain spaces and parentheses, so the split is after the last ')'.
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

export function processStartTime(pid: number): number | undefined {
  try {
    const fields = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function isRecordAlive(record: ProcessRecord): boolean {
  return processStartTime(record.pid) === record.startTime;
}

export function recordFor(name: string, pid: number, command: string[]): ProcessRecord {
  const startTime = processStartTime(pid);
  if (startTime === undefined) throw new Error(`process ${name} (pid ${pid}) exited before it could be recorded`);
  return { name, pid, startTime, command };
}

export async function writeRecord(path: string, record: ProcessRecord): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, JSON.stringify(record));
  await rename(temporary, path);
}

export async function readRecord(path: string): Promise<ProcessRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ProcessRecord;
  } catch {
    return undefined;
  }
}

/** Signals the whole process group: every process we start leads its own group. */
export function signalGroup(record: ProcessRecord, signal: NodeJS.Signals): boolean {
  if (!isRecordAlive(record)) return false;
  try {
    process.kill(-record.pid, signal);
    return true;
  } catch {
    try {
      process.kill(record.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL the group. Resolves once the leader is gone. */
export async function terminateGroup(record: ProcessRecord, graceMs: number): Promise<void> {
  if (!signalGroup(record, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRecordAlive(record)) break;
    await sleep(50);
  }
  // Kill the rest of the group too: a leader that exited may leave children behind.
  try {
    process.kill(-record.pid, 'SIGKILL');
  } catch {
    // the group is already empty
  }
  while (isRecordAlive(record)) await sleep(20);
}

/** Terminates every recorded process under `directory` (recursively) and removes the records. */
export async function terminateRecorded(directory: string, graceMs: number): Promise<ProcessRecord[]> {
  const stopped: ProcessRecord[] = [];
  let entries: string[];
  try {
    entries = await readdir(directory, { recursive: true });
  } catch {
    return stopped;
  }
  const records = await Promise.all(
    entries.filter((entry) => entry.endsWith('.pid.json')).map(async (entry) => ({ path: join(directory, entry), record: await readRecord(join(directory, entry)) })),
  );
  await Promise.all(
    records.map(async ({ path, record }) => {
      if (record && isRecordAlive(record)) {
        await terminateGroup(record, graceMs);
        stopped.push(record);
      }
      await rm(path, { force: true });
    }),
  );
  return stopped;
}
