// `tessera fleet [-o json] [--kubeconfig FILE]`: every guest and every cell of the global cluster
// (the local meta cluster unless --kubeconfig says otherwise), from two list requests. The guests
// come as the API server's Table of the Cluster printer columns: at 10,000 guests the objects
// (with their managedFields) are ten times the bytes and the time.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Cell } from '../api/v1alpha1/cell.ts';
import { RestClient } from '../controller/rest-client.ts';
import { kubeconfigConnection } from '../pki/kubeconfig.ts';
import { resolveHome } from '../local/home.ts';
import { fleetViewOf, fleetViewText, guestFieldsFromTable, type ClusterTable } from '../operators/placement/fleet-view.ts';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { output: { type: 'string', short: 'o', default: 'table' }, kubeconfig: { type: 'string' } }, strict: true });
  if (values.output !== 'table' && values.output !== 'json') throw new Error(`-o ${values.output}: use -o json or leave it out for a table`);
  const path = values.kubeconfig ?? resolveHome().kubeconfig;
  const text = await readFile(path, 'utf8').catch(() => {
    throw new Error(`no kubeconfig at ${path}: run \`npx tessera up\` first or pass --kubeconfig`);
  });
  // Not client-node's KubeConfig: importing it costs more than the whole request.
  const client = new RestClient(kubeconfigConnection(text));
  const [clusters, cells] = await Promise.all([
    client.request<ClusterTable>('GET', '/apis/tessera.dev/v1alpha1/clusters', { accept: TABLE, query: { includeObject: 'None' }, timeoutMs: 120_000 }),
    client.get<{ items: Cell[] }>('/apis/tessera.dev/v1alpha1/cells'),
  ]);
  const view = fleetViewOf(guestFieldsFromTable(clusters), cells.items);
  process.stdout.write(values.output === 'json' ? `${JSON.stringify(view)}\n` : fleetViewText(view));
  return 0;
}
