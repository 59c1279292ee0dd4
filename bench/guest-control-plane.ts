// Benchmark: hosted guest control planes (Kube-on-Kube) against their bare processes, in one run.
//  (a) P1: a Minimal Cluster from create to its API answering /readyz through status.endpoint with
//      the admin kubeconfig (median of 5), beside the floor: the same etcd + kube-apiserver
//      binaries spawned directly with pre-made certificates until kube-apiserver's /readyz
//      answers. Floor and guest samples alternate, so both see the same background load. Measured
//      twice: on a quiet box, and with one core kept busy by a CPU hog the bench starts for both.
//      Where the guest's time goes is printed as a timeline of milestones (guest-timeline.ts).
//  (b) Delete: from `delete` to nothing left: the Cluster, its pods, its PersistentVolumes and
//      the processes of its pods.
//  (c) Writes the meta API server receives, by its own apiserver_request_total, to the resources
//      the Cluster operator owns, over a window longer than the operator's 60 s resync requeue:
//      with 3 Minimal guests Ready, beside the same window with no guests at all.
// Numbers are printed, never asserted: they depend on the machine.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { defaultConfig } from '../src/local/metacluster/config.ts';
import { apiServerArgs, etcdArgs, pkiLayout } from '../src/local/metacluster/control-plane.ts';
import { ensureMetaPki } from '../src/local/metacluster/meta-pki.ts';
import { ensureBinaries } from '../src/local/binaries/resolve.ts';
import { atContainerPriority } from '../src/local/runtime/container-process.ts';
import { RestClient, isNotFound, resourcePath } from '../src/controller/rest-client.ts';
import { WRITE_VERBS, writeCounters } from './api-server-metrics.ts';
import { GuestTimeline, milestonesFromLogs, processMilestones, timelineTable, type Milestone } from './guest-timeline.ts';
import { processesMentioning } from '../test/harness/meta-cluster-cli.ts';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const minimalExample = fileURLToPath(new URL('../examples/cluster-minimal.yaml', import.meta.url));
// Not used by any e2e file, so the bench can run beside the test suite.
const NETWORK_INDEX = '14';
const SAMPLES = 5;
const GUESTS = 3;
const WINDOW_MS = 60_000;
const NAMESPACE = 'default';

type ClusterObject = {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { version: string };
  status?: { endpoint?: string; adminKubeconfigSecret?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

function tessera(home: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, TESSERA_HOME: home, TESSERA_NETWORK_INDEX: NETWORK_INDEX }, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => (error ? reject(new Error(`tessera ${args.join(' ')}: ${stderr}`)) : resolve()));
  });
}

/** GET `path` on `server`; the status and trimmed body, or undefined when nothing answered. */
function probe(server: string, path: string, tls: RequestOptions = { rejectUnauthorized: false }): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const url = new URL(path, server);
    const send = url.protocol === 'https:' ? request : httpRequest;
    const req = send(url, { ...tls, agent: false, timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: body.trim() }));
      response.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 25, explain: () => Promise<string> = async () => ''): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${await explain()}`);
    await sleep(intervalMs);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? NaN;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
const list = (values: number[]) => values.map((v) => (v / 1000).toFixed(1)).join(', ');

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

type FloorSample = { ms: number; milestones: Map<Milestone, number> };

/** One floor sample: etcd spawned, then kube-apiserver once etcd is healthy, until its /readyz says ok. */
async function bareEtcdAndApiServer(kubernetesVersion: string): Promise<FloorSample> {
  const directory = await mkdtemp(join(tmpdir(), 'tessera-bench-floor-'));
  const children: ChildProcess[] = [];
  try {
    const binaries = await ensureBinaries({ kubernetesVersion, components: ['etcd', 'kube-apiserver'] });
    // Only 127.0.0.1 ports are bound; the network index just names a service range.
    const config = await defaultConfig(kubernetesVersion, Number(NETWORK_INDEX));
    const layout = pkiLayout(join(directory, 'pki'));
    // Certificates made before the timer starts: the floor is the processes alone.
    const pki = await ensureMetaPki({ ...config, nodes: [] }, layout, join(directory, 'kubeconfig'));
    const started = performance.now();
    const startedAtEpochMs = Date.now();
    // Their logs (stderr), for the same process milestones as the guest's.
    const logs = { etcd: '', 'kube-apiserver': '' };
    const spawnLogged = (component: keyof typeof logs, args: string[]) => {
      // At the priority the runtime gives containers, so the floor and the guest compete alike.
      const [command, priorityArgs] = atContainerPriority(binaries[component], args);
      const child = spawn(command, priorityArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (chunk: Buffer) => (logs[component] += chunk.toString()));
      children.push(child);
    };
    spawnLogged('etcd', etcdArgs(config, layout, join(directory, 'etcd')));
    await until('bare etcd /health', async () => (await probe(`http://127.0.0.1:${config.etcdMetricsPort}`, '/health'))?.status === 200, 60_000);
    spawnLogged('kube-apiserver', apiServerArgs(config, layout));
    await until('bare kube-apiserver /readyz', async () => (await probe(`https://127.0.0.1:${config.apiServerPort}`, '/readyz', { ca: pki.ca.certPem }))?.body === 'ok', 120_000);
    const ms = performance.now() - started;
    return { ms, milestones: milestonesFromLogs(logs.etcd.split('\n'), logs['kube-apiserver'].split('\n'), startedAtEpochMs) };
  } finally {
    for (const child of children.reverse()) {
      child.kill('SIGTERM');
      await exited(child);
    }
    await rm(directory, { recursive: true, force: true });
  }
}

