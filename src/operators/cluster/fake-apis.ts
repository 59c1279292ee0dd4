// FAKES, for the reconciler's unit tests only: an in-memory stand-in for the meta cluster's API
// and informer caches, a guest API and an etcd, so every failure path of a pass can be driven
// without a cluster. The real paths run in test/e2e against real etcd and kube-apiserver.
import { ApiError } from '../../controller/rest-client.ts';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import type { ApiClient, CacheReader, ClusterCaches, EtcdApi, GuestApi } from './component.ts';
import type { EtcdMember } from './etcd-client.ts';
import { clusterKeyOf } from './component.ts';

type StoredObject = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; generation?: number; resourceVersion?: string; [key: string]: unknown }; [key: string]: unknown };

const kindOfResource: Record<string, string> = {
  pods: 'Pod',
  services: 'Service',
  secrets: 'Secret',
  persistentvolumeclaims: 'PersistentVolumeClaim',
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  clusters: 'Cluster',
  machines: 'Machine',
  events: 'Event',
};

/** Splits an API path into kind, namespace, name and subresource. */
function parsePath(path: string): { kind: string; namespace?: string; name?: string; subresource?: string } {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 2) {
    namespace = rest[1];
    rest.splice(0, 2);
  }
  const kind = kindOfResource[rest[0] ?? ''];
  if (!kind) throw new Error(`fake meta API: no kind for ${path}`);
  return { kind, namespace, name: rest[1] ? decodeURIComponent(rest[1]) : undefined, subresource: rest[2] };
}

function matchesSelector(object: StoredObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const labels = object.metadata?.labels ?? {};
    if (term.includes('!=')) {
      const [key, value] = term.split('!=');
      return labels[key ?? ''] !== value;
    }
    const [key, value] = term.split('=');
    return value === undefined ? key !== undefined && key in labels : labels[key ?? ''] === value;
  });
}

