// Test harness for end-to-end tests: drives the real `tessera` CLI (up, down, ...) and the pinned
// kubectl against a meta cluster in a temporary TESSERA_HOME on its own loopback addresses.
import { execFile, type ExecFileException } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveHome } from '../../src/local/home.ts';
import { ensureBinaries } from '../../src/local/binaries/resolve.ts';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export type CommandResult = { code: number; stdout: string; stderr: string };

function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error: ExecFileException | null, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

export class MetaClusterCli {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  private kubectlPath: Promise<string> | undefined;

  private constructor(home: string, networkIndex: number) {
    this.home = home;
    this.env = { ...process.env, TESSERA_HOME: home, TESSERA_NETWORK_INDEX: String(networkIndex) };
  }

  static async create(networkIndex: number): Promise<MetaClusterCli> {
    return new MetaClusterCli(await mkdtemp(join(tmpdir(), 'tessera-e2e-')), networkIndex);
  }

  tessera(args: string[], timeoutMs = 600_000): Promise<CommandResult> {
    return runCommand(process.execPath, [cli, ...args], this.env, timeoutMs);
  }

  /**
   * The pinned kubectl against this meta cluster, run directly: tests poll through this many times
   * a second, and `tessera kubectl` (tested on its own) would add a Node start to each call.
   */
  async kubectl(...args: string[]): Promise<string> {
    this.kubectlPath ??= (async () => {
      const config = JSON.parse(await readFile(resolveHome(this.env).config, 'utf8')) as { kubernetesVersion: string };
      return (await ensureBinaries({ kubernetesVersion: config.kubernetesVersion, components: ['kubectl'] })).kubectl;
    })();
    const kubectl = await this.kubectlPath.catch((error: unknown) => {
      this.kubectlPath = undefined;
      throw error;
    });
    const result = await runCommand(kubectl, args, { ...this.env, KUBECONFIG: resolveHome(this.env).kubeconfig }, 120_000);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  }

  async kubectlJson<T>(...args: string[]): Promise<T> {
    return JSON.parse(await this.kubectl(...args, '-o', 'json')) as T;
  }

  async apply(manifest: string): Promise<void> {
    const { writeFile } = await import('node:fs/promises');
    const file = join(this.home, `manifest-${Date.now()}-${Math.random().toString(16).slice(2)}.yaml`);
    await writeFile(file, manifest);
    await this.kubectl('apply', '-f', file);
  }

  async destroy(): Promise<void> {
    await this.tessera(['down'], 120_000);
    // For a look after the run: TESSERA_E2E_KEEP_LOGS=<dir> keeps each meta cluster's logs there.
    const keep = process.env['TESSERA_E2E_KEEP_LOGS'];
    if (keep) await cp(resolveHome(this.env).logs, join(keep, basename(this.home)), { recursive: true }).catch(() => undefined);
    await rm(this.home, { recursive: true, force: true });
  }
}

export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== undefined && result !== false) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await sleep(intervalMs);
  }
}

/** Processes whose command line or environment mentions `marker` (e.g. a TESSERA_HOME path). */
export async function processesMentioning(marker: string): Promise<string[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      const environ = (await readFile(`/proc/${entry}/environ`, 'utf8')).replaceAll('\0', ' ');
      if (cmdline.includes(marker) || environ.includes(marker)) found.push(`${entry}: ${cmdline.slice(0, 120)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