class Guests {
  private readonly meta: RestClient;
  private readonly manifest: ClusterObject;
  private readonly home: string;

  constructor(meta: RestClient, manifest: ClusterObject, home: string) {
    this.meta = meta;
    this.manifest = manifest;
    this.home = home;
  }

  private path(name?: string): string {
    return resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace: NAMESPACE, name });
  }

  get(name: string): Promise<ClusterObject> {
    return this.meta.get<ClusterObject>(this.path(name));
  }

  async create(name: string): Promise<void> {
    await this.meta.create(this.path(), { ...this.manifest, metadata: { ...this.manifest.metadata, name } });
  }

  /** The Cluster's conditions, for error messages when a guest does not come up. */
  async describe(name: string): Promise<string> {
    const cluster = await this.get(name).catch((error: unknown) => ({ status: { conditions: [{ type: 'get', status: String(error) }] } }) as ClusterObject);
    return `\n  ${name} conditions: ${(cluster.status?.conditions ?? []).map((c) => `${c.type}=${c.status} (${c.reason ?? ''}: ${c.message ?? ''})`).join('\n    ') || 'none'}`;
  }

  /**
   * Waits for status.endpoint and status.adminKubeconfigSecret, then polls GET /readyz on the
   * endpoint with the admin kubeconfig from that Secret until it answers `ok`.
   */
  async waitReadyz(name: string, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let endpoint: string | undefined;
    let secretName: string | undefined;
    await until(`status.endpoint and status.adminKubeconfigSecret of Cluster ${name}`, async () => {
      const status = (await this.get(name)).status;
      endpoint = status?.endpoint;
      secretName = status?.adminKubeconfigSecret;
      return Boolean(endpoint && secretName);
    }, timeoutMs, 50, () => this.describe(name));
    const secret = await this.meta.get<{ data?: Record<string, string> }>(resourcePath({ version: 'v1', resource: 'secrets', namespace: NAMESPACE, name: secretName }));
    const kubeconfigText = Buffer.from(secret.data?.['kubeconfig'] ?? '', 'base64').toString('utf8');
    if (!kubeconfigText) throw new Error(`Secret ${secretName} (status.adminKubeconfigSecret of ${name}) has no key "kubeconfig"`);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kubeconfigText);
    const server = kubeConfig.getCurrentCluster()?.server;
    if (server !== endpoint) throw new Error(`the admin kubeconfig of ${name} points at ${server}, but status.endpoint is ${endpoint}`);
    const tls: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(tls);
    let last = 'no answer';
    await until(`guest ${name} /readyz at ${endpoint}`, async () => {
      const answer = await probe(endpoint ?? '', '/readyz', tls);
      last = answer ? `${answer.status} ${answer.body.slice(0, 200)}` : 'no answer';
      return answer?.body === 'ok';
    }, Math.max(0, deadline - performance.now()), 25, async () => `; last answer: ${last}${await this.describe(name)}`);
  }

  async waitReadyCondition(name: string, timeoutMs: number): Promise<void> {
    await until(`Ready=True on Cluster ${name}`, async () => Boolean((await this.get(name)).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')), timeoutMs, 250, () => this.describe(name));
  }

  /**
   * Deletes the Cluster and waits until the operator's finalizer has removed everything and the
   * Cluster is gone. When the operator does not finish within `operatorTimeoutMs`, the reason is
   * taken from its log and the owned objects are removed with the meta admin's credentials, so
   * the benchmark can go on with no guest left behind; the failure is printed with the results.
   */
  async delete(name: string, operatorTimeoutMs: number): Promise<{ byOperator: true; ms: number } | { byOperator: false; reason: string }> {
    const started = performance.now();
    await this.meta.delete(this.path(name));
    const gone = async () => {
      try {
        await this.get(name);
        return false;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    };
    let result: { byOperator: true; ms: number } | { byOperator: false; reason: string };
    try {
      await until(`Cluster ${name} to be deleted`, gone, operatorTimeoutMs, 100);
      result = { byOperator: true, ms: performance.now() - started };
    } catch {
      result = { byOperator: false, reason: await this.lastOperatorError(name) };
      const selector = { labelSelector: `tessera.dev/cluster=${name}` };
      for (const resource of [{ group: 'apps', version: 'v1', resource: 'deployments' }, { version: 'v1', resource: 'pods' }, { version: 'v1', resource: 'persistentvolumeclaims' }, { version: 'v1', resource: 'secrets' }]) {
        await this.meta.delete(resourcePath({ ...resource, namespace: NAMESPACE }), undefined, selector);
      }
      const services = await this.meta.get<{ items: { metadata: { name: string } }[] }>(resourcePath({ version: 'v1', resource: 'services', namespace: NAMESPACE }), selector);
      for (const service of services.items) await this.meta.delete(resourcePath({ version: 'v1', resource: 'services', namespace: NAMESPACE, name: service.metadata.name }));
      await until(`Cluster ${name} to be deleted once its objects were removed by hand`, gone, 120_000, 100, () => this.describe(name));
    }
    await until(`the pods of Cluster ${name} to be gone`, async () => (await this.meta.get<{ items: unknown[] }>(resourcePath({ version: 'v1', resource: 'pods', namespace: NAMESPACE }), { labelSelector: `tessera.dev/cluster=${name}` })).items.length === 0, 60_000, 250);
    return result;
  }

  /** The operator's last "Reconciler error" for this Cluster in the supervisor's log. */
  private async lastOperatorError(name: string): Promise<string> {
    const log = await readFile(join(this.home, 'logs', 'supervisor.log'), 'utf8').catch(() => '');
    const key = `"key":"${NAMESPACE}/${name}"`;
    const line = log.split('\n').filter((l) => l.includes('Reconciler error') && l.includes(key)).at(-1);
    if (!line) return 'no reconciler error logged';
    try {
      const entry = JSON.parse(line.slice(line.indexOf('{'))) as { error?: { message?: string }; retries?: number };
      return `${entry.error?.message ?? line} (retries ${entry.retries ?? '?'})`;
    } catch {
      return line;
    }
  }
}

// (c): apiserver_request_total, summed over codes, by resource/subresource and verb.
/** What the Cluster operator writes; subresources written by others (pods/status by the runtime, deployments/status by controller-manager, pods/binding by the scheduler) are left out. */
const OPERATOR_OWNED = new Set(['clusters', 'clusters/status', 'secrets', 'services', 'deployments', 'pods', 'persistentvolumeclaims']);

async function writesOver(meta: RestClient, windowMs: number): Promise<{ owned: number; all: number; breakdown: Map<string, number> }> {
  const before = await writeCounters(meta);
  await sleep(windowMs);
  const after = await writeCounters(meta);
  const breakdown = new Map<string, number>();
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta > 0) breakdown.set(key, delta);
  }
  let owned = 0;
  let all = 0;
  for (const [key, delta] of breakdown) {
    all += delta;
    if (OPERATOR_OWNED.has(key.split(' ')[0] ?? '')) owned += delta;
  }
  return { owned, all, breakdown };
}

