// Benchmark (issue 12, P2): the Cluster operator, run as its own process exactly as on a real
// meta cluster (src/operators/main.ts), converging many Minimal guests on a meta cluster whose
// nodes are simulated by kwok, beside the API server's own floor measured in the same run.
//  1. 200 guests whose Service IPs are loopback addresses where nothing listens, as on the local
//     meta cluster: the guests' /readyz and etcd calls are refused at once. Time until every guest
//     owns all its objects and its passes write nothing; the operator process's own memory (RSS,
//     from /proc, and after a full garbage collection asked through its inspector also its V8
//     heap in use) before the first Cluster and at the end; writes after convergence; what the
//     fleet, which never becomes Ready, costs the operator process afterwards (CPU from /proc).
//     Baseline: the bench creating as many objects (ConfigMaps of the same mean size) itself.
//  2. The same 200 guests where 24 have Services that accept connections and never answer (fake
//     pod IPs behind a real meta cluster's Services): the time the other 176 take to converge,
//     against the time of run 1.
// No guest process runs anywhere: kwok marks the pods Running and Ready, so "converged" here means
// the objects and the operator's writes, never a guest answering /readyz.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
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
import { Informer, type KubeObject } from '../src/controller/informer.ts';
import type { Cluster } from '../src/api/v1alpha1/cluster.ts';
import { DEFAULT_WORKERS } from '../src/operators/cluster/operator.ts';
import { requestTimes } from './api-server-metrics.ts';
import { percentile } from './statistics.ts';
import { MAX_UNSETTLED_REQUEUE_MS } from '../src/operators/cluster/reconciler.ts';
import { CLUSTER_LABEL } from '../src/operators/cluster/names.ts';

// TESSERA_BENCH_GUESTS runs fewer (quick look at a write loop); the figures of the issue are for 200.
const GUESTS = Number(process.env['TESSERA_BENCH_GUESTS'] ?? 200);
const TIMEOUT_GUESTS = Math.round(GUESTS * 0.12);
const NAMESPACE = 'guests';
/** Quiet time after the last write before convergence is declared (besides a write-free pass per guest). */
const QUIET_MS = 10_000;
const CONVERGENCE_DEADLINE_MS = 300_000;
const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';
const BENCH_STORAGE_CLASS = 'bench-local-disk';


