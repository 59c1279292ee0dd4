// `tessera kubectl [--cell NAME] -- ARGS`: the pinned kubectl against the local meta cluster (or
// one of its local cells), as `k3s kubectl`.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolveHome } from '../local/home.ts';
import { ensureBinaries } from '../local/binaries/resolve.ts';
import type { MetaClusterConfig } from '../local/metacluster/config.ts';

export async function run(allArgs: string[]): Promise<number> {
  const cell = allArgs[0] === '--cell' ? allArgs[1] : undefined;
  const args = allArgs[0] === '--cell' ? allArgs.slice(2) : allArgs;
  // Cells load only for --cell: their module pulls in client-node and typebox, about 2 CPU
  // seconds a call, and tests and scripts run this command in polling loops.
  const home = cell === undefined ? resolveHome() : await (await import('../local/cells/local-cells.ts')).homeForCell(resolveHome(), cell);
  const config = JSON.parse(await readFile(home.config, 'utf8').catch(() => {
    throw new Error(`no meta cluster in ${home.root}: run \`npx tessera up\` first`);
  })) as MetaClusterConfig;
  const { kubectl } = await ensureBinaries({ kubernetesVersion: config.kubernetesVersion, components: ['kubectl'] });
  const forwarded = args[0] === '--' ? args.slice(1) : args;
  const child = spawn(kubectl, forwarded, { stdio: 'inherit', env: { ...process.env, KUBECONFIG: home.kubeconfig } });
  // Pass signals on, so stopping `tessera kubectl` never leaves a kubectl behind.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