const describeBreakdown = (breakdown: Map<string, number>) => [...breakdown].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `${key} ${n}`).join(', ') || 'none';

/** Keeps one core busy until stopped: the "busy box" of P1. */
function startCpuHog(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

type P1Result = { floor: number[]; guest: number[]; deletion: number[]; deletionFailures: string[]; timelines: Map<Milestone, number>[]; floorTimelines: Map<Milestone, number>[] };

async function measureP1(meta: RestClient, guests: Guests, timeline: GuestTimeline, kubernetesVersion: string, label: string): Promise<P1Result> {
  const result: P1Result = { floor: [], guest: [], deletion: [], deletionFailures: [], timelines: [], floorTimelines: [] };
  for (let i = 1; i <= SAMPLES; i++) {
    const floor = await bareEtcdAndApiServer(kubernetesVersion);
    result.floor.push(floor.ms);
    result.floorTimelines.push(floor.milestones);
    const name = `${label}-${i}`;
    const created = performance.now();
    const createdAtEpochMs = Date.now();
    await guests.create(name);
    await guests.waitReadyz(name, 180_000);
    result.guest.push(performance.now() - created);
    result.timelines.push(new Map([...timeline.since(name, created), ...(await processMilestones(meta, NAMESPACE, name, createdAtEpochMs))]));
    // Delete: until nothing of the guest is left, processes and volumes included.
    const selector = { labelSelector: `tessera.dev/cluster=${name}` };
    const uids = (await meta.get<{ items: { metadata: { uid: string } }[] }>(resourcePath({ version: 'v1', resource: 'pods', namespace: NAMESPACE }), selector)).items.map((pod) => pod.metadata.uid);
    const deleteStarted = performance.now();
    const deleted = await guests.delete(name, 45_000);
    await until(`the volumes of ${name} to be gone`, async () => {
      const volumes = await meta.get<{ items: { spec?: { claimRef?: { name?: string } } }[] }>('/api/v1/persistentvolumes');
      return !volumes.items.some((volume) => volume.spec?.claimRef?.name?.startsWith(`${name}-`));
    }, 60_000, 25);
    for (const uid of uids) await until(`the processes of pod ${uid} to exit`, async () => (await processesMentioning(uid)).length === 0, 60_000, 25);
    if (deleted.byOperator) result.deletion.push(performance.now() - deleteStarted);
    else result.deletionFailures.push(`${name}: ${deleted.reason}`);
  }
  return result;
}

function printP1(title: string, result: P1Result): void {
  console.log(title);
  console.log(`  etcd + kube-apiserver spawned directly:       median ${seconds(median(result.floor))}   (floor; samples ${list(result.floor)} s)`);
  console.log(`  Cluster create to /readyz on status.endpoint: median ${seconds(median(result.guest))}   ratio ${(median(result.guest) / median(result.floor)).toFixed(2)}x  (samples ${list(result.guest)} s)`);
  console.log("  where the floor's time goes (median of each milestone, and the step before it):");
  for (const row of timelineTable(result.floorTimelines, result.floor, 'floor /readyz ok (bench)')) console.log(row);
  console.log("  where the guest's time goes (median of each milestone, and the step before it):");
  for (const row of timelineTable(result.timelines, result.guest)) console.log(row);
  if (result.deletion.length) console.log(`  delete to nothing left (objects, volumes, processes): median ${seconds(median(result.deletion))}  (${result.deletion.length} of ${SAMPLES}; samples ${list(result.deletion)} s)`);
  if (result.deletionFailures.length) {
    console.log(`  DELETION FAILED: the operator did not delete ${result.deletionFailures.length} of ${SAMPLES} Clusters within 45s; the benchmark removed their objects itself:`);
    for (const failure of result.deletionFailures) console.log(`    ${failure}`);
  }
}

const home = await mkdtemp(join(tmpdir(), 'tessera-bench-guests-'));
try {
  const manifest = parse(await readFile(minimalExample, 'utf8')) as ClusterObject;
  const kubernetesVersion = manifest.spec.version;
  await tessera(home, ['up', '--detach']);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(join(home, 'kubeconfig'));
  const meta = new RestClient(kubeConfig);
  const guests = new Guests(meta, manifest, home);
  const timeline = new GuestTimeline(meta, NAMESPACE);
  await timeline.start();

  // (a) and (b), quiet, then busy.
  const quiet = await measureP1(meta, guests, timeline, kubernetesVersion, 'quiet');
  const hog = startCpuHog();
  let busy: P1Result;
  try {
    busy = await measureP1(meta, guests, timeline, kubernetesVersion, 'busy');
  } finally {
    hog.kill('SIGKILL');
    await exited(hog);
  }
  await timeline.stop();

  // (c), first the meta cluster alone, then with guests converged (TESSERA_BENCH_PARTS=p1 leaves it out when only P1 is looked at).
  if (process.env['TESSERA_BENCH_PARTS'] === 'p1') {
    printP1(`(a) P1, quiet box: create to guest /readyz ok, median of ${SAMPLES}`, quiet);
    printP1(`(a) P1, one core kept busy by a CPU hog (for the floor and the guest alike), median of ${SAMPLES}`, busy);
  } else {
  const baseline = await writesOver(meta, WINDOW_MS);
  const names = Array.from({ length: GUESTS }, (_, i) => `resync-${i + 1}`);
  for (const name of names) await guests.create(name);
  await Promise.all(names.map(async (name) => {
    await guests.waitReadyz(name, 300_000);
    await guests.waitReadyCondition(name, 120_000);
  }));
  // Let the pass that saw Ready write its status and the guest's objects before counting.
  await sleep(10_000);
  const converged = await writesOver(meta, WINDOW_MS);

  console.log(`guest control plane: Minimal Cluster (examples/cluster-minimal.yaml, Kubernetes ${kubernetesVersion}), binaries cached`);
  printP1(`(a) P1, quiet box: create to guest /readyz ok, median of ${SAMPLES}`, quiet);
  printP1(`(a) P1, one core kept busy by a CPU hog (for the floor and the guest alike), median of ${SAMPLES}`, busy);
  console.log(`(c) meta API server writes over ${WINDOW_MS / 1000}s, from apiserver_request_total`);
  console.log(`    operator-owned = ${[...OPERATOR_OWNED].join(', ')}; verbs ${[...WRITE_VERBS].join('/')}`);
  console.log(`  no guests:             operator-owned ${baseline.owned}, all resources ${baseline.all}   (baseline)`);
  console.log(`  ${GUESTS} Minimal guests Ready: operator-owned ${converged.owned}, all resources ${converged.all}`);
  console.log(`  operator-owned writes per converged guest over the window: ${((converged.owned - baseline.owned) / GUESTS).toFixed(2)} above the baseline`);
  console.log(`  writes with guests, by resource: ${describeBreakdown(converged.breakdown)}`);
  console.log(`  writes without guests, by resource: ${describeBreakdown(baseline.breakdown)}`);
  const round = (value: number, digits = 3) => Number(value.toFixed(digits));
  console.log(
    JSON.stringify({
      bench: 'guest-control-plane',
      p1Ratio: round(median(quiet.guest) / median(quiet.floor)),
      p1BusyRatio: round(median(busy.guest) / median(busy.floor)),
      p1Seconds: round(median(quiet.guest) / 1000),
      floorSeconds: round(median(quiet.floor) / 1000),
      p1BusySeconds: round(median(busy.guest) / 1000),
      floorBusySeconds: round(median(busy.floor) / 1000),
      deleteSeconds: round(median(quiet.deletion) / 1000),
      deleteBusySeconds: round(median(busy.deletion) / 1000),
      writesPerConvergedGuest: round((converged.owned - baseline.owned) / GUESTS),
    }),
  );
  }
} finally {
  await tessera(home, ['down']).catch((error: unknown) => console.error((error as Error).message));
  await rm(home, { recursive: true, force: true });
}