type ProcessName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';
type KwokMetaCluster = { admin: RestClient; kubeConfig: KubeConfig; directory: string; pids: () => Map<string, number>; stop: () => Promise<void> };
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
        // Sidecars (the control plane's API server) run and are ready, as a kubelet reports them.
        '{{ with .spec.initContainers }}',
        'initContainerStatuses:',
        '{{ range . }}',
        '- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, started: true, restartCount: 0, state: {running: {startedAt: {{ $now | Quote }}}}}',
        '{{ end }}',
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
  const pids = () => new Map(started.filter((process) => process.pid !== undefined).map((process) => [process.spec.name, process.pid as number]));
  return { admin, kubeConfig, directory, pids, stop };
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
  // Each Minimal guest's etcd member claims 1Gi of the default StorageClass. As on a cell whose
  // nodes have local disks, volumes are made beforehand and bound when the pod is scheduled
  // (WaitForFirstConsumer): bound at once, a claim is Pending while the scheduler already sees
  // its pod, which then fails scheduling until the volume controller has caught up (nothing ever
  // mounts these volumes).
  await admin.create('/apis/storage.k8s.io/v1/storageclasses', {
    metadata: { name: BENCH_STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'WaitForFirstConsumer',
  });
  await inParallel(Array.from({ length: GUESTS }, (_, i) => i), 8, (i) =>
    admin.create('/api/v1/persistentvolumes', {
      metadata: { name: `etcd-data-${String(i).padStart(3, '0')}` },
      spec: { storageClassName: BENCH_STORAGE_CLASS, capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', hostPath: { path: `/nonexistent/etcd-${i}` } },
    }),
  );
  // Every CRD the operators process watches (Clusters, and the fleet's and Machines' kinds it also starts).
  const directory = fileURLToPath(new URL('../deploy/crds/', import.meta.url));
  for (const file of (await readdir(directory)).filter((name) => name.endsWith('.yaml'))) {
    const crd = parse(await readFile(join(directory, file), 'utf8')) as { metadata: { name: string } };
    const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
    await admin.apply(crdPath, crd, 'tessera-bench', true);
    await until(`the CRD ${crd.metadata.name} Established`, async () => {
      const live = await admin.get<{ status?: { conditions?: Condition[] } }>(crdPath);
      return live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    }, 30_000, 100);
  }
}

/**
 * Every Service ClusterIP:port of the guests gets a listener that accepts and never answers, so
 * the operator's /readyz probes and etcd calls run into their timeouts, as they do against fake
 * pod IPs on a real meta cluster. The Service IPs are loopback addresses, so the bench can own them.
 */
async function blackholeGuestServices(admin: RestClient, silent: (clusterName: string) => boolean): Promise<{ stop: () => Promise<void> }> {
  const servers = new Map<string, Server>();
  const sockets = new Set<Socket>();
  const informer = new Informer<V1Service>(admin, `/api/v1/namespaces/${NAMESPACE}/services`, { labelSelector: CLUSTER_LABEL });
  informer.on(({ type, object }) => {
    const ip = object.spec?.clusterIP;
    if (type === 'delete' || !ip || ip === 'None' || !silent(object.metadata?.labels?.[CLUSTER_LABEL] ?? '')) return;
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

const clusterNames = (count: number) => Array.from({ length: count }, (_, i) => `g-${String(i).padStart(3, '0')}`);

// 14 PKI and kubeconfig Secrets (3 CAs, the service-account keys, 5 leaf certificates, the etcd
// member's, kubeconfigs for admin, controller-manager, scheduler and the extra user), 4 Services,
// the etcd Pod and its claim, the control-plane Deployment.
const expectedPerGuest: Record<string, number> = { secrets: 14, services: 4, etcdPods: 1, claims: 1, deployments: 1 };
const ownedPerGuest = Object.values(expectedPerGuest).reduce((a, b) => a + b, 0);

/**
 * What each guest owns, counted from watches of the meta API (the operator's caches are in its own
 * process). Watches, not repeated lists: listing thousands of Secrets twice a second would load
 * the API server the operator is measured against. Only names and labels are kept.
 */
class OwnedObjects {
  private readonly informers: Informer<Named & KubeObject>[];

  constructor(admin: RestClient) {
    const keepMetadata = (object: Named & KubeObject) => ({ metadata: { name: object.metadata?.name, namespace: object.metadata?.namespace, labels: object.metadata?.labels } }) as Named & KubeObject;
    const watch = (resource: string, group?: string) => new Informer<Named & KubeObject>(admin, resourcePath({ group, version: 'v1', resource, namespace: NAMESPACE }), { labelSelector: CLUSTER_LABEL, metadataOnly: true, transform: keepMetadata });
    this.informers = [watch('secrets'), watch('services'), watch('pods'), watch('persistentvolumeclaims'), watch('deployments', 'apps')];
  }

  start(): Promise<unknown> {
    return Promise.all(this.informers.map((informer) => informer.start()));
  }

  stop(): Promise<unknown> {
    return Promise.all(this.informers.map((informer) => informer.stop()));
  }

  counts(): Map<string, Record<string, number>> {
    const counts = new Map<string, Record<string, number>>();
    const [secrets, services, pods, claims, deployments] = this.informers as [Informer<Named & KubeObject>, Informer<Named & KubeObject>, Informer<Named & KubeObject>, Informer<Named & KubeObject>, Informer<Named & KubeObject>];
    const count = (informer: Informer<Named & KubeObject>, kind: string, keep: (object: Named) => boolean = () => true) => {
      for (const object of informer.list().filter(keep)) {
        const guest = object.metadata?.labels?.[CLUSTER_LABEL] ?? '';
        const record = counts.get(guest) ?? {};
        record[kind] = (record[kind] ?? 0) + 1;
        counts.set(guest, record);
      }
    };
    count(secrets, 'secrets');
    count(services, 'services');
    count(pods, 'etcdPods', (pod) => pod.metadata?.labels?.['tessera.dev/component'] === 'etcd');
    count(claims, 'claims');
    count(deployments, 'deployments');
    return counts;
  }
}
const complete = (counts: Record<string, number> | undefined) => Object.entries(expectedPerGuest).every(([kind, count]) => (counts?.[kind] ?? 0) >= count);

/** The operator process's resident memory and CPU time, from /proc. */
async function processUsage(pid: number): Promise<{ rssBytes: number; cpuMs: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { rssBytes: rssKiB * 1024, cpuMs: ticks * 10 };
}

type PassLine = { msg: string; cluster?: string; key?: string; writes?: number; failed?: number; error?: { message?: string }; kind?: string; name?: string; live?: boolean; differs?: string };

/** The operator as its own process, with its debug log parsed for passes. */
/**
 * The operator process's memory once a full garbage collection has run: its V8 heap in use and
 * its RSS, through the inspector it opened on loopback (HeapProfiler.collectGarbage, then
 * Runtime.getHeapUsage). Memory that is garbage waiting for a collection is not what a guest costs.
 */
async function memoryAfterGc(inspectorUrl: string, pid: number): Promise<{ heapBytes: number; rssBytes: number }> {
  const socket = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error(`the operator's inspector at ${inspectorUrl} did not answer`)), { once: true });
  });
  let next = 0;
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => reject(new Error(`inspector ${method}: no answer within 60s`)), 60_000);
      const onMessage = (event: MessageEvent) => {
        const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: { message?: string } };
        if (message.id !== id) return;
        clearTimeout(timer);
        socket.removeEventListener('message', onMessage);
        if (message.error) reject(new Error(`inspector ${method}: ${message.error.message}`));
        else resolve(message.result ?? {});
      };
      socket.addEventListener('message', onMessage);
      socket.send(JSON.stringify({ id, method }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    const usage = await call('Runtime.getHeapUsage');
    return { heapBytes: Number(usage['usedSize']), rssBytes: (await processUsage(pid)).rssBytes };
  } finally {
    socket.close();
  }
}

