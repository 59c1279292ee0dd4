// Where the time of a guest's creation goes: watches the meta cluster's Clusters, Secrets, PVCs
// and Pods and records, per guest, when each milestone was first seen (the bench's clock, in
// milliseconds: the API's own timestamps have one-second resolution).
import type { V1PersistentVolumeClaim, V1Pod, V1Secret } from '@kubernetes/client-node';
import { Informer, type KubeObject } from '../src/controller/informer.ts';
import type { RestClient } from '../src/controller/rest-client.ts';

export const MILESTONES = [
  'finalizer added',
  'first PKI Secret',
  'etcd claim created',
  'etcd claim bound',
  'etcd pod created',
  'etcd pod scheduled',
  'etcd container started',
  'etcd pod Ready',
  'API server pod created',
  'API server pod scheduled',
  'API server container started',
  'API server pod Ready',
  'Cluster APIServerAvailable',
  // From the processes' own logs (processMilestones).
  'etcd process started',
  'etcd serving clients',
  'API server process started',
  'API server listening',
  'API server post-start work done',
] as const;
export type Milestone = (typeof MILESTONES)[number];

/** A klog line's time ("I1206 18:48:12.023280 ..."; the year is not logged) as epoch milliseconds. */
function klogTime(line: string, year: number): number | undefined {
  const match = /^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})/.exec(line);
  if (!match) return undefined;
  const [month, day, hour, minute, second, micro] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second) + micro / 1000;
}

/** An etcd JSON log line's time ("ts":"2026-12-06T18:48:10.389358Z") as epoch milliseconds. */
function etcdTime(line: string): number | undefined {
  const ts = /"ts":"([^"]+)"/.exec(line)?.[1];
  return ts ? Date.parse(ts) : undefined;
}

/**
 * When the guest's etcd and kube-apiserver started, served and finished starting, from their
 * own logs (read through the meta API, as `kubectl logs`), in milliseconds after `createdAtEpochMs`.
 */
