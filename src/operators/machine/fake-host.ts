// Fakes for the Node operator's unit tests: a host that answers the operator's scripts from an
// in-memory state (and records every command), a guest with Nodes, and a meta cluster. Scripts
// are recognised by what they write, so the tests exercise the real rendered steps.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import type { Condition } from '../../controller/conditions.ts';
import type { ClusterPackageVersion } from '../../api/v1alpha1/cluster-package-version.ts';
import type { Machine, MachineStatus } from '../../api/v1alpha1/machine.ts';
import { findPackage, installDir, type PackageDefinition } from '../../node/catalogue.ts';
import type { PackageArtifact } from '../../node/package-manifest.ts';
import { HostKeyMismatchError, HostUnreachableError, fingerprintOf, type CommandResult, type HostConnector, type HostSession } from './host-access.ts';
import { PROBE_SCRIPT } from './host-probe.ts';
import type { GuestApi, MachineBootstrapToken, MachineReconcilerOptions, MetaApi } from './machine-pass.ts';
import type { CsrVerdict, KubeletCsr } from './kubelet-csr.ts';
import { silentLogger } from '../../controller/logger.ts';

export const keyOf = (seed: string) => `ssh-ed25519 ${Buffer.from(`host key ${seed}`).toString('base64')}`;

export class FakeHost {
  hostKey: string;
  reachable = true;
  hostname: string;
  packages = new Map<string, string>();
  services = { containerd: 'missing', kubelet: 'missing' };
  kubeletJoined = false;
  kubeletServing = true;
  criServing = true;
  images = new Set<string>();
  failInstallOf: string | undefined;
  commands: string[] = [];
  uploads: string[] = [];
  onKubeletStart: () => void = () => {};

  constructor(hostname: string, hostKey = keyOf(hostname)) {
    this.hostname = hostname;
    this.hostKey = hostKey;
  }

  /** Commands other than the read-only probe: what the operator changed. */
  get changes(): string[] {
    return this.commands.filter((command) => command !== PROBE_SCRIPT);
  }

  private probe(): string {
    return [
      `hostname=${this.hostname}`,
      'cgroup=/tessera/test/' + this.hostname,
      'nodeip=10.240.0.6',
      ...[...this.packages].map(([name, version]) => `package=${JSON.stringify({ name, version, archiveSha256: 'a'.repeat(64) })}`),
      `service.containerd=${this.services.containerd}`,
      `service.kubelet=${this.services.kubelet}`,
      `kubelet.healthy=${this.services.kubelet === 'run' ? 'yes' : 'no'}`,
      `kubelet.joined=${this.kubeletJoined ? 'yes' : 'no'}`,
      `kubelet.serving=${this.kubeletServing ? 'yes' : 'no'}`,
      `cri=${this.services.containerd === 'run' && this.criServing ? 'ok' : 'no'}`,
      ...[...this.images].map((image) => `image=${image}`),
    ].join('\n');
  }

  run(script: string): CommandResult {
    this.commands.push(script);
    if (script === PROBE_SCRIPT) return { code: 0, stdout: this.probe(), stderr: '' };
    const record = /"name":"([^"]+)","version":"([^"]+)"/.exec(script);
    if (script.includes('sha256sum --check') && record) {
      if (this.failInstallOf === record[1]) return { code: 1, stdout: '', stderr: `sha256sum: WARNING: 1 computed checksum did NOT match (${record[1]})` };
      this.packages.set(record[1] ?? '', record[2] ?? '');
    }
    if (script.includes('/etc/containerd/config.toml')) this.services.containerd = 'run';
    for (const match of script.matchAll(/images import --local '([^']+)'/g)) {
      const name = /\/opt\/tessera\/([^/]+)\//.exec(match[1] ?? '')?.[1] ?? '';
      const version = this.packages.get(name) ?? '';
      const definition = findPackage(name, version);
      if (definition.activation.kind === 'containerd-images') for (const image of definition.activation.images) this.images.add(image.reference);
    }
    if (script.includes('bootstrap-kubelet.conf')) {
      this.services.kubelet = 'run';
      this.kubeletJoined = true;
      this.onKubeletStart();
    }
    if (script.includes('sv restart /etc/service/kubelet') && this.services.kubelet === 'down') this.services.kubelet = 'run';
    if (script.includes('rm -rf /opt/tessera')) {
      this.packages.clear();
      this.images.clear();
      this.services = { containerd: 'missing', kubelet: 'missing' };
      this.kubeletJoined = false;
    }
    return { code: 0, stdout: '', stderr: '' };
  }

  session(): HostSession {
    return {
      run: async (script) => this.run(script),
      upload: async (_local, remote) => void this.uploads.push(remote),
      close: () => undefined,
    };
  }
}

