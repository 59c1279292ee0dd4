// Benchmark (issue 9): the Node operator joining N local hosts to one Minimal guest at once,
// beside the floor of the same work scripted by hand in the same run.
//  (a) Floor: N fresh hosts joined directly, all at once, with the steps the operator runs
//      (src/node/join-steps.ts over OpenSSH, as bench/host-node.ts and `tessera hosts join` do:
//      cgroup probe, upload, checksum, unpack and verify every package, containerd, images, pod
//      network, kubelet start with a bootstrap token) until each Node is Ready in the guest.
//      Those hosts are then deleted.
//  (b) N other fresh hosts from `tessera hosts create ... --cluster bench -o yaml`, their Machines
//      applied in one `kubectl apply`: from that moment to each Node Ready (median, p95).
//  (c) The operators' process (test/harness/local-operators-main.ts: the Cluster operator and
//      the Node operator as `tessera up` runs them, but as their own process): resident memory
//      (VmRSS from /proc) with the guest Ready and no Machine, and with N converged Machines.
//  (d) Writes after convergence: once every Machine is Ready and one health period (30 s, the
//      operator's default resync of a converged Machine) has passed, a window of three health
//      periods: write requests by the meta API server's and the guest API server's own
//      apiserver_request_total (no-op writes included) to machines, machines/status and nodes,
//      and, by watches, every change of a Machine, of a Machine's Event, of the Cluster by the
//      Node operator's field manager (MachinesHealthy) and of a Node by any writer but the
//      kubelet, each named with the object, the writer and the fields that changed.
//      writesAfterConvergence = those writes per converged Machine per health period (goal 0).
// Hosts: TESSERA_BENCH_MACHINES (default 20), fewer when the box's inotify instances (shared by
// every process of the user, 128 here) leave room for fewer joined hosts: the bench counts them
// and says so. Numbers are printed, never asserted; the last line is JSON. Meta cluster on
// network index 2 (no e2e file uses it).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { RestClient } from '../src/controller/rest-client.ts';
import { Informer, type KubeObject } from '../src/controller/informer.ts';
import { hostCgroupProcesses, routePodSubnetToHost } from '../src/local/hosts/local-hosts.ts';
import { runOnHost, runStepsOnHost } from '../src/local/hosts/host-ssh.ts';
import { readHostRecord } from '../src/local/hosts/host-layout.ts';
import { bootstrapTokenSecret, clusterDnsAddress, ensureNodePackages } from '../src/local/hosts/guest-join.ts';
import { judgeKubeletCsr, type KubeletCsr, type MachineIdentity } from '../src/operators/machine/kubelet-csr.ts';
import { renderKubernetesEndpoints } from '../src/local/fabric/guest-link.ts';
import { podSubnetOf } from '../src/local/fabric/vpc-plan.ts';
import { CGROUP_PROBE, renderJoinSteps } from '../src/node/join-steps.ts';
import { PAUSE_IMAGE } from '../src/local/packages/images.ts';
import { writeCounters } from './api-server-metrics.ts';
import { LocalOperatorsProcess } from '../test/harness/local-operators-process.ts';
import { MACHINE_FIELD_MANAGER } from '../src/operators/machine/operator.ts';

const REQUESTED_MACHINES = Number(process.env['TESSERA_BENCH_MACHINES'] ?? 20);
/**
 * inotify instances one joined host takes: 8 to 9 measured here with Kubernetes 1.37.2 (kubelet
 * 6, containerd 2, kube-proxy 1; the bench prints its own measurement), plus a margin for CoreDNS
 * pods and the guest's own processes. Every process of one user shares
 * fs.inotify.max_user_instances (128 on this box), hosts and meta clusters alike: a host
 * started past the limit gets a kubelet or containerd that cannot watch its files.
 */
