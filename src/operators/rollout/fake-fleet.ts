// An in-memory meta cluster, guest and Node operator for the rollout's unit tests: Machines whose
// hosts install whatever their spec and the ClusterPackageVersion ask for when the fake Node
// operator runs (tick), guest Nodes that report the kubelet they run, a version that never becomes
// healthy, and writes that can be made to fail at the Nth call, the way a killed operator stops.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import type { ClusterPackageVersion } from '../../api/v1alpha1/cluster-package-version.ts';
import type { Machine } from '../../api/v1alpha1/machine.ts';
import type { PackageRollout, PackageRolloutSpec } from '../../api/v1alpha1/package-rollout.ts';
import { formatConditionTime } from '../../controller/conditions.ts';
import { Logger } from '../../controller/logger.ts';
import type { GuestApi } from '../machine/machine-pass.ts';
import type { RolloutEvent } from './progress.ts';
import type { RolloutMetaApi, RolloutReconcilerOptions } from './rollout-pass.ts';

export class KilledError extends Error {}

export class FakeFleet {
  now = new Date('2027-01-01T00:00:00Z');
  readonly machines = new Map<string, Machine>();
  readonly nodes = new Map<string, V1Node>();
  readonly rollouts = new Map<string, PackageRollout>();
  readonly pods = new Map<string, V1Pod[]>();
  readonly installs: { machine: string; version: string }[] = [];
  readonly events: (RolloutEvent & { rollout: string })[] = [];
  readonly brokenVersions = new Set<string>();
  readonly blockedEvictions = new Set<string>();
  cluster: Cluster;
  packageVersion: ClusterPackageVersion;
  writes = 0;
  /** The write call (1-based, counted from now) that fails as if the operator died there. */
  killAtWrite: number | undefined;
  guestAnswers = true;
  /** Status answered to declared http checks, by URL (default 200). */
  readonly httpStatus = new Map<string, number>();

