// Benchmark (issue 3, b): the Cluster operator converging many Minimal guests on a meta cluster
// whose nodes are simulated by kwok, measured in one run beside the API server's own floor.
//  1. 200 guests on a kwok meta cluster whose Service IPs are loopback addresses, as on the local
//     meta cluster: nothing listens there, so the guests' /readyz and etcd calls are refused at
//     once. Time until every guest owns all its objects and its passes write nothing new (a write
//     that each of the guest's previous passes made too is a repeat that will never stop, and is
//     reported apart); the operator's memory before the first Cluster and at the end; API
//     writes per guest; what a fleet that never becomes Ready costs afterwards.
//     Baseline: the bench creating the same number of objects (as ConfigMaps of the same mean
//     size) itself, with as many concurrent writers as the operator has workers.
//  2. Fewer guests on a second kwok meta cluster whose guest Services accept connections and
//     never answer, as fake pod IPs behind kube-proxy do on a real meta cluster: how much of the
//     convergence time the probes' timeouts take.
// No guest process runs anywhere: kwok marks the pods Running and Ready, so "converged" here means
// the objects and the operator's writes, never a guest answering /readyz.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import type { V1Service } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { defaultConfig } from '../src/local/metacluster/config.ts';
import { apiServerArgs, controllerManagerArgs, etcdArgs, pkiLayout, schedulerArgs } from '../src/local/metacluster/control-plane.ts';
import { ensureMetaPki } from '../src/local/metacluster/meta-pki.ts';
import { SupervisedProcess } from '../src/local/process/supervised-process.ts';
import { ensureBinaries } from '../src/local/binaries/resolve.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../src/local/binaries/versions.ts';
import { RestClient, isAlreadyExists, resourcePath } from '../src/controller/rest-client.ts';
import { Informer } from '../src/controller/informer.ts';
import { Logger } from '../src/controller/logger.ts';
import { buildClusterCrd, clusterCrdName } from '../src/api/v1alpha1/crd.ts';
import type { Cluster } from '../src/api/v1alpha1/cluster.ts';
import { ClusterOperator } from '../src/operators/cluster/operator.ts';
import { CLUSTER_LABEL } from '../src/operators/cluster/names.ts';
import { probeReadyz } from '../src/operators/cluster/guest-access.ts';
import { EtcdClusterClient } from '../src/operators/cluster/etcd-client.ts';

const GUESTS = 200;
const TIMEOUT_GUESTS = 24;
const NAMESPACE = 'guests';
/** Quiet time after the last write before convergence is declared (besides a write-free pass per guest). */
const QUIET_MS = 10_000;
const CONVERGENCE_DEADLINE_MS = 300_000;
/** The second part cannot converge in a bench's time (see its report); it measures the rate. */
const TIMEOUT_DEADLINE_MS = 150_000;
const WORKERS = 4; // the operator's default
const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

// A heap measured after a full collection, not whatever garbage happens to be around.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

type ProcessName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';
type KwokMetaCluster = { admin: RestClient; kubeConfig: KubeConfig; directory: string; stop: () => Promise<void> };
type Condition = { type: string; status: string };
type Named = { metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; managedFields?: unknown } };

function healthy(url: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const send = url.startsWith('https:') ? request : httpRequest;
    // The controller-manager and scheduler serve self-signed certificates on /healthz.
    const req = send(url, { ca, rejectUnauthorized: ca !== undefined, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, periodMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await sleep(periodMs);
  }
}

/** In a pool of `concurrency` sequential writers: the shape of the operator's workers. */
async function inParallel<T>(items: T[], concurrency: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await task(items[next++] as T);
  }));
}