const INOTIFY_PER_HOST = 10;
const VERSION = '1.37.2';
const CLUSTER = 'bench';
/** The Node operator's default health period: how often a converged Machine is looked at. */
const HEALTH_PERIOD_MS = 30_000;
const WINDOW_PERIODS = 3;
const WINDOW_MS = WINDOW_PERIODS * HEALTH_PERIOD_MS + 5_000;
const POD_CIDR = '10.244.0.0/16';
const SERVICE_CIDR = '10.96.0.0/12';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const home = await mkdtemp(join(tmpdir(), 'tessera-bench-machines-'));
const env: NodeJS.ProcessEnv = { ...process.env, TESSERA_HOME: home, TESSERA_NETWORK_INDEX: '2', TESSERA_EMBEDDED_OPERATORS: '0' };
delete env['TESSERA_MACHINE_HEALTH_PERIOD_MS'];

function tessera(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args], { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(new Error(`tessera ${args.join(' ')}: ${stderr.trim().slice(-2000)}`)) : resolve(stdout)));
  });
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, periodMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(periodMs);
  }
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const median = (values: number[]) => sorted(values)[Math.floor((values.length - 1) / 2)] ?? NaN;
const p95 = (values: number[]) => sorted(values)[Math.max(0, Math.ceil(values.length * 0.95) - 1)] ?? NaN;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const secondsList = (values: number[]) => sorted(values).map((ms) => (ms / 1000).toFixed(1)).join(', ');
const names = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);

/** inotify instances held now by every process on the box (all run as one user here), and the limit. */
async function inotifyInstances(pids?: readonly number[]): Promise<number> {
  let count = 0;
  for (const pid of pids ?? (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number)) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === 'anon_inode:inotify') count++;
  }
  return count;
}

type Condition = { type: string; status: string; lastHeartbeatTime?: string };
type ManagedField = { manager?: string; operation?: string; subresource?: string; time?: string };
type Watched = KubeObject & { status?: { conditions?: Condition[] } };
type CsrObject = { metadata: { name: string }; spec: { signerName: string; username?: string; groups?: string[]; usages?: string[]; request: string }; status?: { conditions?: { type: string }[] } };
type EventObject = Watched & { reason?: string; message?: string; count?: number; involvedObject?: { kind?: string; name?: string } };

/** The fields that differ between two versions of an object; list items keyed by type or name. */
function changedPaths(before: unknown, after: unknown, path = ''): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (Array.isArray(before) && Array.isArray(after)) {
    const keyOf = (item: unknown, index: number) => (isRecord(item) && typeof item['type'] === 'string' ? item['type'] : isRecord(item) && typeof item['name'] === 'string' ? item['name'] : String(index));
    const a = new Map(before.map((item, index) => [keyOf(item, index), item]));
    const b = new Map(after.map((item, index) => [keyOf(item, index), item]));
    return [...new Set([...a.keys(), ...b.keys()])].flatMap((key) => changedPaths(a.get(key), b.get(key), `${path}[${key}]`));
  }
  if (isRecord(before) && isRecord(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].flatMap((key) => changedPaths(before[key], after[key], path ? `${path}.${key}` : key));
  }
  return [path || '(whole object)'];
}

const IGNORED = new Set(['metadata.resourceVersion', 'metadata.managedFields']);
const fieldsOf = (before: unknown, after: unknown) => changedPaths(before, after).filter((path) => !IGNORED.has(path) && !path.startsWith('metadata.managedFields'));

/** Who wrote: the managedFields entries (manager, operation, subresource) whose time moved. */
function writers(before: Watched | undefined, after: Watched): string[] {
  const entry = (field: ManagedField) => `${field.manager ?? '?'}/${field.operation ?? '?'}${field.subresource ? `/${field.subresource}` : ''}`;
  const fields = (object: Watched | undefined) => (object?.metadata?.managedFields ?? []) as ManagedField[];
  const previous = new Map(fields(before).map((field) => [entry(field), field.time]));
  return fields(after).filter((field) => previous.get(entry(field)) !== field.time).map(entry);
}

function counterDelta(before: Map<string, number>, after: Map<string, number>, resources: readonly string[]): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [key, value] of after) {
    const change = value - (before.get(key) ?? 0);
    if (change > 0 && resources.includes(key.split(' ')[0] ?? '')) delta.set(key, change);
  }
  return delta;
}
const describe = (counts: Map<string, number>) => [...counts].map(([key, n]) => `${key} ${n}`).join(', ') || 'none';
const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n, 0);

