// Extra local meta clusters as Cells: `tessera cells add NAME` starts another meta cluster with
// the existing `tessera up` machinery, in its own TESSERA_HOME under $TESSERA_HOME/cells/NAME, on
// its own ports and loopback ranges (its own TESSERA_NETWORK_INDEX), and registers it in the
// global cluster (the first meta cluster) as a Cell whose kubeconfig is a Secret there. The
// global cluster itself is the Cell "local". Cells are resumed when the global cluster starts and
// stopped when it stops. Nothing outside src/local depends on this.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCAL_CELL_NAME } from '../../api/v1alpha1/cell.ts';
import { labelPattern } from '../../api/v1alpha1/cluster-fleet-fields.ts';
import { RestClient, isAlreadyExists, resourcePath } from '../../controller/rest-client.ts';
import { resolveHome, type TesseraHome } from '../home.ts';
import { defaultConfig, type MetaClusterConfig } from '../metacluster/config.ts';
import { isRecordAlive, readRecord } from '../process/process-record.ts';

export type LocalCellRecord = { name: string; region: string; zones: string[]; networkIndex: number };

/** Set in a cell's own supervisor: that meta cluster is a cell, not the global cluster. */
export const CELL_NAME_ENV = 'TESSERA_CELL_NAME';
/** Network indexes a meta cluster may use: 127.(100 + 10 i + 8) must stay below 256. */
const MAX_NETWORK_INDEX = 14;
const cli = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const secretNamespace = 'tessera-system';

export const cellHome = (home: TesseraHome, name: string) => join(home.root, 'cells', name);
const recordsFile = (home: TesseraHome) => join(home.root, 'cells.json');

export async function readLocalCells(home: TesseraHome): Promise<LocalCellRecord[]> {
  return JSON.parse(await readFile(recordsFile(home), 'utf8').catch(() => '[]')) as LocalCellRecord[];
}

async function writeLocalCells(home: TesseraHome, cells: LocalCellRecord[]): Promise<void> {
  await writeFile(recordsFile(home), `${JSON.stringify(cells, null, 2)}\n`);
}

/** The TESSERA_HOME of `--cell NAME`, or of the global cluster without it; throws naming the known cells. */
export async function homeForCell(home: TesseraHome, name: string | undefined): Promise<TesseraHome> {
  if (name === undefined || name === LOCAL_CELL_NAME) return home;
  const cells = await readLocalCells(home);
  if (!cells.some((cell) => cell.name === name)) throw new Error(`--cell ${name}: no local cell of that name (cells: ${[LOCAL_CELL_NAME, ...cells.map((c) => c.name)].join(', ')}); add one with \`tessera cells add ${name}\``);
  return resolveHome({ TESSERA_HOME: cellHome(home, name) });
}

function addressFree(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(53, address, () => server.close(() => resolve(true)));
  });
}

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

function cellEnv(home: TesseraHome, cell: LocalCellRecord): NodeJS.ProcessEnv {
  return { ...process.env, TESSERA_HOME: cellHome(home, cell.name), TESSERA_NETWORK_INDEX: String(cell.networkIndex), [CELL_NAME_ENV]: cell.name };
}

async function globalClient(home: TesseraHome): Promise<RestClient> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(await readFile(home.kubeconfig, 'utf8').catch(() => {
    throw new Error(`no meta cluster in ${home.root}: run \`npx tessera up --detach\` first, then add cells`);
  }));
  return new RestClient(kubeConfig);
}

export type AddCellOptions = { name: string; region?: string; zones?: string[]; networkIndex?: number; log: (message: string) => void };