// kwok v0.8 ships no built-in Stages: without these it exits with "no stages found". Nodes become
// Ready once (kwok renews their Leases, given --node-lease-duration-seconds); pods become Running and Ready as soon as they are
// bound; a deleted pod goes away at once, as no kubelet will confirm it.
const kwokStages = [
  {
    name: 'bench-node-ready',
    kind: 'Node',
    selector: [{ key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: 'NotIn', values: ['True'] }],
    next: {
      statusTemplate: [
        '{{ $now := Now }}',
        'conditions:',
        '{{ range NodeConditions }}',
        '- {type: {{ .type | Quote }}, status: {{ .status | Quote }}, reason: {{ .reason | Quote }}, message: {{ .message | Quote }}, lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}',
        '{{ end }}',
        'addresses:',
        '- {type: InternalIP, address: {{ NodeIP | Quote }}}',
        'capacity:',
        '{{ YAML .status.capacity 1 }}',
        'allocatable:',
        '{{ YAML .status.allocatable 1 }}',
        'phase: Running',
      ].join('\n'),
    },
  },
  {
    name: 'bench-pod-running',
    kind: 'Pod',
    selector: [
      { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
      { key: '.status.phase', operator: 'In', values: ['Pending'] },
    ],
    next: {
      statusTemplate: [
        '{{ $now := Now }}',
        'phase: Running',
        'startTime: {{ $now | Quote }}',
        'conditions:',
        '{{ range list "PodScheduled" "Initialized" "ContainersReady" "Ready" }}',
        '- {type: {{ . }}, status: "True", lastTransitionTime: {{ $now | Quote }}}',
        '{{ end }}',
        'containerStatuses:',
        '{{ range .spec.containers }}',
        '- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, started: true, restartCount: 0, state: {running: {startedAt: {{ $now | Quote }}}}}',
        '{{ end }}',
        '{{ with NodeIPsWith .spec.nodeName }}',
        'hostIP: {{ index . 0 | Quote }}',
        '{{ end }}',
        '{{ with PodIPsWith .spec.nodeName false .metadata.uid .metadata.name .metadata.namespace }}',
        'podIP: {{ index . 0 | Quote }}',
        'podIPs: [{ip: {{ index . 0 | Quote }}}]',
        '{{ end }}',
      ].join('\n'),
    },
  },
  { name: 'bench-pod-gone', kind: 'Pod', selector: [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }], next: { delete: true } },
].map(({ name, kind, selector, next }) => ({ apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Stage', metadata: { name }, spec: { resourceRef: { apiGroup: 'v1', kind }, selector: { matchExpressions: selector }, next } }));

/**
 * etcd, kube-apiserver, kube-controller-manager and kube-scheduler with the local meta cluster's
 * flags and PKI, plus kwok managing three fake Nodes (one per zone) that pods are scheduled onto.
 */
async function startKwokMetaCluster(networkIndex: number): Promise<KwokMetaCluster> {
  const directory = await mkdtemp(join(tmpdir(), 'tessera-bench-kwok-'));
  const binaries = await ensureBinaries({ components: ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] });
  const config = { ...(await defaultConfig(DEFAULT_KUBERNETES_VERSION, networkIndex)), nodes: [] };
  const layout = pkiLayout(join(directory, 'pki'));
  const kubeconfigPath = join(directory, 'kubeconfig');
  const pki = await ensureMetaPki(config, layout, kubeconfigPath);
  const stagesPath = join(directory, 'kwok-stages.yaml');
  await writeFile(stagesPath, kwokStages.map((stage) => stringify(stage)).join('---\n'));
  const supervised = (name: ProcessName, args: string[], healthCheck?: () => Promise<boolean>) =>
    new SupervisedProcess({ name, command: binaries[name], args, logFile: join(directory, `${name}.log`), recordDirectory: join(directory, 'run'), healthCheck });
  const processes = [
    // Disposable data: skip fsync, as the test harness does. The baseline shares this etcd.
    supervised('etcd', [...etcdArgs(config, layout, join(directory, 'etcd')), '--unsafe-no-fsync=true'], () => healthy(`http://127.0.0.1:${config.etcdMetricsPort}/health`)),
    supervised('kube-apiserver', apiServerArgs(config, layout), () => healthy(`https://127.0.0.1:${config.apiServerPort}/readyz`, pki.ca.certPem)),
    supervised('kube-controller-manager', controllerManagerArgs(config, layout), () => healthy(`https://127.0.0.1:${config.controllerManagerPort}/healthz`)),
    supervised('kube-scheduler', schedulerArgs(config, layout), () => healthy(`https://127.0.0.1:${config.schedulerPort}/healthz`)),
    supervised('kwok', [`--kubeconfig=${kubeconfigPath}`, `--config=${stagesPath}`, '--manage-all-nodes=false', `--manage-nodes-with-annotation-selector=${KWOK_ANNOTATION}=fake`,
      // Without a KwokConfiguration kwok renews no node Leases; the node lifecycle controller would
      // then mark the nodes NotReady every 40s and evict the pods.
      '--node-lease-duration-seconds=40', '--node-ip=10.255.255.1', '--cidr=10.0.0.0/16']),
  ];
  const started: SupervisedProcess[] = [];
  const stop = async () => {
    for (const process of started.reverse()) await process.stop();
    await rm(directory, { recursive: true, force: true });
  };
  try {
    for (const process of processes) {
      await process.start();
      started.push(process);
      if (process.spec.healthCheck) await process.waitHealthy(120_000);
    }
  } catch (error) {
    const log = await readFile(join(directory, 'kube-apiserver.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`${(error as Error).message}\n${log.slice(-2000)}`, { cause: error });
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const admin = new RestClient(kubeConfig);
  try {
    await prepareMetaCluster(admin);
  } catch (error) {
    await stop();
    throw error;
  }
  return { admin, kubeConfig, directory, stop };
}

/** Fake Nodes Ready, the guests' namespace, a volume per etcd claim, the Cluster CRD. */
async function prepareMetaCluster(admin: RestClient): Promise<void> {
  for (const [index, zone] of ZONES.entries()) {
    const name = `kwok-${zone}`;
    const capacity = { cpu: '1000', memory: '4Ti', pods: '1000' };
    await admin.create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, annotations: { [KWOK_ANNOTATION]: 'fake' }, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zone, type: 'kwok' } },
      spec: { podCIDR: `10.${index + 1}.0.0/16` },
      status: { capacity, allocatable: capacity },
    });
  }
  await until('the kwok Nodes Ready', async () => {
    const nodes = await admin.get<{ items: { status?: { conditions?: Condition[] } }[] }>('/api/v1/nodes');
    return nodes.items.length === ZONES.length && nodes.items.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
  }, 60_000);
  await admin.create('/api/v1/namespaces', { metadata: { name: NAMESPACE } });
  // Pods are refused until the controller-manager has made the namespace's default ServiceAccount.
  await until('the default ServiceAccount', () => admin.get(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default`), 60_000);
  // Each Minimal guest's etcd member claims 1Gi without a StorageClass; there is no provisioner,
  // so the claims bind to these (nothing ever mounts them).
  await inParallel(Array.from({ length: GUESTS }, (_, i) => i), 8, (i) =>
    admin.create('/api/v1/persistentvolumes', {
      metadata: { name: `etcd-data-${String(i).padStart(3, '0')}` },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', hostPath: { path: `/nonexistent/etcd-${i}` } },
    }),
  );
  const crd = buildClusterCrd();
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${clusterCrdName}`;
  await admin.apply(crdPath, crd, 'tessera-bench', true);
  await until('the Cluster CRD Established', async () => {
    const live = await admin.get<{ status?: { conditions?: Condition[] } }>(crdPath);
    return live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  }, 30_000, 100);
}

/**
 * Every Service ClusterIP:port of the guests gets a listener that accepts and never answers, so
 * the operator's /readyz probes and etcd calls run into their timeouts, as they do against fake
 * pod IPs on a real meta cluster. The Service IPs are loopback addresses, so the bench can own them.
 */
async function blackholeGuestServices(admin: RestClient): Promise<{ stop: () => Promise<void> }> {
  const servers = new Map<string, Server>();
  const sockets = new Set<Socket>();
  const informer = new Informer<V1Service>(admin, `/api/v1/namespaces/${NAMESPACE}/services`, { labelSelector: CLUSTER_LABEL });
  informer.on(({ type, object }) => {
    const ip = object.spec?.clusterIP;
    if (type === 'delete' || !ip || ip === 'None') return;
    for (const port of object.spec?.ports ?? []) {
      const address = `${ip}:${port.port}`;
      if (servers.has(address)) continue;
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
      });
      server.on('error', (error) => console.error(`  could not listen on ${address}: ${error.message}`));
      server.listen(port.port, ip);
      servers.set(address, server);
    }
  });
  await informer.start();
  return {
    stop: async () => {
      await informer.stop();
      for (const socket of sockets) socket.destroy();
      await Promise.all([...servers.values()].map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

/**
 * Per guest: its passes, and the objects each recent pass wrote. A write that every one of the
 * previous REPEATS passes made as well is a repeat: the operator re-applies something that never
 * comes to match, and waiting longer will not make it stop.
 */
type PassRecord = { passes: number; errors: number; lastOutcome: 'done' | 'error'; lastPassSettled: boolean; recent: string[][]; lastChangeAt: number };
const REPEATS = 3;
type ConvergenceResult = {
  guests: number;
  converged: boolean;
  deadlineMs: number;
  allObjectsAtMs: number | undefined;
  /** End of the last pass (over all guests) that wrote something other than a repeat. */
  settledAtMs: number | undefined;
  /** CPU time of the bench process (the operator, mostly) from the first create to convergence or the deadline. */
  convergenceCpuMs: number;
  lastWriteAtMs: number;
  writes: number;
  mutatingRequests: number;
  reconciles: number;
  reconcileErrors: number;
  errorsByMessage: Map<string, number>;
  writesByResource: Map<string, number>;
  durationsMs: number[];
  memoryBefore: NodeJS.MemoryUsage;
  memoryAfter: NodeJS.MemoryUsage;
  steady: { reconcilesPerSecond: number; cpuShare: number; writes: number; byObject: Map<string, number> };
  objectsPerGuest: Record<string, number>;
  meanObjectBytes: number;
  missing: string[];
};

const clusterKeys = (count: number) => Array.from({ length: count }, (_, i) => `${NAMESPACE}/g-${String(i).padStart(3, '0')}`);

/** What a Minimal guest owns in the meta cluster, counted in the operator's caches. */
function ownedCounts(operator: ClusterOperator, key: string): Record<string, number> {
  const [namespace, name] = key.split('/');
  const mine = (objects: Named[]) => objects.filter((o) => o.metadata?.namespace === namespace && o.metadata?.labels?.[CLUSTER_LABEL] === name);
  const pods = mine(operator.caches.pods.list());
  return {
    secrets: mine(operator.caches.secrets.list()).length,
    services: mine(operator.caches.services.list()).length,
    etcdPods: pods.filter((p) => p.metadata?.labels?.['tessera.dev/component'] === 'etcd').length,
    claims: mine(operator.caches.claims.list()).length,
    deployments: mine(operator.caches.deployments.list()).length,
  };
}

// 14 PKI and kubeconfig Secrets (3 CAs, the service-account keys, 5 leaf certificates, the etcd
// member's, kubeconfigs for admin, controller-manager, scheduler and the extra user), 4 Services, the etcd Pod and its claim, 3 Deployments.
const expectedPerGuest: Record<string, number> = { secrets: 14, services: 4, etcdPods: 1, claims: 1, deployments: 3 };
const ownedPerGuest = Object.values(expectedPerGuest).reduce((a, b) => a + b, 0);
const complete = (counts: Record<string, number>) => Object.entries(expectedPerGuest).every(([kind, count]) => (counts[kind] ?? 0) >= count);

const guestOf = (text: string) => /\b(g-\d{3})\b/.exec(text)?.[1];
const withoutGuestName = (text: string) => text.replace(/\bg-\d{3}\b/g, 'g-NNN');

async function convergeGuests(meta: KwokMetaCluster, guests: number, deadlineMs: number): Promise<ConvergenceResult> {
  const passes = new Map<string, PassRecord>();
  const errorsByMessage = new Map<string, number>();
  const durationsMs: number[] = [];
  let reconcileErrors = 0;
  // Writes of the pass in flight per guest, from the request paths. A key is reconciled by one
  // worker at a time and each write is awaited, so a pass's writes all land before its log line.
  const writesInFlight = new Map<string, string[]>();
  const writesByResource = new Map<string, number>();
  const writesByObject = new Map<string, number>();
  let lastWriteAt = 0;
  const operatorClient = new RestClient(meta.kubeConfig);
  operatorClient.onResponse(({ method, path }) => {
    if (method === 'GET') return;
    lastWriteAt = performance.now();
    const object = `${method} ${withoutGuestName(path.replace(/^\/apis?\/(?:[^/]+\/)?v[^/]+\/(?:namespaces\/[^/]+\/)?/, ''))}`;
    const resource = object.replace(/^(\S+ [^/]+)\/[^/]+/, '$1');
    writesByResource.set(resource, (writesByResource.get(resource) ?? 0) + 1);
    writesByObject.set(object, (writesByObject.get(object) ?? 0) + 1);
    const guest = guestOf(path);
    if (guest) writesInFlight.set(guest, [...(writesInFlight.get(guest) ?? []), object]);
  });
  // The controller logs every finished reconcile at debug level with its key.
  const logger = new Logger({
    level: 'debug',
    write: (line) => {
      if (!line.includes('"Reconcile done"') && !line.includes('"Reconciler error"')) return;
      const entry = JSON.parse(line) as { msg: string; key?: string; durationMs?: number; error?: { message?: string } };
      const guest = entry.key ? guestOf(entry.key) : undefined;
      if (!entry.key || !guest) return;
      const now = performance.now();
      const written = writesInFlight.get(guest) ?? [];
      writesInFlight.delete(guest);
      const record = passes.get(entry.key) ?? { passes: 0, errors: 0, lastOutcome: 'done', lastPassSettled: false, recent: [], lastChangeAt: now };
      record.passes++;
      if (entry.msg === 'Reconcile done') {
        record.lastOutcome = 'done';
        if (entry.durationMs !== undefined) durationsMs.push(entry.durationMs);
        const repeated = record.recent.length >= REPEATS && record.recent.slice(-REPEATS).every((previous) => written.every((object) => previous.includes(object)));
        record.lastPassSettled = written.length === 0 || repeated;
      } else {
        record.lastOutcome = 'error';
        record.lastPassSettled = false;
        record.errors++;
        reconcileErrors++;
        // Names and addresses differ per guest; the kind of failure does not.
        const message = withoutGuestName(entry.error?.message ?? 'unknown').replace(/\d+\.\d+\.\d+\.\d+(:\d+)?/g, 'IP').replace(/"resourceVersion":"?\d+"?/g, '').slice(0, 160);
        errorsByMessage.set(message, (errorsByMessage.get(message) ?? 0) + 1);
      }
      if (!record.lastPassSettled) record.lastChangeAt = now;
      record.recent = [...record.recent, written].slice(-REPEATS);
      passes.set(entry.key, record);
    },
  });
  const operator = new ClusterOperator({ client: operatorClient, logger, workers: WORKERS });
  await operator.start();
  const totalWrites = () => [...operator.reconciler.writes.values()].reduce((a, b) => a + b, 0);
  const mutating = () => ['POST', 'PUT', 'PATCH', 'DELETE'].reduce((sum, verb) => sum + (operatorClient.requestCounts.get(verb) ?? 0), 0);

  await sleep(1000);
  collectGarbage();
  const memoryBefore = process.memoryUsage();

  const manifest = parse(await readFile(new URL('../examples/cluster-minimal.yaml', import.meta.url), 'utf8')) as Cluster;
  const keys = clusterKeys(guests);
  const creator = new RestClient(meta.kubeConfig);
  const started = performance.now();
  const cpuAtCreate = process.cpuUsage();
  await inParallel(keys, 8, async (key) => {
    const name = key.split('/')[1];
    await creator.create(resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace: NAMESPACE }), { ...manifest, metadata: { name, namespace: NAMESPACE } }).catch((error: unknown) => {
      if (!isAlreadyExists(error)) throw error;
    });
  });
  const createdMs = performance.now() - started;

  // Converged: every guest owns all its objects, its last pass wrote nothing new, and no guest
  // has written anything new for QUIET_MS.
  let allObjectsAt: number | undefined;
  let settledAt: number | undefined;
  const deadline = started + deadlineMs;
  while (performance.now() < deadline) {
    await sleep(250);
    const now = performance.now();
    const everyObject = keys.every((key) => complete(ownedCounts(operator, key)));
    if (everyObject) allObjectsAt ??= now;
    const records = keys.map((key) => passes.get(key));
    const settled = everyObject && records.every((record) => record?.lastOutcome === 'done' && record.lastPassSettled);
    const lastChange = Math.max(...records.map((record) => record?.lastChangeAt ?? now));
    if (settled && now - lastChange >= QUIET_MS) {
      settledAt = lastChange;
      break;
    }
  }
  const cpuToConvergence = process.cpuUsage(cpuAtCreate);
  const converged = settledAt !== undefined;
  console.error(`  (${guests} Clusters created in ${seconds(createdMs)}; ${converged ? 'converged' : 'NOT converged before the deadline'})`);

  // Steady state: what a fleet of converged-but-never-Ready guests costs the operator.
  const steadyMs = 10_000;
  const reconcilesAtStart = durationsMs.length + reconcileErrors;
  const writesAtStart = totalWrites();
  const objectWritesAtStart = new Map(writesByObject);
  const cpuAtStart = process.cpuUsage();
  await sleep(steadyMs);
  const cpu = process.cpuUsage(cpuAtStart);
  const byObject = new Map([...writesByObject].map(([object, n]): [string, number] => [object, n - (objectWritesAtStart.get(object) ?? 0)]).filter(([, n]) => n > 0));
  const steady = { reconcilesPerSecond: (durationsMs.length + reconcileErrors - reconcilesAtStart) / (steadyMs / 1000), cpuShare: (cpu.user + cpu.system) / 1000 / steadyMs, writes: totalWrites() - writesAtStart, byObject };

  collectGarbage();
  const memoryAfter = process.memoryUsage();

  const objectsPerGuest: Record<string, number> = {};
  for (const key of keys) for (const [kind, count] of Object.entries(ownedCounts(operator, key))) objectsPerGuest[kind] = (objectsPerGuest[kind] ?? 0) + count / guests;
  const allPods = operator.caches.pods.list().filter((p) => p.metadata?.namespace === NAMESPACE);
  objectsPerGuest['pods (all components)'] = allPods.length / guests;
  const missing = keys.filter((key) => !complete(ownedCounts(operator, key))).map((key) => `${key} ${JSON.stringify(ownedCounts(operator, key))}`);

  // The stored size of what the operator owns, for a baseline that writes as many bytes.
  const ownedObjects: Named[] = [operator.caches.secrets, operator.caches.services, operator.caches.pods, operator.caches.claims, operator.caches.deployments].flatMap((informer) => informer.list() as Named[]).filter((o) => o.metadata?.namespace === NAMESPACE);
  const sizes = ownedObjects.map((o) => JSON.stringify({ ...o, metadata: { ...o.metadata, managedFields: undefined } }).length);
  const meanObjectBytes = Math.round(sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length));

  const result: ConvergenceResult = {
    guests,
    converged,
    deadlineMs,
    allObjectsAtMs: allObjectsAt === undefined ? undefined : allObjectsAt - started,
    settledAtMs: settledAt === undefined ? undefined : settledAt - started,
    convergenceCpuMs: (cpuToConvergence.user + cpuToConvergence.system) / 1000,
    lastWriteAtMs: lastWriteAt - started,
    writes: totalWrites(),
    mutatingRequests: mutating(),
    reconciles: durationsMs.length + reconcileErrors,
    reconcileErrors,
    errorsByMessage,
    writesByResource,
    durationsMs,
    memoryBefore,
    memoryAfter,
    steady,
    objectsPerGuest,
    meanObjectBytes,
    missing,
  };
  await operator.stop();
  return result;
}

/** The floor: the bench writes `count` ConfigMaps of `bytes` each with `WORKERS` sequential writers. */
async function rawWrites(admin: RestClient, count: number, bytes: number): Promise<number> {
  await admin.create('/api/v1/namespaces', { metadata: { name: 'floor' } });
  const payload = 'x'.repeat(Math.max(0, bytes - 200));
  const started = performance.now();
  await inParallel(Array.from({ length: count }, (_, i) => i), WORKERS, (i) =>
    admin.create('/api/v1/namespaces/floor/configmaps', { metadata: { name: `floor-${i}`, labels: { bench: 'floor' } }, data: { payload } }),
  );
  return performance.now() - started;
}

const seconds = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)}s`);
const mebibytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const kibibytes = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Convergence time, or the deadline when the run never converged (printed with a ">"). */
const convergenceMs = (result: ConvergenceResult) => result.settledAtMs ?? result.deadlineMs;
const convergenceText = (result: ConvergenceResult) => (result.settledAtMs === undefined ? `>${seconds(result.deadlineMs)} (did not converge)` : seconds(result.settledAtMs));

function report(title: string, result: ConvergenceResult, options: { memory: boolean }): void {
  const { guests } = result;
  const perGuest = (n: number) => (n / guests).toFixed(1);
  console.log(title);
  console.log(`  every owned object exists after:        ${seconds(result.allObjectsAtMs)}   (${Object.entries(result.objectsPerGuest).map(([kind, n]) => `${kind} ${n.toFixed(2)}`).join(', ')} per guest)`);
  console.log(`  converged after:                        ${convergenceText(result)}   (last write that was not a repeat; held ${QUIET_MS / 1000}s); bench process CPU until then ${seconds(result.convergenceCpuMs)}`);
  for (const line of result.missing.slice(0, 3)) console.log(`    incomplete: ${line}`);
  console.log(`  API writes per guest:                   ${perGuest(result.writes)} by the reconciler, ${perGuest(result.mutatingRequests)} requests incl. Events, until ${seconds(result.lastWriteAtMs)}`);
  console.log(`  writes by resource, per guest:          ${[...result.writesByResource].sort((a, b) => b[1] - a[1]).map(([what, n]) => `${what} ${perGuest(n)}`).join(', ')}`);
  console.log(`  reconciles:                             ${result.reconciles} (${perGuest(result.reconciles)} per guest), ${result.reconcileErrors} errors; duration median ${percentile(result.durationsMs, 50).toFixed(0)}ms p95 ${percentile(result.durationsMs, 95).toFixed(0)}ms max ${Math.max(...result.durationsMs).toFixed(0)}ms; ${seconds(result.durationsMs.reduce((a, b) => a + b, 0))} of worker time over ${WORKERS} workers`);
  for (const [message, count] of [...result.errorsByMessage].sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log(`    error x${count}: ${message}`);
  const { memoryBefore: before, memoryAfter: after } = result;
  if (options.memory) console.log(`  operator process RSS:                   ${mebibytes(before.rss)} before the first Cluster, ${mebibytes(after.rss)} at the end: ${kibibytes((after.rss - before.rss) / guests)} per guest`);
  if (options.memory) console.log(`  heap used (after a full GC):            ${mebibytes(before.heapUsed)} before, ${mebibytes(after.heapUsed)} at the end: ${kibibytes((after.heapUsed - before.heapUsed) / guests)} per guest; external+array buffers ${kibibytes((after.external + after.arrayBuffers - before.external - before.arrayBuffers) / guests)} per guest`);
  console.log(`  afterwards, 10s of guests never Ready:  ${result.steady.reconcilesPerSecond.toFixed(1)} reconciles/s, ${(result.steady.cpuShare * 100).toFixed(0)}% of a core (bench process), ${((result.steady.writes / guests) * 6).toFixed(1)} writes per guest per minute`);
  const steadyWrites = [...result.steady.byObject].sort((a, b) => b[1] - a[1]);
  if (steadyWrites.length) console.log(`    written in those 10s, per guest:      ${steadyWrites.slice(0, 4).map(([what, n]) => `${what} ${perGuest(n)}`).join(', ')}`);
}

/** How long the operator's two network calls take against an endpoint that accepts and never answers. */
async function silentEndpointTimings(): Promise<{ readyzMs: number; etcdMs: number }> {
  const address = '127.0.0.1';
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  const none = { caCertPem: '', clientCertPem: '', clientKeyPem: '' };
  let started = performance.now();
  await probeReadyz(`https://${address}:${port}`, none);
  const readyzMs = performance.now() - started;
  started = performance.now();
  await new EtcdClusterClient(`https://${address}:${port}`, { caPem: '', certPem: '', keyPem: '' }).listMembers().catch(() => undefined);
  const etcdMs = performance.now() - started;
  for (const socket of accepted) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  return { readyzMs, etcdMs };
}

