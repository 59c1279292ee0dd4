// `tessera fleet [-o json] [--kubeconfig FILE]`: every guest and every cell of the global cluster
// (the local meta cluster unless --kubeconfig says otherwise), from two list requests.
import { KubeConfig } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Cell } from '../api/v1alpha1/cell.ts';
import type { Cluster } from '../api/v1alpha1/cluster.ts';
import { RestClient } from '../controller/rest-client.ts';
import { resolveHome } from '../local/home.ts';
import { fleetView, fleetViewText } from '../operators/placement/fleet-view.ts';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { output: { type: 'string', short: 'o', default: 'table' }, kubeconfig: { type: 'string' } }, strict: true });
  if (values.output !== 'table' && values.output !== 'json') throw new Error(`-o ${values.output}: use -o json or leave it out for a table`);
  const path = values.kubeconfig ?? resolveHome().kubeconfig;
  const text = await readFile(path, 'utf8').catch(() => {
    throw new Error(`no kubeconfig at ${path}: run \`npx tessera up\` first or pass --kubeconfig`);
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(text);
  const client = new RestClient(kubeConfig);
  const [clusters, cells] = await Promise.all([
    client.get<{ items: Cluster[] }>('/apis/tessera.dev/v1alpha1/clusters'),
    client.get<{ items: Cell[] }>('/apis/tessera.dev/v1alpha1/cells'),
  ]);
  const view = fleetView(clusters.items, cells.items);
  process.stdout.write(values.output === 'json' ? `${JSON.stringify(view)}\n` : fleetViewText(view));
  return 0;
}
