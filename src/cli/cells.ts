// `tessera cells add NAME [--region R] [--zones a,b,c] [--network-index N]` starts another local
// meta cluster and registers it as a Cell; `tessera cells list` shows every Cell of the global
// cluster with its state, guests and free share, and where a local cell lives.
import { KubeConfig } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Cell } from '../api/v1alpha1/cell.ts';
import { RestClient } from '../controller/rest-client.ts';
import { resolveHome } from '../local/home.ts';
import { addLocalCell, cellHome, isLocalCellRunning, readLocalCells } from '../local/cells/local-cells.ts';

const usage = 'Usage: tessera cells add NAME [--region R] [--zones a,b,c] [--network-index N] | tessera cells list';

export async function run(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  const home = resolveHome();
  if (subcommand === 'add') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { region: { type: 'string' }, zones: { type: 'string' }, 'network-index': { type: 'string' } }, strict: true });
    const [name] = positionals;
    if (!name || positionals.length > 1) throw new Error(`cells add needs exactly one NAME\n${usage}`);
    const networkIndex = values['network-index'] === undefined ? undefined : Number(values['network-index']);
    if (networkIndex !== undefined && !Number.isInteger(networkIndex)) throw new Error(`--network-index ${values['network-index']} must be a whole number from 0 to 14`);
    await addLocalCell(home, {
      name,
      ...(values.region !== undefined ? { region: values.region } : {}),
      ...(values.zones !== undefined ? { zones: values.zones.split(',').map((zone) => zone.trim()).filter(Boolean) } : {}),
      ...(networkIndex !== undefined ? { networkIndex } : {}),
      log: (message) => process.stdout.write(`${message}\n`),
    });
    return 0;
  }
  if (subcommand === 'list') {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(await readFile(home.kubeconfig, 'utf8').catch(() => {
      throw new Error(`no meta cluster in ${home.root}: run \`npx tessera up --detach\` first`);
    }));
    const cells = (await new RestClient(kubeConfig).get<{ items: Cell[] }>('/apis/tessera.dev/v1alpha1/cells')).items;
    const local = await readLocalCells(home);
    const rows = await Promise.all(cells.map(async (cell) => {
      const record = local.find((entry) => entry.name === cell.metadata.name);
      const where = record ? `${cellHome(home, record.name)} (${(await isLocalCellRunning(home, record.name)) ? 'running' : 'stopped'})` : cell.spec.kubeconfigSecretRef ? 'remote' : `${home.root} (global cluster)`;
      const reachable = cell.status?.conditions?.find((condition) => condition.type === 'Reachable')?.status ?? 'Unknown';
      return [cell.metadata.name, cell.spec.region, (cell.spec.zones ?? cell.status?.zones ?? []).join(','), cell.spec.state ?? 'Open', reachable, String(cell.status?.guests ?? 0), cell.status?.freePercent === undefined ? '' : `${cell.status.freePercent}%`, where];
    }));
    const header = ['NAME', 'REGION', 'ZONES', 'STATE', 'REACHABLE', 'GUESTS', 'FREE', 'WHERE'];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
    for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}\n`);
    return 0;
  }
  process.stderr.write(`${usage}\n`);
  return 2;
}