export function fakeConnector(hosts: Record<string, FakeHost>): HostConnector & { connections: number } {
  const connect = (async (target) => {
    connect.connections++;
    const host = hosts[target.address];
    if (!host || !host.reachable) throw new HostUnreachableError(`ssh root@${target.address}:22: connect ECONNREFUSED`);
    if (host.hostKey !== target.hostKey) throw new HostKeyMismatchError(fingerprintOf(target.hostKey), fingerprintOf(host.hostKey));
    return host.session();
  }) as HostConnector & { connections: number };
  connect.connections = 0;
  return connect;
}

export class FakeGuest implements GuestApi {
  server = 'https://10.96.0.1:6443';
  caPem = '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n';
  answers = true;
  /** Bootstrap tokens by the Machine UID they were issued for. */
  tokens = new Map<string, MachineBootstrapToken[]>();
  issuedTokens = 0;
  csrs: KubeletCsr[] = [];
  decisions: { name: string; verdict: CsrVerdict }[] = [];
  nodes = new Map<string, V1Node>();
  applied: object[] = [];
  deleted: string[] = [];

  register(name: string, ready = true): void {
    this.nodes.set(name, { metadata: { name, labels: {} }, status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date('2026-12-06T11:00:00Z') as never, message: ready ? 'kubelet is posting ready status' : 'kubelet stopped posting node status' }] } });
  }

  async reachable(): Promise<boolean> {
    return this.answers;
  }
  async getNode(name: string): Promise<V1Node | undefined> {
    return structuredClone(this.nodes.get(name));
  }
  async machineBootstrapTokens(machineUid: string): Promise<MachineBootstrapToken[]> {
    return [...(this.tokens.get(machineUid) ?? [])];
  }
  async issueMachineBootstrapToken(machineUid: string, _description: string, _now: Date, expiresAt: Date): Promise<MachineBootstrapToken> {
    const id = `tok${String(this.issuedTokens++).padStart(3, '0')}`;
    const token = { id, token: `${id}.0123456789abcdef`, expiresAt };
    this.tokens.set(machineUid, [...(this.tokens.get(machineUid) ?? []), token]);
    return token;
  }
  async deleteBootstrapToken(id: string): Promise<void> {
    for (const [uid, tokens] of this.tokens) this.tokens.set(uid, tokens.filter((token) => token.id !== id));
  }
  async pendingKubeletCsrs(): Promise<KubeletCsr[]> {
    return this.csrs.filter((csr) => !this.decisions.some((decision) => decision.name === csr.name));
  }
  async decideCsr(name: string, verdict: CsrVerdict): Promise<void> {
    this.decisions.push({ name, verdict });
  }
  async patchNode(name: string, patch: { labels?: Record<string, string | null>; annotations?: Record<string, string>; unschedulable?: boolean }): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`node ${name} not found`);
    node.metadata = { ...node.metadata, labels: { ...node.metadata?.labels, ...(patch.labels as Record<string, string>) }, annotations: { ...node.metadata?.annotations, ...patch.annotations } };
    if (patch.unschedulable !== undefined) node.spec = { ...node.spec, unschedulable: patch.unschedulable };
  }
  async deleteNode(name: string): Promise<void> {
    this.deleted.push(name);
    this.nodes.delete(name);
  }
  pods: V1Pod[] = [];
  /** Pods whose eviction a PodDisruptionBudget refuses. */
  protectedPods = new Set<string>();
  evictions: string[] = [];
  async podsOnNode(name: string): Promise<V1Pod[]> {
    return this.pods.filter((pod) => pod.spec?.nodeName === name);
  }
  async evictPod(namespace: string, name: string): Promise<'evicted' | 'blocked'> {
    if (this.protectedPods.has(`${namespace}/${name}`)) return 'blocked';
    this.evictions.push(`${namespace}/${name}`);
    this.pods = this.pods.filter((pod) => !(pod.metadata?.namespace === namespace && pod.metadata?.name === name));
    return 'evicted';
  }
  async applyObjects(objects: readonly object[]): Promise<void> {
    this.applied.push(...objects);
  }
}

export function readyCluster(name = 'shop', version = '1.37.2'): Cluster {
  return {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name, namespace: 'default', uid: 'cluster-uid' },
    spec: { version, mode: 'Minimal' },
    status: { adminKubeconfigSecret: `${name}-admin-kubeconfig`, conditions: [{ type: 'Ready', status: 'True', reason: 'AllReady', message: '', lastTransitionTime: '2026-12-06T11:00:00Z' }] },
  } as unknown as Cluster;
}

