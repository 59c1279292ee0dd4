// One simulated node of the local meta cluster: it registers its Node, renews its Lease, reports
// its conditions, and runs the pods bound to it through one PodWorker each. It authenticates as
// that node (system:node:<name>), so the Node authorizer and NodeRestriction apply as they do
// to a real kubelet.
import type { V1Pod, V1Node } from '@kubernetes/client-node';
import { readdir, readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname, release, totalmem } from 'node:os';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Informer } from '../../controller/informer.ts';
import { isNotFound, isConflict, type RestClient } from '../../controller/rest-client.ts';
import type { EventRecorder } from '../../controller/events.ts';
import { PodWorker, type PodWorkerContext } from './pod-worker.ts';
import { AddressPool } from './address-pool.ts';

export type NodeAgentOptions = {
  name: string;
  zone: string;
  region: string;
  address: string;
  podRange: string;
  kubeletPort: number;
  kubeletVersion: string;
  capacity: { cpu: string; memory: string; pods: string };
  client: RestClient;
  events: EventRecorder;
  podsDirectory: string;
  worker: Omit<PodWorkerContext, 'client' | 'events' | 'nodeName' | 'hostIP' | 'podsDirectory' | 'allocateAddress' | 'releaseAddress'>;
  onError: (error: unknown) => void;
};

const leaseDurationSeconds = 40;
const leaseRenewMs = 10_000;
const statusPeriodMs = 60_000;

export class NodeAgent {
  private readonly options: NodeAgentOptions;
  private readonly workers = new Map<string, PodWorker>();
  private readonly informer: Informer<V1Pod>;
  private readonly pool: AddressPool;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly bootId = randomUUID();

  constructor(options: NodeAgentOptions) {
    this.options = options;
    this.pool = new AddressPool(options.podRange);
    this.informer = new Informer<V1Pod>(options.client, '/api/v1/pods', { fieldSelector: `spec.nodeName=${options.name}`, onError: options.onError });
  }

  get name(): string {
    return this.options.name;
  }

  private get directory(): string {
    return join(this.options.podsDirectory, this.options.name);
  }

  async start(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await this.reserveRecordedAddresses();
    await this.registerNode();
    await this.renewLease();
    this.informer.on(({ type, object }) => this.onPod(type, object));
    await this.informer.start();
    await this.collectOrphans();
    this.loops = [this.leaseLoop(), this.statusLoop()];
  }

  /** Pod addresses survive a runtime restart: re-reserve those recorded by running pods. */
  private async reserveRecordedAddresses(): Promise<void> {
    for (const uid of await readdir(this.directory).catch(() => [] as string[])) {
      try {
        const recorded = JSON.parse(await readFile(join(this.directory, uid, 'pod.json'), 'utf8')) as { podIP?: string };
        if (recorded.podIP) this.pool.reserve(uid, recorded.podIP);
      } catch {
        // a pod directory without a record has no address yet
      }
    }
  }

  /** Pods deleted from the API while the runtime was down still have processes and directories. */
  private async collectOrphans(): Promise<void> {
    const known = new Set(this.informer.list().map((pod) => pod.metadata?.uid));
    for (const uid of await readdir(this.directory).catch(() => [] as string[])) {
      if (known.has(uid)) continue;
      const orphan = new PodWorker({ metadata: { uid, name: uid } }, this.workerContext());
      await orphan.cleanup();
    }
  }

  private workerContext(): PodWorkerContext {
    return {
      ...this.options.worker,
      client: this.options.client,
      events: this.options.events,
      nodeName: this.options.name,
      hostIP: this.options.address,
      podsDirectory: this.directory,
      allocateAddress: (uid) => this.pool.allocate(uid),
      releaseAddress: (uid) => this.pool.release(uid),
    };
  }