// The upstream processes are detached: an interrupted run must still stop them.
let running: KwokMetaCluster | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void (running?.stop() ?? Promise.resolve()).finally(() => process.exit(130)));
}

// 1. Refused probes (the local meta cluster's loopback Service IPs), 200 guests, and the floor.
let meta = await startKwokMetaCluster(8);
running = meta;
try {
  const result = await convergeGuests(meta, GUESTS, CONVERGENCE_DEADLINE_MS);
  const floorCount = GUESTS * ownedPerGuest;
  const floorMs = await rawWrites(meta.admin, floorCount, result.meanObjectBytes);
  report(`Cluster operator at scale: ${GUESTS} Minimal guests on 3 kwok nodes, ${WORKERS} workers; guest Services refuse connections (loopback Service IPs)`, result, { memory: true });
  console.log(`  floor: bench creates ${floorCount} ConfigMaps of ${kibibytes(result.meanObjectBytes)} (${ownedPerGuest} per guest, ${WORKERS} writers): ${seconds(floorMs)}   (baseline; ${(floorCount / (floorMs / 1000)).toFixed(0)} writes/s)`);
  console.log(`  operator convergence / floor:           ratio ${result.settledAtMs === undefined ? '>' : ''}${(convergenceMs(result) / floorMs).toFixed(1)}x`);
} finally {
  await meta.stop();
}