function startOperator(meta: KwokMetaCluster, onPass: (line: PassLine) => void, onInspector: (url: string) => void): ChildProcess {
  const kubeconfigPath = join(meta.directory, 'operator.kubeconfig');
  // TESSERA_BENCH_OPERATOR_PROFILE=<directory>: a V8 CPU profile of the operator process, written when it stops.
  const profile = process.env['TESSERA_BENCH_OPERATOR_PROFILE'];
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), operatorMain, `--kubeconfig=${kubeconfigPath}`, '--no-leader-elect', '--metrics-bind-address=127.0.0.1:0', `--workers=${DEFAULT_WORKERS}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: [operatorNodeOptions, process.env['NODE_OPTIONS'] ?? ''].join(' ').trim(), TESSERA_LOG_LEVEL: 'debug' },
  });
  let buffered = '';
  const recent: string[] = [];
  child.once('exit', (code, signal) => {
    // The operator stops cleanly on SIGTERM (exit code 0); only an exit nobody asked for is news.
    if (!child.killed) console.error(`  the operator process exited (${code ?? signal}); its last lines:\n    ${recent.join('\n    ')}`);
  });
  // TESSERA_BENCH_OPERATOR_LOG=<file>: the operator's whole debug log, for chasing what a figure hides.
  const logPath = process.env['TESSERA_BENCH_OPERATOR_LOG'];
  const log = logPath ? createWriteStream(logPath, { flags: 'a' }) : undefined;
  child.stderr?.on('data', (chunk: Buffer) => {
    log?.write(chunk);
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
      if (inspector) onInspector(inspector);
      recent.push(line.slice(0, 300));
      if (recent.length > 15) recent.shift();
      if (!line.includes('"Cluster pass"') && !line.includes('"Reconciler error"') && !line.includes('"applied owned object"') && !line.includes('"applied Cluster status"')) continue;
      try {
        onPass(JSON.parse(line) as PassLine);
      } catch {
        // not a log line of ours
      }
    }
  });
  return child;
}

type ConvergenceResult = {
  guests: number;
  measured: number;
  deadlineMs: number;
  allObjectsAtMs: number | undefined;
  /** End of the last pass of a measured guest that wrote something. */
  settledAtMs: number | undefined;
  passes: number;
  passErrors: number;
  errorsByMessage: Map<string, number>;
  writes: number;
  writesByField: Map<string, number>;
  rssBefore: number;
  rssAfter: number;
  /** After a full garbage collection: V8 heap in use and RSS, before the first Cluster and at the end. */
  afterGc: { before: { heapBytes: number; rssBytes: number }; after: { heapBytes: number; rssBytes: number } };
  steady: { seconds: number; passesPerSecond: number; cpuShare: number; writes: number };
  missing: string[];
  /** What the meta API server served from the first Cluster to convergence, by verb and resource. */
  requests: [string, { count: number; seconds: number }][];
  /** CPU seconds each process used from the first Cluster to convergence (the box has 2 cores). */
  cpu: { windowSeconds: number; byProcess: [string, number][] };
  /** Events in the guests' namespace at convergence, by who reported them and why. */
  events: [string, number][];
  /** How the meta cluster bound the guests' etcd claims, from the first Cluster on. */
  volumeBinding: VolumeBinding;
};

/**
 * Seconds from each etcd claim's creation to its volume turning Bound, and when the last one did
 * (after the first Cluster). The meta controller-manager's PV binder completes every binding in a
 * single worker (it has no setting for more), each with API writes of its own, so on a loaded meta
 * cluster it can pace the fleet: a guest's control plane starts once its etcd member runs. Second
 * resolution: both times come from object timestamps.
 */
type VolumeBinding = { bound: number; lagSeconds: { p50: number; p90: number; max: number } | undefined; lastBoundAtSeconds: number | undefined };

async function volumeBinding(admin: RestClient, startedAtWallMs: number): Promise<VolumeBinding> {
  type Claim = { metadata?: { name?: string; creationTimestamp?: string } };
  type Volume = { spec?: { claimRef?: { namespace?: string; name?: string } }; status?: { phase?: string; lastPhaseTransitionTime?: string } };
  const claims = await admin.get<{ items: Claim[] }>(`/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims`);
  const volumes = await admin.get<{ items: Volume[] }>('/api/v1/persistentvolumes');
  const created = new Map(claims.items.map((claim) => [claim.metadata?.name ?? '', Date.parse(claim.metadata?.creationTimestamp ?? '')]));
  const lags: number[] = [];
  let lastBoundAt: number | undefined;
  for (const volume of volumes.items) {
    const claim = volume.spec?.claimRef;
    const createdAt = claim?.namespace === NAMESPACE ? created.get(claim.name ?? '') : undefined;
    const boundAt = Date.parse(volume.status?.lastPhaseTransitionTime ?? '');
    if (volume.status?.phase !== 'Bound' || createdAt === undefined || Number.isNaN(boundAt)) continue;
    lags.push((boundAt - createdAt) / 1000);
    lastBoundAt = Math.max(lastBoundAt ?? boundAt, boundAt);
  }
  return {
    bound: lags.length,
    lagSeconds: lags.length ? { p50: percentile(lags, 50), p90: percentile(lags, 90), max: percentile(lags, 100) } : undefined,
    lastBoundAtSeconds: lastBoundAt === undefined ? undefined : (lastBoundAt - startedAtWallMs) / 1000,
  };
}

async function eventsByReason(admin: RestClient): Promise<[string, number][]> {
  type Event = { reason?: string; count?: number; reportingComponent?: string; source?: { component?: string } };
  const list = await admin.get<{ items: Event[] }>(`/api/v1/namespaces/${NAMESPACE}/events`);
  const counts = new Map<string, number>();
  for (const event of list.items) {
    const key = `${event.reportingComponent || event.source?.component || '?'} ${event.reason ?? '?'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/** CPU time so far of every meta cluster process, the operator and this bench, in ms. */
async function cpuByProcess(meta: KwokMetaCluster, operatorPid: number): Promise<Map<string, number>> {
  const usage = new Map<string, number>();
  for (const [name, pid] of [...meta.pids(), ['operator', operatorPid] as const]) usage.set(name, (await processUsage(pid).catch(() => ({ cpuMs: 0 }))).cpuMs);
  const own = process.cpuUsage();
  usage.set('bench', (own.user + own.system) / 1000);
  return usage;
}

async function convergeGuests(meta: KwokMetaCluster, options: { guests: number; silent: number; deadlineMs: number }): Promise<ConvergenceResult> {
  await writeFile(join(meta.directory, 'operator.kubeconfig'), meta.kubeConfig.exportConfig());
  const names = clusterNames(options.guests);
  const measured = new Set(names.slice(options.silent));
  const lastPass = new Map<string, { writes: number; failed: boolean; at: number }>();
  const errorsByMessage = new Map<string, number>();
  let passes = 0;
  let passErrors = 0;
  let writes = 0;
  let lastMeasuredWriteAt = 0;
  const writesByField = new Map<string, number>();
  let inspector: string | undefined;
  const operator = startOperator(meta, (line) => {
    const name = (line.cluster ?? line.key ?? '').split('/')[1] ?? '';
    const now = performance.now();
    if (line.msg === 'applied Cluster status') {
      const what = `Cluster status: differs at ${(line.differs ?? '?').replace(/\[\d+\]/g, '[i]')}`;
      writesByField.set(what, (writesByField.get(what) ?? 0) + 1);
      return;
    }
    if (line.msg === 'applied owned object') {
      // Which kind of object, and which of its fields, made a pass write: names a write loop.
      const what = `${line.kind} ${(line.name ?? '').replace(/^g-\d{3}-?/, '<guest>-')}: ${line.live ? `differs at ${line.differs}` : 'created'}`;
      writesByField.set(what, (writesByField.get(what) ?? 0) + 1);
      return;
    }
    if (line.msg === 'Reconciler error') {
      passErrors++;
      const message = (line.error?.message ?? 'unknown').replace(/\bg-\d{3}\b/g, 'g-NNN').replace(/\d+\.\d+\.\d+\.\d+(:\d+)?/g, 'IP').slice(0, 160);
      errorsByMessage.set(message, (errorsByMessage.get(message) ?? 0) + 1);
      lastPass.set(name, { writes: lastPass.get(name)?.writes ?? 0, failed: true, at: now });
      return;
    }
    passes++;
    writes += line.writes ?? 0;
    lastPass.set(name, { writes: line.writes ?? 0, failed: (line.failed ?? 0) > 0, at: now });
    if ((line.writes ?? 0) > 0 && measured.has(name)) lastMeasuredWriteAt = now;
  }, (url) => (inspector = url));
  const blackhole = options.silent > 0 ? await blackholeGuestServices(meta.admin, (name) => !measured.has(name)) : undefined;
  const owned = new OwnedObjects(meta.admin);
  await owned.start();
  try {
    await sleep(3000);
    const rssBefore = (await processUsage(operator.pid ?? 0)).rssBytes;
    const inspectorUrl = await until('the operator inspector', async () => inspector, 30_000);
    const gcBefore = await memoryAfterGc(inspectorUrl, operator.pid ?? 0);
    const manifest = parse(await readFile(new URL('../examples/cluster-minimal.yaml', import.meta.url), 'utf8')) as Cluster;
    const requestsBefore = await requestTimes(meta.admin);
    const cpuBefore = await cpuByProcess(meta, operator.pid ?? 0);
    const started = performance.now();
    await inParallel(names, 8, async (name) => {
      await meta.admin.create(resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace: NAMESPACE }), { ...manifest, metadata: { name, namespace: NAMESPACE } }).catch((error: unknown) => {
        if (!isAlreadyExists(error)) throw error;
      });
    });
    // Converged: every measured guest owns all its objects, its last pass wrote nothing and did
    // not fail, and no measured guest has written anything for QUIET_MS.
    let allObjectsAt: number | undefined;
    let settledAt: number | undefined;
    let counts = new Map<string, Record<string, number>>();
    while (performance.now() < started + options.deadlineMs) {
      await sleep(500);
      counts = owned.counts();
      const now = performance.now();
      const everyObject = [...measured].every((name) => complete(counts.get(name)));
      if (everyObject) allObjectsAt ??= now;
      const quiet = [...measured].every((name) => {
        const pass = lastPass.get(name);
        return pass !== undefined && pass.writes === 0 && !pass.failed;
      });
      if (everyObject && quiet && now - lastMeasuredWriteAt >= QUIET_MS) {
        settledAt = lastMeasuredWriteAt;
        break;
      }
    }
    const requests = requestsBetween(requestsBefore, await requestTimes(meta.admin));
    const cpuAfter = await cpuByProcess(meta, operator.pid ?? 0);
    const events = await eventsByReason(meta.admin);
    // Object timestamps are wall-clock times.
    const binding = await volumeBinding(meta.admin, performance.timeOrigin + started);
    const cpuSeconds = [...cpuAfter].map(([name, ms]): [string, number] => [name, (ms - (cpuBefore.get(name) ?? 0)) / 1000]).sort((a, b) => b[1] - a[1]);
    const windowSeconds = (performance.now() - started) / 1000;
    // Afterwards: what guests that never become Ready cost the operator process, once each guest's
    // requeue has backed off to its cap (a minute; it doubles from 1 s while nothing changes).
    await sleep(MAX_UNSETTLED_REQUEUE_MS);
    // As long as the cap, so every guest's requeue falls inside it whatever their phases.
    const steadyMs = MAX_UNSETTLED_REQUEUE_MS;
    const usageBefore = await processUsage(operator.pid ?? 0);
    const passesBefore = passes + passErrors;
    const writesBefore = writes;
    await sleep(steadyMs);
    const usageAfter = await processUsage(operator.pid ?? 0);
    const gcAfter = await memoryAfterGc(inspectorUrl, operator.pid ?? 0);
    return {
      guests: options.guests,
      measured: measured.size,
      deadlineMs: options.deadlineMs,
      allObjectsAtMs: allObjectsAt === undefined ? undefined : allObjectsAt - started,
      settledAtMs: settledAt === undefined ? undefined : Math.max(0, settledAt - started),
      passes,
      passErrors,
      errorsByMessage,
      writes,
      writesByField,
      rssBefore,
      rssAfter: usageAfter.rssBytes,
      afterGc: { before: gcBefore, after: gcAfter },
      steady: { seconds: steadyMs / 1000, passesPerSecond: (passes + passErrors - passesBefore) / (steadyMs / 1000), cpuShare: (usageAfter.cpuMs - usageBefore.cpuMs) / steadyMs, writes: writes - writesBefore },
      missing: [...measured].filter((name) => !complete(counts.get(name))).map((name) => `${name} ${JSON.stringify(counts.get(name) ?? {})}`),
      requests,
      cpu: { windowSeconds, byProcess: cpuSeconds },
      events,
      volumeBinding: binding,
    };
  } finally {
    await blackhole?.stop();
    await owned.stop();
    operator.kill('SIGTERM');
    await new Promise((resolve) => (operator.exitCode !== null ? resolve(undefined) : operator.once('exit', resolve)));
  }
}

