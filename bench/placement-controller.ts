// Benchmark (issue 11, scale): the placement controller against a real kube-apiserver holding
// 10,000 fleet Clusters (plain objects: no guest runs) and 50 Cells in 5 regions (capacity given
// in their specs, so no Nodes are needed). Measured: the time from starting the fleet operator
// until every Cluster has status.cell, the writes it made, and the writes of reconciling every
// Cluster and Cell again once placed (must be 0).
// Baseline, measured in the same run: the bench itself writing one status per Cluster (the
// least placement must write), with as many concurrent writers as the operator has workers.
// Then `tessera fleet -o json` against it (a new process: start-up included), beside the same two
// list requests made in-process.
// Last line: {"bench":"placement-controller","clusters":10000,"cells":50,"placeSeconds":P,"baselineSeconds":B,"writesWhenConverged":0,"fleetViewSeconds":V}
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { defaultConfig } from '../src/local/metacluster/config.ts';
import { apiServerArgs, etcdArgs, pkiLayout } from '../src/local/metacluster/control-plane.ts';
import { ensureMetaPki } from '../src/local/metacluster/meta-pki.ts';
import { SupervisedProcess } from '../src/local/process/supervised-process.ts';
import { ensureBinaries } from '../src/local/binaries/resolve.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../src/local/binaries/versions.ts';
import { RestClient } from '../src/controller/rest-client.ts';
import { Logger } from '../src/controller/logger.ts';
import { FleetOperator } from '../src/operators/placement/operator.ts';
import { installFleetCrds } from '../src/operators/placement/crd-installation.ts';

const CLUSTERS = Number(process.env['FLEET_BENCH_CLUSTERS'] ?? 10_000);
const CELLS = 50;
const REGIONS = 5;
const WORKERS = 8;
const NAMESPACE = 'fleet';

function healthy(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  }));
}

const writes = (client: RestClient) => ['POST', 'PUT', 'PATCH', 'DELETE'].reduce((sum, method) => sum + (client.requestCounts.get(method) ?? 0), 0);

