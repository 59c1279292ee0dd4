// The local operators (local-operators-main.ts) as a child process of a test or benchmark, for a
// meta cluster started with TESSERA_EMBEDDED_OPERATORS=0: started with the identity `tessera up`
// wrote to $TESSERA_HOME/operator.kubeconfig, killed with SIGKILL at any moment, its resident
// memory read from /proc. Its log (every incarnation, appended) is $TESSERA_HOME/local-operators.log.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./local-operators-main.ts', import.meta.url));

export class LocalOperatorsProcess {
  readonly logFile: string;
  private readonly home: string;
  private readonly env: NodeJS.ProcessEnv;
  private child: ChildProcess | undefined;
  private readonly endedOnPurpose = new WeakSet<ChildProcess>();
  /** Exits nobody asked for (a crash): code or signal, with the time. */
  readonly unexpectedExits: string[] = [];

  /** `env` is the meta cluster's (TESSERA_HOME, TESSERA_NETWORK_INDEX, TESSERA_MACHINE_HEALTH_PERIOD_MS, ...). */
  constructor(home: string, env: NodeJS.ProcessEnv) {
    this.home = home;
    this.env = env;
    this.logFile = join(home, 'local-operators.log');
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  start(): void {
    if (this.pid !== undefined) throw new Error(`the local operators already run (pid ${this.pid})`);
    const log = openSync(this.logFile, 'a');
    try {
      const child = spawn(process.execPath, [MAIN, join(this.home, 'operator.kubeconfig')], { env: this.env, stdio: ['ignore', log, log] });
      child.once('exit', (code, signal) => {
        if (!this.endedOnPurpose.has(child)) this.unexpectedExits.push(`${new Date().toISOString()} pid ${child.pid}: ${signal ?? `exit ${code}`}`);
      });
      this.child = child;
    } finally {
      closeSync(log);
    }
  }

  /** SIGKILL, as a crash or a lost node would end it; resolves once it is gone. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  /** SIGTERM: the operators stop their controllers and exit. */
  async stop(): Promise<void> {
    await this.end('SIGTERM');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.endedOnPurpose.add(child);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Resident memory of the process now (VmRSS), in MiB. */
  async residentMiB(): Promise<number> {
    const pid = this.pid;
    if (pid === undefined) throw new Error(`the local operators do not run: see ${this.logFile}`);
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    if (!kib) throw new Error(`/proc/${pid}/status has no VmRSS line`);
    return Number(kib) / 1024;
  }

  /** The last lines of its log, for failure messages. */
  async logTail(lines = 20): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  }
}