function requestsBetween(before: Map<string, { count: number; seconds: number }>, after: Map<string, { count: number; seconds: number }>): [string, { count: number; seconds: number }][] {
  return [...after]
    .map(([key, value]): [string, { count: number; seconds: number }] => [key, { count: value.count - (before.get(key)?.count ?? 0), seconds: value.seconds - (before.get(key)?.seconds ?? 0) }])
    .filter(([, value]) => value.count > 0)
    .sort((a, b) => b[1].seconds - a[1].seconds);
}

/** The floor: the bench writes `count` ConfigMaps of `bytes` each, with as many writers as the operator has workers. */
async function rawWrites(admin: RestClient, count: number, bytes: number): Promise<number> {
  await admin.create('/api/v1/namespaces', { metadata: { name: 'floor' } });
  const payload = 'x'.repeat(Math.max(0, bytes - 200));
  const started = performance.now();
  await inParallel(Array.from({ length: count }, (_, i) => i), DEFAULT_WORKERS, (i) =>
    admin.create('/api/v1/namespaces/floor/configmaps', { metadata: { name: `floor-${i}`, labels: { bench: 'floor' } }, data: { payload } }),
  );
  return performance.now() - started;
}

/** Mean stored size of what the guests own, for a floor that writes as many bytes. */
async function meanOwnedObjectBytes(admin: RestClient): Promise<number> {
  const sizes: number[] = [];
  for (const [group, resource] of [[undefined, 'secrets'], [undefined, 'services'], [undefined, 'pods'], [undefined, 'persistentvolumeclaims'], ['apps', 'deployments']] as const) {
    const list = await admin.get<{ items: Named[] }>(resourcePath({ group, version: 'v1', resource, namespace: NAMESPACE }), { labelSelector: CLUSTER_LABEL });
    for (const object of list.items) sizes.push(JSON.stringify({ ...object, metadata: { ...object.metadata, managedFields: undefined } }).length);
  }
  return Math.round(sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length));
}