export function machineFor(name: string, address: string, hostKey: string, extra: Partial<Machine['spec']> = {}): Machine {
  return {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'Machine',
    metadata: { name, namespace: 'default', uid: `${name}-uid`, generation: 1, finalizers: ['tessera.dev/machine-cleanup'] },
    spec: { clusterName: 'shop', address, port: 22, zone: 'zone-a', ssh: { user: 'root', privateKeySecretRef: { name: `${name}-ssh-key` }, hostKey }, ...extra },
  };
}

export class FakeMeta implements MetaApi {
  clusters = new Map<string, Cluster>();
  secrets = new Map<string, Record<string, string>>();
  machines = new Map<string, Machine>();
  packageVersions = new Map<string, ClusterPackageVersion>();
  statusWrites = 0;
  finalizerRemoved: string[] = [];

  async getCluster(namespace: string, name: string): Promise<Cluster | undefined> {
    return this.clusters.get(`${namespace}/${name}`);
  }
  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    return this.secrets.get(`${namespace}/${name}`);
  }
  listMachines(namespace: string, clusterName: string): Machine[] {
    return [...this.machines.values()].filter((machine) => machine.metadata.namespace === namespace && machine.spec.clusterName === clusterName);
  }
  async getPackageVersion(namespace: string, name: string): Promise<ClusterPackageVersion | undefined> {
    return this.packageVersions.get(`${namespace}/${name}`);
  }
  async createPackageVersion(object: ClusterPackageVersion): Promise<void> {
    this.packageVersions.set(`${object.metadata.namespace}/${object.metadata.name}`, object);
  }
  /** Machine name -> the rollout changing it. */
  rollouts = new Map<string, string>();
  async rolloutChanging(_namespace: string, _clusterName: string, machineName: string): Promise<string | undefined> {
    return this.rollouts.get(machineName);
  }
  clusterConditions = new Map<string, Condition[]>();
  async writeClusterConditions(cluster: Cluster, conditions: Condition[]): Promise<boolean> {
    const key = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
    if (JSON.stringify(this.clusterConditions.get(key)) === JSON.stringify(conditions)) return false;
    this.clusterConditions.set(key, structuredClone(conditions));
    return true;
  }
  async writeStatus(machine: Machine, status: MachineStatus): Promise<boolean> {
    const key = `${machine.metadata.namespace}/${machine.metadata.name}`;
    const current = this.machines.get(key) ?? machine;
    if (JSON.stringify(current.status) === JSON.stringify(status)) return false;
    this.statusWrites++;
    this.machines.set(key, { ...current, status: structuredClone(status) });
    return true;
  }
  owners: string[] = [];
  async setOwner(machine: Machine, cluster: Cluster): Promise<void> {
    this.owners.push(`${machine.metadata.name}->${cluster.metadata.name}`);
    const key = `${machine.metadata.namespace}/${machine.metadata.name}`;
    const current = this.machines.get(key);
    if (current) this.machines.set(key, { ...current, metadata: { ...current.metadata, ownerReferences: [{ apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name: cluster.metadata.name, uid: cluster.metadata.uid ?? '' }] } });
  }
  async addFinalizer(machine: Machine): Promise<Machine> {
    return machine;
  }
  async removeFinalizer(machine: Machine): Promise<void> {
    this.finalizerRemoved.push(machine.metadata.name);
    this.machines.delete(`${machine.metadata.namespace}/${machine.metadata.name}`);
  }
}

export function fakeArtifacts(): (definition: PackageDefinition) => Promise<PackageArtifact> {
  return async (definition) => ({
    manifest: { format: 'tessera.dev/package-manifest/v1', recipe: 2, ...definition, os: 'linux', arch: 'amd64', installDir: installDir(definition.name, definition.version), files: [], source: [] },
    archive: `/cache/${definition.name}-${definition.version}.tar.gz`,
    sha256: 'a'.repeat(64),
    size: 1,
  });
}

export type RecordedEvent = { machine: string; type: 'Normal' | 'Warning'; reason: string; message: string };

export function fakeOptions(meta: FakeMeta, connect: HostConnector, guest: FakeGuest | undefined, now: () => Date): MachineReconcilerOptions & { recorded: RecordedEvent[] } {
  const recorded: RecordedEvent[] = [];
  return {
    meta,
    connect,
    guests: async () => guest,
    artifacts: fakeArtifacts(),
    fabric: { prepareHost: async () => ({ podSubnet: '10.244.1.0/24', guestObjects: [{ kind: 'Endpoints' }] }) },
    events: {
      normal: (machine, reason, message) => void recorded.push({ machine: machine.metadata.name, type: 'Normal', reason, message }),
      warning: (machine, reason, message) => void recorded.push({ machine: machine.metadata.name, type: 'Warning', reason, message }),
    },
    logger: silentLogger,
    now,
    recorded,
  };
}