function merge(live: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const base = live !== null && typeof live === 'object' && !Array.isArray(live) ? { ...(live as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) base[key] = merge(base[key], value);
  return base;
}

type JsonPatchOperation = { op: string; path: string; value?: unknown };

/** The JSON patch operations the finalizer helpers send: replace and remove (resourceVersion checks are not faked). */
function jsonPatch(object: StoredObject, operations: readonly JsonPatchOperation[]): StoredObject {
  const result = structuredClone(object);
  for (const operation of operations) {
    const keys = operation.path.split('/').slice(1);
    const last = keys.pop() ?? '';
    let parent: unknown = result;
    for (const key of keys) parent = (parent as Record<string, unknown>)[key];
    if (operation.op === 'remove' && Array.isArray(parent)) parent.splice(Number(last), 1);
    else if (operation.op === 'remove') delete (parent as Record<string, unknown>)[last];
    else if (operation.op === 'replace' && last !== 'resourceVersion') (parent as Record<string, unknown>)[last] = operation.value;
  }
  return result;
}

type Status = Record<string, unknown> & { conditions?: { type: string }[] };

/** FAKE meta cluster: objects by kind/namespace/name, server-side apply as a deep merge. */
export class FakeMetaCluster {
  readonly objects = new Map<string, StoredObject>();
  readonly requests: string[] = [];
  private version = 1;
  private nextIP = 10;
  /** Called before each write; throw to simulate a failing API. */
  failWrite: (method: string, path: string) => void = () => {};

  private key(kind: string, namespace: string | undefined, name: string | undefined): string {
    return `${kind}/${namespace ?? ''}/${name ?? ''}`;
  }

  put(object: StoredObject): StoredObject {
    const stored = structuredClone(object);
    stored.metadata = { ...stored.metadata, resourceVersion: String(this.version++) };
    this.objects.set(this.key(stored.kind ?? '', stored.metadata.namespace, stored.metadata.name), stored);
    return stored;
  }

  find<T>(kind: string, namespace: string, name: string): T | undefined {
    return this.objects.get(this.key(kind, namespace, name)) as T | undefined;
  }

  list<T>(kind: string): T[] {
    return [...this.objects.values()].filter((object) => object.kind === kind) as T[];
  }

  /** Per status path and field manager: the top-level status fields and condition types it applied. */
  private readonly statusOwners = new Map<string, { fields: Set<string>; conditionTypes: Set<string> }>();

  /**
   * Server-side apply of a status as the real server does it for top-level fields and conditions
   * (a list map keyed by type): what the manager sends replaces its own, what it sent before and
   * no longer sends goes, what other managers own stays.
   */
  private applyStatus(path: string, manager: string, live: Status | undefined, desired: Status | undefined): Status {
    const key = `${path} ${manager}`;
    const before = this.statusOwners.get(key) ?? { fields: new Set<string>(), conditionTypes: new Set<string>() };
    const sent = desired ?? {};
    const sentTypes = new Set((sent.conditions ?? []).map((condition) => condition.type));
    const next: Status = {};
    for (const [field, value] of Object.entries(live ?? {})) if (!before.fields.has(field)) next[field] = structuredClone(value);
    for (const [field, value] of Object.entries(sent)) next[field] = structuredClone(value);
    const othersConditions = (live?.conditions ?? []).filter((condition) => !sentTypes.has(condition.type) && !before.conditionTypes.has(condition.type));
    const conditions = [...othersConditions, ...structuredClone(sent.conditions ?? [])];
    if (conditions.length > 0) next.conditions = conditions;
    else delete next.conditions;
    this.statusOwners.set(key, { fields: new Set(Object.keys(sent)), conditionTypes: sentTypes });
    return next;
  }

  writes(): string[] {
    return this.requests.filter((request) => !request.startsWith('GET') && !request.includes('/events'));
  }

  readonly client: ApiClient = {
    get: async <T>(path: string) => {
      this.requests.push(`GET ${path}`);
      const { kind, namespace, name } = parsePath(path);
      if (name === undefined) return { items: this.list(kind).filter((object) => namespace === undefined || (object as StoredObject).metadata?.namespace === namespace) } as T;
      const found = this.find<T>(kind, namespace ?? '', name);
      if (!found) throw new ApiError(404, 'NotFound', `${kind} ${name} not found`, undefined);
      return found;
    },
    apply: async <T>(path: string, body: unknown, manager = '') => {
      this.requests.push(`APPLY ${path}`);
      this.failWrite('APPLY', path);
      const { kind, namespace, name, subresource } = parsePath(path);
      const live = this.find<StoredObject>(kind, namespace ?? '', name ?? '');
      const desired = body as StoredObject;
      if (subresource === 'status') {
        if (!live) throw new ApiError(404, 'NotFound', `${kind} ${name} not found`, undefined);
        return this.put({ ...live, status: this.applyStatus(path, manager, live['status'] as Status | undefined, desired['status'] as Status | undefined) }) as T;
      }
      const merged = merge(live, desired) as StoredObject;
      // As the API server: an address asked for that another Service holds is refused.
      const asked = (desired['spec'] as { clusterIP?: string } | undefined)?.clusterIP;
      if (kind === 'Service' && !live && asked && asked !== 'None' && this.list('Service').some((other) => (other as StoredObject & { spec?: { clusterIP?: string } }).spec?.clusterIP === asked)) {
        throw new ApiError(422, 'Invalid', `Service "${name}" is invalid: spec.clusterIPs: Invalid value: ["${asked}"]: failed to allocate IP ${asked}: provided IP is already allocated`, undefined);
      }
      if (kind === 'Service' && !(merged['spec'] as { clusterIP?: string } | undefined)?.clusterIP) {
        merged['spec'] = { ...(merged['spec'] as object), clusterIP: `10.0.0.${this.nextIP++}` };
      }
      if (kind === 'Deployment') merged.metadata = { ...merged.metadata, generation: (live?.metadata?.generation ?? 0) + 1 };
      return this.put(merged) as T;
    },
    create: async <T>(path: string, body: unknown) => {
      this.requests.push(`CREATE ${path}`);
      return body as T;
    },
    patch: async <T>(path: string, body: unknown) => {
      this.requests.push(`PATCH ${path}`);
      const { kind, namespace, name } = parsePath(path);
      if (kind === 'Event') return body as T;
      const live = this.find<StoredObject>(kind, namespace ?? '', name ?? '');
      if (!live) throw new ApiError(404, 'NotFound', `${kind} ${name} not found`, undefined);
      if (Array.isArray(body)) return this.put(jsonPatch(live, body as JsonPatchOperation[])) as T;
      return this.put(merge(live, body) as StoredObject) as T;
    },
    delete: async <T>(path: string, _body?: unknown, query?: Record<string, unknown>) => {
      this.requests.push(`DELETE ${path}`);
      this.failWrite('DELETE', path);
      const { kind, namespace, name } = parsePath(path);
      if (name === undefined) {
        for (const object of this.list<StoredObject>(kind)) {
          if (object.metadata?.namespace === namespace && matchesSelector(object, query?.['labelSelector'] as string | undefined)) this.objects.delete(this.key(kind, namespace, object.metadata?.name));
        }
        return {} as T;
      }
      if (!this.objects.delete(this.key(kind, namespace, name))) throw new ApiError(404, 'NotFound', `${kind} ${name} not found`, undefined);
      return {} as T;
    },
  };

  private cache<T>(kind: string): CacheReader<T> {
    return {
      get: (key) => {
        const [namespace, name] = key.includes('/') ? (key.split('/') as [string, string]) : ['', key];
        return this.find<T>(kind, namespace, name);
      },
      list: () => this.list<T>(kind),
      byIndex: (_index, value) => this.list<StoredObject>(kind).filter((object) => clusterKeyOf(object).includes(value)) as T[],
    };
  }

  readonly caches: ClusterCaches = {
    clusters: this.cache<Cluster>('Cluster'),
    pods: this.cache('Pod'),
    services: this.cache('Service'),
    secrets: this.cache('Secret'),
    claims: this.cache('PersistentVolumeClaim'),
    deployments: this.cache('Deployment'),
    cells: this.cache('Cell'),
  };

  /** Starts the processes of one component's pods, as a kubelet would report them before their probes pass. */
  startPodsOf(component: string): void {
    for (const pod of this.list<StoredObject & { spec?: PodSpecOfImages }>('Pod')) {
      if (pod.metadata?.labels?.['tessera.dev/component'] === component) this.put({ ...pod, status: runningStatus(pod.spec, false) });
    }
  }

  /** Plays the kubelet and the Deployment controller: every pod Ready, every Deployment rolled out with pods at its template. */
  runEverything(clusterName: string): void {
    for (const pod of this.list<StoredObject & { spec?: PodSpecOfImages }>('Pod')) {
      this.put({ ...pod, status: runningStatus(pod.spec) });
    }
    for (const deployment of this.list<StoredObject & { spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpecOfImages } } }>('Deployment')) {
      const replicas = deployment.spec.replicas;
      this.put({ ...deployment, status: { observedGeneration: deployment.metadata?.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas } });
      const labels = deployment.spec.template.metadata.labels;
      for (const pod of this.list<StoredObject>('Pod')) {
        if (pod.metadata?.labels?.['tessera.dev/component'] === labels['tessera.dev/component'] && pod.metadata?.labels?.['tessera.dev/cluster'] === clusterName) this.objects.delete(this.key('Pod', pod.metadata?.namespace, pod.metadata?.name));
      }
      for (let index = 0; index < replicas; index++) {
        this.put({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `${deployment.metadata?.name}-${index}`, namespace: deployment.metadata?.namespace, labels },
          spec: structuredClone(deployment.spec.template.spec),
          status: runningStatus(deployment.spec.template.spec),
        });
      }
    }
  }
}