export async function processMilestones(meta: RestClient, namespace: string, cluster: string, createdAtEpochMs: number): Promise<Map<Milestone, number>> {
  const pods = await meta.get<{ items: { metadata: { name: string; labels?: Record<string, string> } }[] }>(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: `tessera.dev/cluster=${cluster}` });
  const logOf = async (component: string, container: string) => {
    const pod = pods.items.find((item) => item.metadata.labels?.['tessera.dev/component'] === component);
    return pod ? (await meta.get<string>(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/log`, { container }).catch(() => '')).split('\n') : [];
  };
  return milestonesFromLogs(await logOf('etcd', 'etcd'), await logOf('control-plane', 'kube-apiserver'), createdAtEpochMs);
}

/** The process milestones in etcd's and kube-apiserver's log lines, in milliseconds after `sinceEpochMs`. */
export function milestonesFromLogs(etcd: string[], apiServer: string[], sinceEpochMs: number): Map<Milestone, number> {
  const milestones = new Map<Milestone, number>();
  const mark = (milestone: Milestone, at: number | undefined) => {
    if (at !== undefined && !Number.isNaN(at)) milestones.set(milestone, at - sinceEpochMs);
  };
  mark('etcd process started', etcdTime(etcd.find((line) => line.includes('"ts"')) ?? ''));
  mark('etcd serving clients', etcdTime(etcd.find((line) => line.includes('ready to serve client requests')) ?? ''));
  const year = new Date(sinceEpochMs).getUTCFullYear();
  mark('API server process started', klogTime(apiServer.find((line) => klogTime(line, year) !== undefined) ?? '', year));
  mark('API server listening', klogTime(apiServer.find((line) => line.includes('Serving securely on')) ?? '', year));
  mark('API server post-start work done', klogTime(apiServer.find((line) => line.includes('all system priority classes are created')) ?? '', year));
  return milestones;
}

type ClusterLike = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

const componentOf = (object: KubeObject) => object.metadata?.labels?.['tessera.dev/component'];
const clusterOf = (object: KubeObject) => object.metadata?.labels?.['tessera.dev/cluster'] ?? '';

export class GuestTimeline {
  private readonly informers: Informer<KubeObject>[];
  private readonly seen = new Map<string, Map<Milestone, number>>();

  constructor(meta: RestClient, namespace: string) {
    const clusters = new Informer<ClusterLike>(meta, `/apis/tessera.dev/v1alpha1/namespaces/${namespace}/clusters`);
    const secrets = new Informer<V1Secret & KubeObject>(meta, `/api/v1/namespaces/${namespace}/secrets`, { labelSelector: 'tessera.dev/cluster' });
    const claims = new Informer<V1PersistentVolumeClaim & KubeObject>(meta, `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, { labelSelector: 'tessera.dev/cluster' });
    const pods = new Informer<V1Pod & KubeObject>(meta, `/api/v1/namespaces/${namespace}/pods`, { labelSelector: 'tessera.dev/cluster' });
    clusters.on(({ object }) => {
      const name = object.metadata?.name ?? '';
      if (object.metadata?.finalizers?.length) this.mark(name, 'finalizer added');
      if (object.status?.conditions?.some((c) => c.type === 'APIServerAvailable' && c.status === 'True')) this.mark(name, 'Cluster APIServerAvailable');
    });
    secrets.on(({ object }) => this.mark(clusterOf(object), 'first PKI Secret'));
    claims.on(({ object }) => {
      this.mark(clusterOf(object), 'etcd claim created');
      if (object.status?.phase === 'Bound') this.mark(clusterOf(object), 'etcd claim bound');
    });
    pods.on(({ object }) => {
      // The API server is the control-plane pod's sidecar: its own container status, not the pod's, says when it runs and is ready.
      const prefix = componentOf(object) === 'etcd' ? 'etcd' : componentOf(object) === 'control-plane' ? 'API server' : undefined;
      if (!prefix) return;
      const name = clusterOf(object);
      const container = [...(object.status?.initContainerStatuses ?? []), ...(object.status?.containerStatuses ?? [])].find((status) => status.name === (prefix === 'etcd' ? 'etcd' : 'kube-apiserver'));
      this.mark(name, `${prefix} pod created` as Milestone);
      if (object.spec?.nodeName) this.mark(name, `${prefix} pod scheduled` as Milestone);
      if (container?.state?.running) this.mark(name, `${prefix} container started` as Milestone);
      if (container?.ready) this.mark(name, `${prefix} pod Ready` as Milestone);
    });
    this.informers = [clusters, secrets, claims, pods] as Informer<KubeObject>[];
  }

  private mark(name: string, milestone: Milestone): void {
    let milestones = this.seen.get(name);
    if (!milestones) this.seen.set(name, (milestones = new Map()));
    if (!milestones.has(milestone)) milestones.set(milestone, performance.now());
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.stop()));
  }

  /** Milliseconds from `createdAt` to each milestone of `name` seen so far. */
  since(name: string, createdAt: number): Map<Milestone, number> {
    return new Map([...(this.seen.get(name) ?? new Map<Milestone, number>())].map(([milestone, at]) => [milestone, at - createdAt]));
  }
}

/**
 * The median time of each milestone over several guests, and the step before it, as a table:
 * the steps say where the time goes (admission and the finalizer, PKI, provisioning the volume,
 * scheduling, process start, readiness detection, the operator's noticing).
 */
export function timelineTable(samples: Map<Milestone, number>[], readyzMs: number[], last = 'guest /readyz ok (bench)'): string[] {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? NaN;
  const rows: string[] = [];
  let previous = 0;
  const medians = MILESTONES.map((milestone) => ({ milestone, values: samples.map((sample) => sample.get(milestone)).filter((value): value is number => value !== undefined) }))
    .filter(({ values }) => values.length > 0)
    .map(({ milestone, values }) => ({ milestone, at: median(values) }))
    .sort((a, b) => a.at - b.at);
  for (const { milestone, at } of medians) {
    rows.push(`    ${milestone.padEnd(30)} at ${(at / 1000).toFixed(2)}s   (+${((at - previous) / 1000).toFixed(2)}s)`);
    previous = at;
  }
  const readyz = median(readyzMs);
  rows.push(`    ${last.padEnd(30)} at ${(readyz / 1000).toFixed(2)}s   (+${((readyz - previous) / 1000).toFixed(2)}s)`);
  return rows;
}
