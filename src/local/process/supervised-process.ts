// One long-running upstream process (etcd, kube-apiserver, ...) under supervision: logs go to a
// file, the process leads its own process group (so stopping it stops its children), a record
// on disk lets `tessera down` find it after a supervisor crash, and a crash or a failing health
// check restarts it with exponential backoff.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordFor, terminateGroup, writeRecord, type ProcessRecord } from './process-record.ts';

export type ProcessSpec = {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  /** Directory for the `<name>.pid.json` record. */
  recordDirectory: string;
  /** Resolves true when the process serves; polled until healthy, then periodically. */
  healthCheck?: () => Promise<boolean>;
  /** Consecutive failed health checks (after first healthy) that trigger a restart. */
  unhealthyThreshold?: number;
  healthPeriodMs?: number;
  stopGraceMs?: number;
};

export type ProcessEvent =
  | { type: 'started'; name: string; pid: number }
  | { type: 'exited'; name: string; code: number | null; signal: string | null; restartInMs: number }
  | { type: 'unhealthy'; name: string; failures: number }
  | { type: 'healthy'; name: string };

const initialBackoffMs = 500;
const maximumBackoffMs = 30_000;
const stableRunMs = 60_000;

export class SupervisedProcess {
  readonly spec: ProcessSpec;
  private child: ChildProcess | undefined;
  private record: ProcessRecord | undefined;
  private stopping = false;
  private backoffMs = initialBackoffMs;
  private startedAt = 0;
  private healthy = false;
  private healthLoop: Promise<void> | undefined;
  private readonly onEvent: (event: ProcessEvent) => void;
  restarts = 0;

  constructor(spec: ProcessSpec, onEvent: (event: ProcessEvent) => void = () => {}) {
    this.spec = spec;
    this.onEvent = onEvent;
  }

  get pid(): number | undefined {
    return this.record?.pid;
  }

  get isHealthy(): boolean {
    return this.healthy;
  }

  get recordPath(): string {
    return join(this.spec.recordDirectory, `${this.spec.name}.pid.json`);
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.spawnOnce();
    this.healthLoop ??= this.watchHealth();
  }

  private async spawnOnce(): Promise<void> {
    mkdirSync(dirname(this.spec.logFile), { recursive: true });
    mkdirSync(this.spec.recordDirectory, { recursive: true });
    const log = openSync(this.spec.logFile, 'a');
    const child = spawn(this.spec.command, this.spec.args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: this.spec.env ?? process.env,
    });
    closeSync(log);
    this.child = child;
    this.startedAt = Date.now();
    this.healthy = false;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const pid = child.pid as number;
    this.record = recordFor(this.spec.name, pid, [this.spec.command, ...this.spec.args]);
    await writeRecord(this.recordPath, this.record);
    this.onEvent({ type: 'started', name: this.spec.name, pid });
    child.once('exit', (code, signal) => void this.onExit(child, code, signal));
  }

  private async onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (child !== this.child) return;
    this.healthy = false;
    if (this.stopping) return;
    if (Date.now() - this.startedAt > stableRunMs) this.backoffMs = initialBackoffMs;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, maximumBackoffMs);
    this.onEvent({ type: 'exited', name: this.spec.name, code, signal, restartInMs: delay });
    await sleep(delay);
    if (this.stopping || child !== this.child) return;
    this.restarts++;
    await this.spawnOnce().catch((error: unknown) => {
      this.onEvent({ type: 'exited', name: this.spec.name, code: null, signal: String(error), restartInMs: this.backoffMs });
    });
  }

  private async watchHealth(): Promise<void> {
    const check = this.spec.healthCheck;
    if (!check) return;
    const period = this.spec.healthPeriodMs ?? 5_000;
    const threshold = this.spec.unhealthyThreshold ?? 3;
    let failures = 0;
    while (!this.stopping) {
      const ok = await check().catch(() => false);
      if (ok) {
        failures = 0;
        if (!this.healthy) this.onEvent({ type: 'healthy', name: this.spec.name });
        this.healthy = true;
      } else if (this.healthy) {
        failures++;
        this.onEvent({ type: 'unhealthy', name: this.spec.name, failures });
        if (failures >= threshold && this.record) {
          // Kill it; the exit handler restarts it with backoff.
          failures = 0;
          this.healthy = false;
          await terminateGroup(this.record, this.spec.stopGraceMs ?? 5_000);
        }
      }
      await sleep(this.healthy ? period : 200);
    }
  }

  /** Resolves once the health check passes, or rejects after `timeoutMs` naming the log file. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.healthy) return;
      await sleep(100);
    }
    throw new Error(`${this.spec.name} did not become healthy within ${Math.round(timeoutMs / 1000)}s; see ${this.spec.logFile}`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const record = this.record;
    if (record) await terminateGroup(record, this.spec.stopGraceMs ?? 10_000);
    await rm(this.recordPath, { force: true });
    await this.healthLoop;
    this.healthLoop = undefined;
  }
}