type PodSpecOfImages = { initContainers?: { name: string; image: string }[]; containers: { name: string; image: string }[] };

/** A pod's status once every container (sidecars included) runs, and has passed its probes when `ready`, as a kubelet reports it. */
function runningStatus(spec: PodSpecOfImages | undefined, ready = true): Record<string, unknown> {
  const statuses = (containers: { name: string; image: string }[] | undefined) => (containers ?? []).map(({ name, image }) => ({ name, image, ready, started: ready, restartCount: 0, state: { running: {} } }));
  return { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], initContainerStatuses: statuses(spec?.initContainers), containerStatuses: statuses(spec?.containers) };
}

/** FAKE etcd: answers with a member per Ready etcd pod of the fake meta cluster. */
export function fakeEtcd(meta: FakeMetaCluster, options: { fail?: boolean } = {}): () => EtcdApi {
  return () => ({
    listMembers: async (): Promise<EtcdMember[]> => {
      if (options.fail) throw new Error('etcd gateway: connection refused');
      return meta
        .list<{ metadata: { name: string; labels?: Record<string, string> }; status?: { conditions?: { type: string; status: string }[] } }>('Pod')
        .filter((pod) => pod.metadata.labels?.['tessera.dev/component'] === 'etcd' && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((pod, index) => ({ id: String(index + 1), name: pod.metadata.name, peerURLs: [], clientURLs: [], isLearner: false }));
    },
    addMember: async (peerURL) => ({ id: '99', name: '', peerURLs: [peerURL], clientURLs: [], isLearner: false }),
    removeMember: async () => {},
  });
}

type GuestObjectRecord = { kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };

/** FAKE guest API: /readyz as set, and a store of what was applied inside the guest. */
export class FakeGuest {
  ready = true;
  readonly objects = new Map<string, GuestObjectRecord>();
  /** Throw from here to make an apply into the guest fail. */
  failApply: (path: string) => void = () => {};

  readonly api: GuestApi = {
    readyz: async () => (this.ready ? { ready: true, detail: '200 ok' } : { ready: false, detail: 'connect ECONNREFUSED' }),
    client: {
      get: async <T>(path: string, query?: Record<string, unknown>) => {
        const selector = query?.['labelSelector'] as string | undefined;
        const resource = path.split('?')[0]?.split('/').pop() ?? '';
        const items = [...this.objects.entries()].filter(([key, object]) => key.startsWith(`${resource}/`) && matchesSelector(object as StoredObject, selector)).map(([, object]) => object);
        return { items } as T;
      },
      apply: async <T>(path: string, body: unknown) => {
        this.failApply(path);
        const object = body as GuestObjectRecord;
        const resource = path.split('/').slice(-2)[0] ?? '';
        this.objects.set(`${resource}/${object.metadata?.namespace ?? ''}/${object.metadata?.name}`, structuredClone(object));
        return body as T;
      },
      delete: async <T>(path: string) => {
        const segments = path.split('/');
        const name = segments.pop() ?? '';
        const resource = segments.pop() ?? '';
        const namespace = segments.at(-2) === 'namespaces' ? (segments.at(-1) ?? '') : '';
        this.objects.delete(`${resource}/${namespace}/${decodeURIComponent(name)}`);
        return {} as T;
      },
      create: async <T>(_path: string, body: unknown) => body as T,
      patch: async <T>(_path: string, body: unknown) => body as T,
    },
  };

  has(resource: string, namespace: string, name: string): boolean {
    return this.objects.has(`${resource}/${namespace}/${name}`);
  }
}