/** Starts a new local meta cluster and registers it as a Cell of the global cluster. */
export async function addLocalCell(home: TesseraHome, options: AddCellOptions): Promise<LocalCellRecord> {
  const { name } = options;
  if (!new RegExp(labelPattern).test(name) || name.length > 63) throw new Error(`cell name "${name}" must be a lowercase DNS label such as "east" or "cell-2"`);
  if (name === LOCAL_CELL_NAME) throw new Error(`cell name "${LOCAL_CELL_NAME}" is the global cluster itself: choose another name`);
  const cells = await readLocalCells(home);
  if (cells.some((cell) => cell.name === name)) throw new Error(`a local cell named ${name} exists already (tessera cells list)`);
  const region = options.region ?? 'local';
  if (!new RegExp(labelPattern).test(region)) throw new Error(`--region "${region}" must be a lowercase DNS label such as "local" or "eu-west"`);
  const zones = options.zones ?? ['zone-a', 'zone-b', 'zone-c'];
  if (zones.length === 0 || zones.length > 3 || zones.some((zone) => !new RegExp(labelPattern).test(zone))) throw new Error(`--zones "${zones.join(',')}" must be 1 to 3 lowercase DNS labels separated by commas, e.g. zone-a,zone-b,zone-c`);
  const client = await globalClient(home);
  const globalConfig = JSON.parse(await readFile(home.config, 'utf8')) as MetaClusterConfig;
  const globalIndex = Number(process.env['TESSERA_NETWORK_INDEX'] ?? 0);
  const used = new Set([globalIndex, ...cells.map((cell) => cell.networkIndex)]);
  let networkIndex = options.networkIndex;
  if (networkIndex === undefined) {
    // Another meta cluster on this machine (another TESSERA_HOME) may hold an index: skip those whose DNS address is taken.
    for (let candidate = globalIndex + 1; candidate <= MAX_NETWORK_INDEX && networkIndex === undefined; candidate++) if (!used.has(candidate) && (await addressFree(`127.${100 + candidate * 10 + 8}.0.10`))) networkIndex = candidate;
  }
  if (networkIndex === undefined || networkIndex < 0 || networkIndex > MAX_NETWORK_INDEX || used.has(networkIndex)) {
    throw new Error(`no free network index for cell ${name} (in use: ${[...used].sort((a, b) => a - b).join(', ')}; allowed 0-${MAX_NETWORK_INDEX}): pass --network-index with a free one`);
  }
  const record: LocalCellRecord = { name, region, zones, networkIndex };

  // The cell's settings before its first start: the global cluster's Kubernetes version, and the zones asked for.
  const directory = cellHome(home, name);
  await mkdir(directory, { recursive: true });
  const config = await defaultConfig(globalConfig.kubernetesVersion, networkIndex);
  config.clusterName = `tessera-cell-${name}`;
  config.nodes = config.nodes.map((node, index) => ({ ...node, zone: zones[index % zones.length] ?? node.zone }));
  await writeFile(join(directory, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);

  options.log(`starting cell ${name} (region ${region}, zones ${zones.join(', ')}, network index ${networkIndex}) in ${directory}`);
  const started = await run(['up', '--detach'], cellEnv(home, record), 900_000);
  if (started.code !== 0) throw new Error(`cell ${name} did not start (exit ${started.code}):\n${started.output.slice(-3000)}`);
  await writeLocalCells(home, [...cells, record]);
  await registerCell(client, home, record);
  options.log(`cell ${name} registered: kubectl get cell ${name}; tessera kubectl --cell ${name} -- get nodes`);
  return record;
}

/** The Secret with the cell's kubeconfig and the Cell object, in the global cluster. */
async function registerCell(client: RestClient, home: TesseraHome, cell: LocalCellRecord): Promise<void> {
  const kubeconfig = await readFile(resolveHome({ TESSERA_HOME: cellHome(home, cell.name) }).kubeconfig, 'utf8');
  await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: secretNamespace } }).catch((error: unknown) => {
    if (!isAlreadyExists(error)) throw error;
  });
  const secretName = `cell-${cell.name}-kubeconfig`;
  await client.apply(resourcePath({ version: 'v1', resource: 'secrets', namespace: secretNamespace, name: secretName }), { apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: secretNamespace }, data: { kubeconfig: Buffer.from(kubeconfig).toString('base64') } }, 'tessera-cells', true);
  await client.apply(
    resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'cells', name: cell.name }),
    { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cell', metadata: { name: cell.name }, spec: { region: cell.region, zones: cell.zones, kubeconfigSecretRef: { namespace: secretNamespace, name: secretName } } },
    'tessera-cells',
    true,
  );
}

/** The global cluster as Cell "local" (region local), created once; its spec is the user's after that. */
export async function registerGlobalCell(client: RestClient): Promise<void> {
  await client.create('/apis/tessera.dev/v1alpha1/cells', { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cell', metadata: { name: LOCAL_CELL_NAME }, spec: { region: 'local' } }).catch((error: unknown) => {
    if (!isAlreadyExists(error)) throw error;
  });
}

export async function isLocalCellRunning(home: TesseraHome, name: string): Promise<boolean> {
  const record = await readRecord(resolveHome({ TESSERA_HOME: cellHome(home, name) }).supervisorPid);
  return Boolean(record && isRecordAlive(record));
}

/** Starts every recorded cell that is not running (after `tessera down`, or a reboot). */
export async function resumeLocalCells(home: TesseraHome, log: (message: string) => void): Promise<void> {
  for (const cell of await readLocalCells(home)) {
    if (await isLocalCellRunning(home, cell.name)) continue;
    log(`resuming cell ${cell.name}`);
    const started = await run(['up', '--detach'], cellEnv(home, cell), 900_000);
    if (started.code !== 0) log(`cell ${cell.name} did not start (exit ${started.code}); see ${join(cellHome(home, cell.name), 'logs', 'supervisor.log')}`);
  }
}

export async function stopLocalCells(home: TesseraHome, log: (message: string) => void): Promise<void> {
  await Promise.all((await readLocalCells(home)).map(async (cell) => {
    const stopped = await run(['down'], cellEnv(home, cell), 120_000);
    log(stopped.code === 0 ? `cell ${cell.name} stopped` : `cell ${cell.name} did not stop cleanly (exit ${stopped.code})`);
  }));
}
