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
] as const;
export type Milestone = (typeof MILESTONES)[number];

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
      const prefix = componentOf(object) === 'etcd' ? 'etcd' : componentOf(object) === 'kube-apiserver' ? 'API server' : undefined;
      if (!prefix) return;
      const name = clusterOf(object);
      this.mark(name, `${prefix} pod created` as Milestone);
      if (object.spec?.nodeName) this.mark(name, `${prefix} pod scheduled` as Milestone);
      if (object.status?.containerStatuses?.some((status) => status.state?.running)) this.mark(name, `${prefix} container started` as Milestone);
      if (object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) this.mark(name, `${prefix} pod Ready` as Milestone);
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
export function timelineTable(samples: Map<Milestone, number>[], readyzMs: number[]): string[] {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? NaN;
  const rows: string[] = [];
  let previous = 0;
  for (const milestone of MILESTONES) {
    const values = samples.map((sample) => sample.get(milestone)).filter((value): value is number => value !== undefined);
    if (values.length === 0) continue;
    const at = median(values);
    rows.push(`    ${milestone.padEnd(30)} at ${(at / 1000).toFixed(2)}s   (+${((at - previous) / 1000).toFixed(2)}s)`);
    previous = at;
  }
  const readyz = median(readyzMs);
  rows.push(`    ${'guest /readyz ok (bench)'.padEnd(30)} at ${(readyz / 1000).toFixed(2)}s   (+${((readyz - previous) / 1000).toFixed(2)}s)`);
  return rows;
}