  private onPod(type: 'add' | 'update' | 'delete', pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    let worker = this.workers.get(uid);
    if (type === 'delete') {
      // Deleted without passing through graceful termination (e.g. force delete): clean up.
      if (worker && !worker.finished) {
        worker.update({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: pod.metadata?.deletionTimestamp ?? new Date(), deletionGracePeriodSeconds: 0 } });
      }
      this.workers.delete(uid);
      return;
    }
    if (!worker) {
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
        if (!pod.metadata?.deletionTimestamp) return;
      }
      worker = new PodWorker(pod, this.workerContext());
      this.workers.set(uid, worker);
      worker.start();
    } else {
      worker.update(pod);
    }
  }

  private nodeObject(): V1Node {
    const o = this.options;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: o.name,
        labels: {
          'kubernetes.io/hostname': o.name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': o.zone,
          'topology.kubernetes.io/region': o.region,
          'node.tessera.dev/runtime': 'process',
        },
      },
      spec: {},
    };
  }

  private nodeStatus(): V1Node['status'] {
    const o = this.options;
    const now = new Date().toISOString() as unknown as Date;
    const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });
    return {
      capacity: { ...o.capacity, 'ephemeral-storage': '100Gi' },
      allocatable: { ...o.capacity, 'ephemeral-storage': '100Gi' },
      addresses: [
        { type: 'InternalIP', address: o.address },
        { type: 'Hostname', address: o.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: o.kubeletPort } },
      nodeInfo: {
        machineID: hostname(),
        systemUUID: this.bootId,
        bootID: this.bootId,
        kernelVersion: release(),
        osImage: 'Tessera process runtime',
        containerRuntimeVersion: 'tessera-process://0.1.0',
        kubeletVersion: `v${o.kubeletVersion}`,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', `host has ${Math.round(totalmem() / 2 ** 30)}GiB`),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'disk is fine'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'pids are fine'),
        condition('Ready', 'True', 'KubeletReady', 'Tessera process runtime is posting ready status'),
      ],
    };
  }

  private async registerNode(): Promise<void> {
    const client = this.options.client;
    try {
      await client.create('/api/v1/nodes', this.nodeObject());
      this.options.events.normal({ apiVersion: 'v1', kind: 'Node', name: this.options.name, uid: this.options.name }, 'RegisteredNode', `Node ${this.options.name} registered in ${this.options.zone}`);
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    await this.postStatus();
  }

  private async postStatus(): Promise<void> {
    await this.options.client.patch(`/api/v1/nodes/${this.options.name}/status`, { status: this.nodeStatus() }, 'strategic');
  }

  private async renewLease(): Promise<void> {
    const client = this.options.client;
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.options.name}`;
    // Leases want microsecond timestamps (RFC 3339 with 6 fraction digits).
    const renewTime = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const spec = { holderIdentity: this.options.name, leaseDurationSeconds, renewTime };
    try {
      await client.patch(path, { spec }, 'merge');
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const node = await client.get<V1Node>(`/api/v1/nodes/${this.options.name}`);
      await client.create('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.options.name, namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.options.name, uid: node.metadata?.uid }] },
        spec,
      });
    }
  }

  private async leaseLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await sleep(leaseRenewMs, undefined, { signal: this.abort.signal }).catch(() => {});
      if (this.abort.signal.aborted) break;
      await this.renewLease().catch(this.options.onError);
    }
  }

  private async statusLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await sleep(statusPeriodMs, undefined, { signal: this.abort.signal }).catch(() => {});
      if (this.abort.signal.aborted) break;
      await this.postStatus().catch(this.options.onError);
    }
  }

  /** Stops the agent; pods keep running (like a kubelet restart) and are adopted next start. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.informer.stop();
    await Promise.all([...this.workers.values()].map((worker) => worker.detach()));
    await Promise.all(this.loops);
  }

  podWorkers(): PodWorker[] {
    return [...this.workers.values()];
  }

  pods(): V1Pod[] {
    return this.informer.list();
  }
}