  constructor(machines: { name: string; zone: string; kubelet: string }[], defaultKubelet: string) {
    this.cluster = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'shop', namespace: 'default', uid: 'c1', generation: 1 }, spec: { version: '1.37.2', mode: 'Minimal' }, status: { adminKubeconfigSecret: 'shop-admin-kubeconfig', versions: { apiServer: '1.37.2' } } } as unknown as Cluster;
    this.packageVersion = { apiVersion: 'tessera.dev/v1alpha1', kind: 'ClusterPackageVersion', metadata: { name: 'shop', namespace: 'default', generation: 1 }, spec: { clusterName: 'shop', packages: [{ name: 'containerd', version: '2.4.2' }, { name: 'kubelet', version: defaultKubelet }] }, status: { observedGeneration: 1 } };
    for (const { name, zone, kubelet } of machines) {
      this.machines.set(name, { apiVersion: 'tessera.dev/v1alpha1', kind: 'Machine', metadata: { name, namespace: 'default', generation: 1, labels: { pool: name === 'w4' ? 'gpu' : 'general' } }, spec: { clusterName: 'shop', address: '127.0.0.1', zone, ssh: { privateKeySecretRef: { name: 'key' }, hostKey: 'ssh-ed25519 AAAA' } }, status: { nodeName: name, observedGeneration: 1, packages: [{ name: 'containerd', version: '2.4.2' }, { name: 'kubelet', version: kubelet }] } });
      this.nodes.set(name, { metadata: { name }, spec: {}, status: { nodeInfo: { kubeletVersion: `v${kubelet}` } as never, conditions: [{ type: 'Ready', status: 'True' }] } });
      this.setMachineConditions(name, true);
    }
  }

  private write(): void {
    this.writes++;
    if (this.killAtWrite !== undefined && --this.killAtWrite === 0) {
      this.killAtWrite = undefined;
      throw new KilledError('the operator was killed here');
    }
  }

  private setMachineConditions(name: string, healthy: boolean): void {
    const machine = this.machines.get(name);
    if (!machine?.status) return;
    const generation = machine.metadata.generation ?? 0;
    const time = formatConditionTime(this.now);
    machine.status.conditions = [
      { type: 'PackagesInstalled', status: 'True', reason: 'AtDeclaredVersions', message: '', lastTransitionTime: time, observedGeneration: generation },
      { type: 'Remediating', status: healthy ? 'False' : 'True', reason: healthy ? 'Healthy' : 'ServiceRestarted', message: healthy ? 'nothing to repair' : 'the kubelet does not answer /healthz: restarted containerd and the kubelet (step 1 of 3)', lastTransitionTime: time, observedGeneration: generation },
      { type: 'Ready', status: healthy ? 'True' : 'False', reason: healthy ? 'AllTrue' : 'NotAllTrue', message: '', lastTransitionTime: time, observedGeneration: generation },
    ];
  }

  /** The Node operator's pass over every Machine: install what differs from the host, observe, report. */
  tick(): void {
    for (const [name, machine] of this.machines) {
      const wanted = machine.spec.packages?.find((entry) => entry.name === 'kubelet')?.version ?? this.packageVersion.spec.packages.find((entry) => entry.name === 'kubelet')?.version ?? '';
      const record = machine.status?.packages?.find((entry) => entry.name === 'kubelet');
      if (record && record.version !== wanted) {
        record.version = wanted;
        this.installs.push({ machine: name, version: wanted });
      }
      const broken = this.brokenVersions.has(wanted);
      if (machine.status) machine.status.observedGeneration = machine.metadata.generation;
      this.setMachineConditions(name, !broken);
      const node = this.nodes.get(name);
      if (node?.status) {
        if (!broken) node.status.nodeInfo = { ...node.status.nodeInfo, kubeletVersion: `v${wanted}` } as never;
        node.status.conditions = [{ type: 'Ready', status: broken ? 'False' : 'True', message: broken ? 'Kubelet stopped posting node status.' : 'kubelet is posting ready status' }];
      }
    }
    if (this.packageVersion.status) this.packageVersion.status.observedGeneration = this.packageVersion.metadata.generation;
  }

  addRollout(name: string, spec: Partial<PackageRolloutSpec> & { package: PackageRolloutSpec['package'] }, created = '2027-01-01T00:00:00Z'): void {
    this.rollouts.set(`default/${name}`, { apiVersion: 'tessera.dev/v1alpha1', kind: 'PackageRollout', metadata: { name, namespace: 'default', generation: 1, uid: `uid-${name}`, creationTimestamp: created }, spec: { clusterName: 'shop', canary: 1, waves: ['50%', '100%'], maxUnavailable: 1, verification: { soak: '20s', timeout: '2m' }, ...spec } });
  }

  rollout(name: string): PackageRollout {
    const found = this.rollouts.get(`default/${name}`);
    if (!found) throw new Error(`no rollout ${name}`);
    return found;
  }

  cordoned(): string[] {
    return [...this.nodes.values()].filter((node) => node.spec?.unschedulable).map((node) => node.metadata?.name ?? '');
  }

  readonly meta: RolloutMetaApi = {
    getCluster: () => structuredClone(this.cluster),
    listMachines: () => [...this.machines.values()].map((machine) => structuredClone(machine)),
    listRollouts: () => [...this.rollouts.values()].map((rollout) => structuredClone(rollout)),
    getPackageVersion: () => structuredClone(this.packageVersion),
    writeStatus: async (rollout, status) => {
      const stored = this.rollout(rollout.metadata.name);
      if (JSON.stringify(stored.status) === JSON.stringify(status)) return false;
      this.write();
      stored.status = structuredClone(status);
      return true;
    },
    applyMachinePackage: async (machine, name, version) => {
      this.write();
      const stored = this.machines.get(machine.metadata.name);
      if (!stored) throw new Error(`no Machine ${machine.metadata.name}`);
      const others = (stored.spec.packages ?? []).filter((entry) => entry.name !== name);
      stored.spec.packages = version === undefined ? others : [...others, { name, version }];
      stored.metadata.generation = (stored.metadata.generation ?? 0) + 1;
    },
    setPackageVersion: async (_object, name, version) => {
      this.write();
      const entry = this.packageVersion.spec.packages.find((item) => item.name === name);
      if (entry) entry.version = version;
      this.packageVersion.metadata.generation = (this.packageVersion.metadata.generation ?? 0) + 1;
    },
    addFinalizer: async (rollout) => {
      this.write();
      const stored = this.rollout(rollout.metadata.name);
      stored.metadata.finalizers = ['tessera.dev/package-rollout'];
      return structuredClone(stored);
    },
    removeFinalizer: async (rollout) => {
      this.write();
      const stored = this.rollout(rollout.metadata.name);
      stored.metadata.finalizers = [];
      if (stored.metadata.deletionTimestamp) this.rollouts.delete(`default/${rollout.metadata.name}`);
    },
  };

  readonly guest = {
    server: 'https://guest',
    caPem: '',
    reachable: async () => this.guestAnswers,
    getNode: async (name: string) => structuredClone(this.nodes.get(name)),
    patchNode: async (name: string, patch: { unschedulable?: boolean }) => {
      this.write();
      const node = this.nodes.get(name);
      if (node && patch.unschedulable !== undefined) node.spec = { ...node.spec, unschedulable: patch.unschedulable };
    },
    podsOnNode: async (name: string) => structuredClone(this.pods.get(name) ?? []),
    evictPod: async (namespace: string, name: string) => {
      if (this.blockedEvictions.has(name)) return 'blocked' as const;
      for (const [node, pods] of this.pods) this.pods.set(node, pods.filter((pod) => pod.metadata?.name !== name));
      return 'evicted' as const;
    },
  } as unknown as GuestApi;

  options(): RolloutReconcilerOptions {
    return {
      meta: this.meta,
      guests: async () => this.guest,
      httpGet: async (url) => ({ status: this.httpStatus.get(url) ?? 200, body: 'ok' }),
      events: {
        normal: (rollout, reason, message) => {
          this.events.push({ rollout: rollout.metadata.name, type: 'Normal', reason, message });
        },
        warning: (rollout, reason, message) => {
          this.events.push({ rollout: rollout.metadata.name, type: 'Warning', reason, message });
        },
      },
      logger: new Logger({ write: () => {} }),
      now: () => this.now,
    };
  }
}