const directory = await mkdtemp(join(tmpdir(), 'tessera-bench-placement-'));
const binaries = await ensureBinaries({ kubernetesVersion: DEFAULT_KUBERNETES_VERSION, components: ['etcd', 'kube-apiserver'] });
const config = { ...(await defaultConfig(DEFAULT_KUBERNETES_VERSION, 13)), nodes: [] };
const layout = pkiLayout(join(directory, 'pki'));
const kubeconfigPath = join(directory, 'kubeconfig');
const pki = await ensureMetaPki(config, layout, kubeconfigPath);
const etcd = new SupervisedProcess({ name: 'etcd', command: binaries.etcd, args: [...etcdArgs(config, layout, join(directory, 'etcd')), '--unsafe-no-fsync=true', '--quota-backend-bytes=8589934592'], logFile: join(directory, 'etcd.log'), recordDirectory: join(directory, 'run'), healthCheck: async () => true });
const apiServer = new SupervisedProcess({ name: 'kube-apiserver', command: binaries['kube-apiserver'], args: apiServerArgs(config, layout), logFile: join(directory, 'kube-apiserver.log'), recordDirectory: join(directory, 'run'), healthCheck: () => healthy(`https://127.0.0.1:${config.apiServerPort}/readyz`, pki.ca.certPem) });
let operator: FleetOperator | undefined;
try {
  await etcd.start();
  await apiServer.start();
  await apiServer.waitHealthy(120_000);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(await readFile(kubeconfigPath, 'utf8'));
  const setup = new RestClient(kubeConfig);
  await installFleetCrds(setup);
  await setup.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  for (let index = 0; index < CELLS; index++) {
    await setup.create('/apis/tessera.dev/v1alpha1/cells', {
      apiVersion: 'tessera.dev/v1alpha1',
      kind: 'Cell',
      metadata: { name: `cell-${String(index).padStart(2, '0')}` },
      spec: { region: `region-${index % REGIONS}`, zones: ['zone-a', 'zone-b', 'zone-c'], capacity: { cpu: '640', memory: '2560Gi', pods: '5000' } },
    });
  }
  const clustersPath = `/apis/tessera.dev/v1alpha1/namespaces/${NAMESPACE}/clusters`;
  const names = Array.from({ length: CLUSTERS }, (_, index) => `guest-${String(index).padStart(5, '0')}`);
  const createStart = performance.now();
  await pool(names, 32, (name) => setup.create(clustersPath, { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name }, spec: { version: '1.37.2', mode: 'Minimal', placement: { region: `region-${Number(name.slice(6)) % REGIONS}` } } }));
  console.log(`created ${CLUSTERS} Clusters and ${CELLS} Cells in ${((performance.now() - createStart) / 1000).toFixed(1)} s`);

  // Baseline: one status write per Cluster, WORKERS at a time (then removed again).
  const baselineStart = performance.now();
  await pool(names, WORKERS, (name) => setup.patch(`${clustersPath}/${name}/status`, { status: { phase: 'Pending' } }, 'merge'));
  const baselineSeconds = (performance.now() - baselineStart) / 1000;
  await pool(names, 32, (name) => setup.patch(`${clustersPath}/${name}/status`, { status: { phase: null } }, 'merge'));

  const client = new RestClient(kubeConfig);
  operator = new FleetOperator({ client, logger: new Logger({ write: () => {}, level: 'error' }), workers: WORKERS, cellResyncMs: 600_000 });
  const placeStart = performance.now();
  await operator.start();
  const caches = operator.state.caches;
  for (;;) {
    const placed = caches.clusters.list().filter((cluster) => cluster.status?.cell).length;
    if (placed === CLUSTERS) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const placeSeconds = (performance.now() - placeStart) / 1000;
  const placementWrites = writes(client);
  // Let the Cell status catch up, then reconcile everything again: a placed fleet writes nothing.
  for (;;) {
    const counted = caches.cells.list().reduce((sum, cell) => sum + (cell.status?.guests ?? 0), 0);
    if (counted === CLUSTERS && operator.cells.queue.len() === 0 && operator.placement.queue.len() === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000)); // in-flight reconciles finish; the count below is what proves convergence
  const before = writes(client);
  const resyncStart = performance.now();
  for (const name of names) await operator.placementReconciler.reconcile(`${NAMESPACE}/${name}`);
  for (const cell of caches.cells.list()) await operator.cellReconciler.reconcile(cell.metadata.name);
  const resyncSeconds = (performance.now() - resyncStart) / 1000;
  const writesWhenConverged = writes(client) - before;
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;

  const listStart = performance.now();
  await Promise.all([setup.get('/apis/tessera.dev/v1alpha1/clusters'), setup.get('/apis/tessera.dev/v1alpha1/cells')]);
  const listSeconds = (performance.now() - listStart) / 1000;
  const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const fleetStart = performance.now();
  const fleetOutput = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [cli, 'fleet', '-o', 'json', '--kubeconfig', kubeconfigPath], { maxBuffer: 256 * 2 ** 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
  const fleetViewSeconds = (performance.now() - fleetStart) / 1000;
  const fleetGuests = (JSON.parse(fleetOutput) as { guests: unknown[] }).guests.length;

  console.log(`placement controller: ${CLUSTERS} Clusters, ${CELLS} Cells, ${WORKERS} workers`);
  console.log(`  all placed in ${placeSeconds.toFixed(1)} s (${Math.round(CLUSTERS / placeSeconds)} per second) with ${placementWrites} writes (finalizer, status, Events, Cell status)`);
  console.log(`  baseline: ${CLUSTERS} status writes by the bench itself in ${baselineSeconds.toFixed(1)} s (${(placeSeconds / baselineSeconds).toFixed(1)}x)`);
  console.log(`  reconciling all ${CLUSTERS} Clusters and ${CELLS} Cells again: ${writesWhenConverged} writes in ${resyncSeconds.toFixed(1)} s; operator heap ${heapMiB.toFixed(0)} MiB`);
  console.log(`  tessera fleet -o json: ${fleetGuests} guests in ${fleetViewSeconds.toFixed(2)} s (a new process); baseline: the same two lists in-process in ${listSeconds.toFixed(2)} s`);
  console.log(JSON.stringify({ bench: 'placement-controller', clusters: CLUSTERS, cells: CELLS, placeSeconds: Math.round(placeSeconds * 10) / 10, baselineSeconds: Math.round(baselineSeconds * 10) / 10, writesWhenConverged, fleetViewSeconds: Math.round(fleetViewSeconds * 100) / 100 }));
} finally {
  await operator?.stop();
  await apiServer.stop();
  await etcd.stop();
  await rm(directory, { recursive: true, force: true });
}