const seconds = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)}s`);
const mebibytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const convergenceMs = (result: ConvergenceResult) => result.settledAtMs ?? result.deadlineMs;
const convergenceText = (result: ConvergenceResult) => (result.settledAtMs === undefined ? `>${seconds(result.deadlineMs)} (did not converge)` : seconds(result.settledAtMs));

function report(title: string, result: ConvergenceResult): void {
  console.log(title);
  console.log(`  every owned object exists after:        ${seconds(result.allObjectsAtMs)}`);
  console.log(`  converged after:                        ${convergenceText(result)}   (${result.measured} guests: last pass that wrote; then ${QUIET_MS / 1000}s without writes)  ${result.settledAtMs === undefined ? '' : `${(result.measured / (result.settledAtMs / 1000)).toFixed(2)} guests/s`}`);
  for (const line of result.missing.slice(0, 3)) console.log(`    incomplete: ${line}`);
  console.log(`  passes: ${result.passes} (${(result.passes / result.guests).toFixed(1)} per guest), ${result.passErrors} errors, ${result.writes} writes (${(result.writes / result.guests).toFixed(1)} per guest)`);
  for (const [message, count] of [...result.errorsByMessage].sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log(`    error x${count}: ${message}`);
  for (const [what, count] of [...result.writesByField].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`    writes x${count}: ${what}`);
  const served = result.requests.reduce((sum, [, value]) => sum + value.count, 0);
  console.log(`  meta API server, first Cluster to convergence: ${served} requests (watches aside); most time spent on:`);
  const volumeRequests = result.requests.filter(([key], index) => index >= 12 && / persistentvolume/.test(key));
  for (const [key, value] of [...result.requests.slice(0, 12), ...volumeRequests]) {
    console.log(`    ${key.padEnd(40)} ${String(value.count).padStart(6)} requests  ${value.seconds.toFixed(1)}s  (${((1000 * value.seconds) / value.count).toFixed(0)} ms each)`);
  }
  const { volumeBinding: binding } = result;
  console.log(
    `  etcd claims bound by the meta PV binder (one worker): ${binding.bound}; claim created to Bound ${binding.lagSeconds ? `p50 ${binding.lagSeconds.p50}s, p90 ${binding.lagSeconds.p90}s, max ${binding.lagSeconds.max}s` : 'n/a'}; ` +
      `the last Bound ${binding.lastBoundAtSeconds === undefined ? 'n/a' : `${binding.lastBoundAtSeconds.toFixed(0)}s`} after the first Cluster (second resolution)`,
  );
  console.log(`  Events (objects) in the guests' namespace: ${result.events.reduce((sum, [, count]) => sum + count, 0)}: ${result.events.slice(0, 10).map(([key, count]) => `${key} ${count}`).join(', ')}`);
  const { windowSeconds, byProcess } = result.cpu;
  console.log(`  CPU, first Cluster to convergence declared (${windowSeconds.toFixed(1)}s, ${(byProcess.reduce((sum, [, cpu]) => sum + cpu, 0) / windowSeconds).toFixed(2)} cores busy): ${byProcess.map(([name, cpu]) => `${name} ${(cpu / windowSeconds).toFixed(2)}`).join(', ')}`);
  const perGuest = (after: number, before: number) => `${((after - before) / result.guests / 2 ** 20).toFixed(2)} MiB per guest`;
  console.log(`  operator process RSS:                   ${mebibytes(result.rssBefore)} before the first Cluster, ${mebibytes(result.rssAfter)} at the end: ${perGuest(result.rssAfter, result.rssBefore)}  (NODE_OPTIONS as the image: ${operatorNodeOptions || 'none'})`);
  const { before, after } = result.afterGc;
  console.log(`  after a full GC (inspector):            RSS ${mebibytes(before.rssBytes)} -> ${mebibytes(after.rssBytes)}: ${perGuest(after.rssBytes, before.rssBytes)};  V8 heap in use ${mebibytes(before.heapBytes)} -> ${mebibytes(after.heapBytes)}: ${perGuest(after.heapBytes, before.heapBytes)}`);
  console.log(`  afterwards (from ${MAX_UNSETTLED_REQUEUE_MS / 1000}s after convergence), ${result.steady.seconds}s of guests never Ready:  ${result.steady.passesPerSecond.toFixed(2)} passes/s, ${(result.steady.cpuShare * 100).toFixed(1)}% of a core (operator process), ${result.steady.writes} writes`);
}