const nameOf = (object: KubeObject) => object.metadata?.name ?? '';
/** A relist delivers objects again unchanged: not a write. */
const sameVersion = (before: KubeObject | undefined, after: KubeObject) => before?.metadata?.resourceVersion === after.metadata?.resourceVersion;
const nodeIsReady = (node: Watched) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** The operators' resident memory: the median of a few samples a second apart. */
async function operatorMiB(operators: LocalOperatorsProcess): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(await operators.residentMiB());
    await sleep(1_000);
  }
  return median(samples);
}

const operators = new LocalOperatorsProcess(home, env);
let machineCount = REQUESTED_MACHINES;
let floorHosts: string[] = [];
let machineHosts: string[] = [];
const informers: Informer<Watched>[] = [];
let floorDeleted = false;
try {
  const packages = await ensureNodePackages(VERSION);

  await tessera('up', '--detach');
  operators.start();
  const metaConfig = new KubeConfig();
  metaConfig.loadFromFile(join(home, 'kubeconfig'));
  const meta = new RestClient(metaConfig);

  await writeFile(join(home, 'cluster.yaml'), `apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${CLUSTER}}\nspec:\n  version: "${VERSION}"\n  mode: Minimal\n  network: {podCIDR: ${POD_CIDR}, serviceCIDR: ${SERVICE_CIDR}}\n`);
  await tessera('kubectl', '--', 'apply', '-f', join(home, 'cluster.yaml'));
  await until('the guest Ready', async () => ((await tessera('kubectl', '--', 'get', 'cluster', CLUSTER, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')) === 'True' ? true : undefined), 300_000, 1_000);
  const kubeconfigText = Buffer.from(await tessera('kubectl', '--', 'get', 'secret', `${CLUSTER}-admin-kubeconfig`, '-o', 'jsonpath={.data.kubeconfig}'), 'base64').toString();
  const caPem = Buffer.from(await tessera('kubectl', '--', 'get', 'secret', `${CLUSTER}-ca`, '-o', 'jsonpath={.data.tls\\.crt}'), 'base64').toString();
  const guestConfig = new KubeConfig();
  guestConfig.loadFromString(kubeconfigText);
  const guest = new RestClient(guestConfig);
  const server = guestConfig.getCurrentCluster()?.server ?? '';

  // When each Node was first seen Ready, and every Node change by someone other than its kubelet.
  const readyAt = new Map<string, number>();
  let window: { nodes: string[]; machines: string[]; events: string[]; clusters: string[] } | undefined;
  const nodes = new Informer<Watched>(guest, '/api/v1/nodes').on((event) => {
    if (event.type !== 'delete' && nodeIsReady(event.object) && !readyAt.has(nameOf(event.object))) readyAt.set(nameOf(event.object), Date.now());
    if (window && event.type === 'update' && !sameVersion(event.old, event.object)) {
      const by = writers(event.old, event.object).filter((writer) => !writer.startsWith('kubelet/'));
      if (by.length > 0) window.nodes.push(`Node ${nameOf(event.object)} by ${by.join(', ')}: ${fieldsOf(event.old, event.object).join(', ')}`);
    }
  });
  informers.push(nodes);
  await nodes.start();

  // (c) before: the guest Ready, no Machine yet.
  await sleep(5_000);
  const baselineMiB = await operatorMiB(operators);

  // How many hosts the box allows: the inotify instances left with the meta cluster and the guest running.
  const limit = Number((await readFile('/proc/sys/fs/inotify/max_user_instances', 'utf8')).trim());
  const inUse = await inotifyInstances();
  const allowed = Math.floor((limit - inUse) / INOTIFY_PER_HOST);
  machineCount = Math.min(REQUESTED_MACHINES, allowed);
  console.log(`inotify instances: ${inUse} of ${limit} in use with the meta cluster and the guest running (and whatever else runs on the box); at ${INOTIFY_PER_HOST} per joined host that leaves room for ${allowed} hosts: ${machineCount} of the ${REQUESTED_MACHINES} asked for (TESSERA_BENCH_MACHINES)`);
  if (machineCount < 2) throw new Error(`room for ${allowed} hosts only (inotify instances ${inUse} of ${limit} in use): stop other meta clusters and hosts on this box first`);
  floorHosts = names('f', machineCount);
  machineHosts = names('w', machineCount);
  let started = Date.now();
  await tessera('hosts', 'create', ...floorHosts, '--zone', 'zone-a');
  console.log(`${machineCount} floor hosts created in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // (a) The floor: every host joined by hand at once.
  await tessera('hosts', 'link', server);
  for (const object of renderKubernetesEndpoints() as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[]) {
    const resource = object.kind === 'Endpoints' ? 'endpoints' : object.kind === 'EndpointSlice' ? 'endpointslices' : `${object.kind.toLowerCase()}s`;
    const prefix = object.apiVersion === 'v1' ? '/api/v1' : `/apis/${object.apiVersion}`;
    await guest.apply(`${prefix}/namespaces/${object.metadata.namespace ?? 'default'}/${resource}/${object.metadata.name}`, object, 'machine-join-bench', true);
  }
  // One bootstrap token per host, as the operator issues one per Machine; nothing in a guest
  // approves kubelet certificates by itself, so the floor approves its hosts' requests, judged
  // exactly as the operator judges a Machine's (kubelet-csr.ts), polling once a second.
  const floorRecords = await Promise.all(floorHosts.map(async (name) => {
    const record = await readHostRecord(home, name);
    if (!record) throw new Error(`host ${name} vanished`);
    const token = { id: randomBytes(3).toString('hex'), secret: randomBytes(8).toString('hex') };
    await guest.create('/api/v1/namespaces/kube-system/secrets', bootstrapTokenSecret(token.id, token.secret, new Date(Date.now() + 3_600_000)));
    return { record, token };
  }));
  const identities: MachineIdentity[] = floorRecords.map(({ record, token }) => ({ nodeName: record.name, bootstrapTokenIds: [token.id], hostnames: [record.name], addresses: [record.vpcAddress] }));
  let floorDone = false;
  const approving = (async () => {
    while (!floorDone) {
      // A failed round (a conflict, the guest busy) is retried next second; it must not end the bench.
      try {
        const list = await guest.get<{ items: CsrObject[] }>('/apis/certificates.k8s.io/v1/certificatesigningrequests');
        for (const item of list.items) {
          if (item.status?.conditions?.length) continue;
          const csr: KubeletCsr = { name: item.metadata.name, signerName: item.spec.signerName, username: item.spec.username ?? '', groups: item.spec.groups ?? [], usages: item.spec.usages ?? [], requestPem: Buffer.from(item.spec.request, 'base64').toString('utf8') };
          const verdict = identities.map((identity) => judgeKubeletCsr(csr, identity)).find((entry) => entry !== undefined);
          if (!verdict) continue;
          const type = verdict.verdict === 'approve' ? 'Approved' : 'Denied';
          await guest.request('PUT', `/apis/certificates.k8s.io/v1/certificatesigningrequests/${item.metadata.name}/approval`, { body: { ...item, status: { conditions: [{ type, status: 'True', reason: 'MachineJoinBench', message: verdict.message }] } } });
          if (type === 'Denied') console.log(`floor: denied ${item.metadata.name}: ${verdict.message}`);
        }
      } catch (error) {
        console.log(`floor: approving kubelet certificates: ${(error as Error).message}`);
      }
      await sleep(1_000);
    }
  })();
  let floorMs: number[];
  try {
    floorMs = await Promise.all(floorRecords.map(async ({ record, token }) => {
      const name = record.name;
      const begun = Date.now();
      const cgroupRoot = (await runOnHost(home, record, CGROUP_PROBE)).stdout.trim();
      const podSubnet = podSubnetOf(POD_CIDR, 24, record.index);
      await routePodSubnetToHost(home, name, podSubnet);
      const steps = renderJoinSteps(packages, { nodeName: name, nodeIP: record.vpcAddress, labels: {}, cgroupRoot, server, caPem, bootstrapToken: `${token.id}.${token.secret}`, clusterDNS: clusterDnsAddress(SERVICE_CIDR), clusterDomain: 'cluster.local', sandboxImage: PAUSE_IMAGE, podSubnet });
      await runStepsOnHost(home, record, steps);
      const ready = await until(`floor Node ${name} Ready`, async () => readyAt.get(name), 600_000);
      return ready - begun;
    }));
  } finally {
    floorDone = true;
    await approving;
  }
  console.log(`(a) floor, ${machineCount} hosts joined by hand at once (SSH, upload, checksum, install, kubelet start) to Node Ready: median ${(median(floorMs) / 1000).toFixed(1)} s, p95 ${(p95(floorMs) / 1000).toFixed(1)} s (${secondsList(floorMs)})`);
  const perHost = await Promise.all(floorHosts.map(async (name) => inotifyInstances(await hostCgroupProcesses(home, name))));
  console.log(`inotify instances per joined host, measured: median ${median(perHost)}, at most ${Math.max(...perHost)}; ${await inotifyInstances()} of ${limit} in use with the ${machineCount} floor hosts joined`);
  for (const name of floorHosts) await guest.delete(`/api/v1/nodes/${name}`).catch(() => undefined);
  await tessera('hosts', 'delete', ...floorHosts);
  floorDeleted = true;

  // (b) The operator: fresh hosts, their Machines applied at once.
  started = Date.now();
  const manifests = await tessera('hosts', 'create', ...machineHosts, '--zone', 'zone-a', '--cluster', CLUSTER, '-o', 'yaml');
  console.log(`${machineCount} hosts for Machines created in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await writeFile(join(home, 'machines.yaml'), manifests);
  const machines = new Informer<Watched>(meta, '/apis/tessera.dev/v1alpha1/machines').on((event) => {
    if (window && event.type === 'update' && !sameVersion(event.old, event.object)) window.machines.push(`Machine ${nameOf(event.object)} by ${writers(event.old, event.object).join(', ') || '?'}: ${fieldsOf(event.old, event.object).join(', ')}`);
  });
  const events = new Informer<EventObject>(meta, '/api/v1/events', { fieldSelector: 'involvedObject.kind=Machine' }).on((event) => {
    if (window && event.type !== 'delete' && !sameVersion(event.old, event.object)) window.events.push(`Event ${event.type} on Machine ${event.object.involvedObject?.name}: ${event.object.reason} (count ${event.object.count ?? 1}) ${event.object.message ?? ''}`);
  });
  // The Node operator writes one condition on the Cluster (MachinesHealthy), under its own field manager.
  const clusters = new Informer<Watched>(meta, '/apis/tessera.dev/v1alpha1/clusters').on((event) => {
    if (!window || event.type !== 'update' || sameVersion(event.old, event.object)) return;
    const by = writers(event.old, event.object).filter((writer) => writer.startsWith(`${MACHINE_FIELD_MANAGER}/`));
    if (by.length > 0) window.clusters.push(`Cluster ${nameOf(event.object)} by ${by.join(', ')}: ${fieldsOf(event.old, event.object).join(', ')}`);
  });
  informers.push(machines, events as Informer<Watched>, clusters);
  await machines.start();
  await events.start();
  await clusters.start();
  const applied = Date.now();
  await tessera('kubectl', '--', 'apply', '-f', join(home, 'machines.yaml'));
  await until(`${machineCount} Nodes Ready`, async () => (machineHosts.every((name) => readyAt.has(name)) ? true : undefined), 1_200_000, 1_000);
  const joinMs = machineHosts.map((name) => (readyAt.get(name) ?? NaN) - applied);
  console.log(`(b) operator, ${machineCount} Machines applied at once to Node Ready: median ${(median(joinMs) / 1000).toFixed(1)} s, p95 ${(p95(joinMs) / 1000).toFixed(1)} s (${secondsList(joinMs)}); ratio to the floor ${(median(joinMs) / median(floorMs)).toFixed(2)}`);
  const machineReady = (object: Watched) => object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  await until('every Machine Ready', async () => (machines.list().length === machineCount && machines.list().every(machineReady) ? true : undefined), 300_000, 1_000);
  const allReadyMs = Date.now() - applied;

  // (d) One health period to settle, then the window.
  await sleep(HEALTH_PERIOD_MS);
  const metaBefore = await writeCounters(meta);
  const guestBefore = await writeCounters(guest);
  // The join wrote Machine status: a counter that never counted it would report 0 for nothing.
  if (!metaBefore.has('machines/status APPLY') && !metaBefore.has('machines/status PATCH')) console.log('  warning: the meta apiserver_request_total shows no machines/status write at all: the write counts below are not to be trusted');
  window = { nodes: [], machines: [], events: [], clusters: [] };
  await sleep(WINDOW_MS / 2);
  // (c) after, in the middle of the window.
  const convergedMiB = await operatorMiB(operators);
  await sleep(WINDOW_MS / 2 - 5_000);
  const seen = window;
  window = undefined;
  const metaWrites = counterDelta(metaBefore, await writeCounters(meta), ['machines', 'machines/status', 'events', 'clusters/status']);
  const guestWrites = counterDelta(guestBefore, await writeCounters(guest), ['nodes']);
  const stillReady = machines.list().filter(machineReady).length;

  // Writes the Machine operator owns: Machines (and status), Nodes (not their status, the
  // kubelet's), and the Machine Events seen by the watch (the events counter mixes in others).
  const operatorWrites = (metaWrites.get('machines PATCH') ?? 0) + (metaWrites.get('machines/status PATCH') ?? 0) + (metaWrites.get('machines/status APPLY') ?? 0) + (metaWrites.get('machines PUT') ?? 0) + (metaWrites.get('machines/status PUT') ?? 0) + (guestWrites.get('nodes PATCH') ?? 0) + (guestWrites.get('nodes PUT') ?? 0) + seen.events.length + seen.clusters.length;
  const perMachinePerResync = operatorWrites / machineCount / WINDOW_PERIODS;
  const operatorMiBPerMachine = (convergedMiB - baselineMiB) / machineCount;

  console.log(`every Machine Ready ${(allReadyMs / 1000).toFixed(1)} s after they were applied; ${stillReady} of ${machineCount} still Ready at the end of the window`);
  console.log(`(c) operators' process RSS: ${baselineMiB.toFixed(0)} MiB with the guest and no Machine, ${convergedMiB.toFixed(0)} MiB with ${machineCount} converged Machines: ${operatorMiBPerMachine.toFixed(2)} MiB per Machine`);
  console.log(`(d) writes over ${(WINDOW_MS / 1000).toFixed(0)} s (${WINDOW_PERIODS} health periods of ${HEALTH_PERIOD_MS / 1000} s) after convergence:`);
  console.log(`  meta apiserver_request_total: ${describe(metaWrites)}`);
  console.log(`  guest apiserver_request_total (nodes, status included): ${describe(guestWrites)}`);
  console.log(`  changes seen by watches: ${seen.machines.length} to Machines, ${seen.events.length} Machine Events, ${seen.clusters.length} to the Cluster by the Node operator, ${seen.nodes.length} Node changes by writers other than the kubelet`);
  for (const line of [...seen.machines, ...seen.events, ...seen.clusters, ...seen.nodes].slice(0, 40)) console.log(`    ${line}`);
  console.log(`  the operator's writes: ${operatorWrites} = ${perMachinePerResync.toFixed(3)} per converged Machine per health period; operators' process exits: ${operators.unexpectedExits.join('; ') || 'none'}`);
  if (total(metaWrites) + total(guestWrites) === 0 && seen.machines.length + seen.events.length + seen.clusters.length + seen.nodes.length === 0) console.log('  nothing was written');

  console.log(JSON.stringify({
    bench: 'machine-join',
    machines: machineCount,
    joinRatio: round(median(joinMs) / median(floorMs)),
    medianSeconds: round(median(joinMs) / 1000),
    p95Seconds: round(p95(joinMs) / 1000),
    floorMedianSeconds: round(median(floorMs) / 1000),
    operatorMiBPerMachine: round(operatorMiBPerMachine),
    writesAfterConvergence: round(perMachinePerResync, 3),
  }));
} finally {
  for (const informer of informers) await informer.stop();
  await operators.stop();
  // One at a time: a host that was never created makes `hosts delete` fail for all it names.
  for (const name of [...(floorDeleted ? [] : floorHosts), ...machineHosts]) await tessera('hosts', 'delete', name).catch(() => undefined);
  await tessera('down').catch((error: unknown) => console.error((error as Error).message));
  await rm(home, { recursive: true, force: true });
}