// 2. Probes that time out (fake pod IPs on a real meta cluster), fewer guests to stay in budget.
meta = await startKwokMetaCluster(9);
running = meta;
try {
  const blackhole = await blackholeGuestServices(meta.admin);
  try {
    const result = await convergeGuests(meta, TIMEOUT_GUESTS, TIMEOUT_DEADLINE_MS);
    const timings = await silentEndpointTimings();
    report(`Cluster operator, ${TIMEOUT_GUESTS} Minimal guests whose Services accept and never answer (fake pod IPs behind a real meta cluster's Services)`, result, { memory: false });
    console.log(`  a silent endpoint costs:                probeReadyz (timeout 3000ms) ${seconds(timings.readyzMs)}, etcd listMembers (timeout 5000ms) ${seconds(timings.etcdMs)}`);
    const meanPassMs = result.durationsMs.reduce((a, b) => a + b, 0) / Math.max(1, result.durationsMs.length);
    const passesPerSecond = WORKERS / (meanPassMs / 1000);
    console.log(`  pass throughput:                        ${passesPerSecond.toFixed(2)} passes/s (${WORKERS} workers / mean pass ${seconds(meanPassMs)}): one pass over ${GUESTS} guests takes ${seconds((GUESTS / passesPerSecond) * 1000)}, where the operator asks for one every 2s per unready guest`);
  } finally {
    await blackhole.stop();
  }
} finally {
  await meta.stop();
}