const operatorMain = fileURLToPath(new URL('../src/operators/main.ts', import.meta.url));
/** The Node.js options the operators' image runs with (its Dockerfile's NODE_OPTIONS), so the operator is measured as deployed. */
const operatorNodeOptions = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(await readFile(new URL('../Dockerfile', import.meta.url), 'utf8'))?.[1] ?? '';

// The upstream processes are detached: an interrupted run must still stop them.
let running: KwokMetaCluster | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void (running?.stop() ?? Promise.resolve()).finally(() => process.exit(130)));
}

// 1. Refused probes (the local meta cluster's loopback Service IPs), 200 guests, and the floor.
let meta = await startKwokMetaCluster(8);
running = meta;
let plain: ConvergenceResult;
let floorMs: number;
let floorCount: number;
try {
  plain = await convergeGuests(meta, { guests: GUESTS, silent: 0, deadlineMs: CONVERGENCE_DEADLINE_MS });
  const meanBytes = await meanOwnedObjectBytes(meta.admin);
  floorCount = GUESTS * ownedPerGuest;
  floorMs = await rawWrites(meta.admin, floorCount, meanBytes);
  report(`Cluster operator at scale: ${GUESTS} Minimal guests on 3 kwok nodes, ${DEFAULT_WORKERS} workers; guest Services refuse connections (loopback Service IPs)`, plain);
  console.log(`  floor: bench creates ${floorCount} ConfigMaps of ${meanBytes} bytes (${ownedPerGuest} per guest, ${DEFAULT_WORKERS} writers): ${seconds(floorMs)}   (baseline; ${(floorCount / (floorMs / 1000)).toFixed(0)} writes/s)`);
  console.log(`  operator convergence / floor:           ratio ${plain.settledAtMs === undefined ? '>' : ''}${(convergenceMs(plain) / floorMs).toFixed(1)}x`);
} finally {
  await meta.stop();
}

