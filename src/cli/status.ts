// `tessera status`: the supervisor, each control-plane process, and the nodes with their zones.
import { KubeConfig } from '@kubernetes/client-node';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveHome } from '../local/home.ts';
import { isRecordAlive, readRecord } from '../local/process/process-record.ts';
import { RestClient } from '../controller/rest-client.ts';

type NodeList = { items: { metadata?: { name?: string; labels?: Record<string, string> }; status?: { conditions?: { type: string; status: string }[]; addresses?: { type: string; address: string }[] } }[] };

export async function run(_args: string[]): Promise<number> {
  const home = resolveHome();
  const supervisor = await readRecord(home.supervisorPid);
  const running = Boolean(supervisor && isRecordAlive(supervisor));
  process.stdout.write(`meta cluster: ${home.root}\nsupervisor:   ${running ? `running (pid ${supervisor?.pid})` : 'stopped'}\n`);
  const directory = join(home.run, 'control-plane');
  for (const entry of (await readdir(directory).catch(() => [] as string[])).sort()) {
    const record = await readRecord(join(directory, entry));
    if (record) process.stdout.write(`  ${record.name.padEnd(24)} ${isRecordAlive(record) ? `running (pid ${record.pid})` : 'not running'}\n`);
  }
  if (!running) return 3;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(await readFile(home.kubeconfig, 'utf8'));
  const nodes = await new RestClient(kubeConfig).get<NodeList>('/api/v1/nodes');
  process.stdout.write(`api server:   ${kubeConfig.getCurrentCluster()?.server}\nnodes:\n`);
  for (const node of nodes.items) {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const address = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    process.stdout.write(`  ${(node.metadata?.name ?? '').padEnd(10)} ${ready ? 'Ready   ' : 'NotReady'} ${(node.metadata?.labels?.['topology.kubernetes.io/zone'] ?? '').padEnd(8)} ${address}\n`);
  }
  return 0;
}