// 2. The same, with 24 guests whose Services accept and never answer (TESSERA_BENCH_PARTS=refused
// leaves it out when only run 1 is looked at).
let withSilent: ConvergenceResult | undefined;
if (process.env['TESSERA_BENCH_PARTS'] !== 'refused') {
  meta = await startKwokMetaCluster(9);
  running = meta;
  try {
    withSilent = await convergeGuests(meta, { guests: GUESTS, silent: TIMEOUT_GUESTS, deadlineMs: CONVERGENCE_DEADLINE_MS });
    report(`Cluster operator, ${GUESTS} Minimal guests of which ${TIMEOUT_GUESTS} have Services that accept and never answer; converged = the other ${GUESTS - TIMEOUT_GUESTS}`, withSilent);
    console.log(`  the ${GUESTS - TIMEOUT_GUESTS} guests' convergence with the silent ones / run 1: ${(convergenceMs(withSilent) / convergenceMs(plain)).toFixed(2)}x`);
  } finally {
    await meta.stop();
  }
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));
console.log(
  JSON.stringify({
    bench: 'operator-scale',
    guests: GUESTS,
    guestsPerSecond: round(GUESTS / (convergenceMs(plain) / 1000)),
    converged: plain.settledAtMs !== undefined,
    floorSeconds: round(floorMs / 1000),
    convergenceSeconds: round(convergenceMs(plain) / 1000),
    operatorMiBPerGuest: round((plain.rssAfter - plain.rssBefore) / GUESTS / 2 ** 20),
    operatorMiBPerGuestAfterGc: round((plain.afterGc.after.rssBytes - plain.afterGc.before.rssBytes) / GUESTS / 2 ** 20),
    operatorHeapMiBPerGuest: round((plain.afterGc.after.heapBytes - plain.afterGc.before.heapBytes) / GUESTS / 2 ** 20),
    writesAfterConvergence: plain.steady.writes,
    hungGuestsSlowdown: withSilent ? round(convergenceMs(withSilent) / convergenceMs(plain)) : null,
    unreadyIdleCorePercent: round(plain.steady.cpuShare * 100, 2),
  }),
);
