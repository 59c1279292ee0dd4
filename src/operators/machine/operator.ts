// The Node operator process: informers over Machines, Clusters and ClusterPackageVersions; one
// controller keyed by Machine (a Cluster's change requeues its Machines) and one keyed by Cluster
// that keeps its ClusterPackageVersion. Runs in-process with `tessera up` and in the standalone
// operator process; what differs between them (where package archives come from, the node
// fabric) comes in through the options.
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { clusterPackageVersionResource, type ClusterPackageVersion } from '../../api/v1alpha1/cluster-package-version.ts';
import { machineResource, type Machine } from '../../api/v1alpha1/machine.ts';
import { Controller } from '../../controller/controller.ts';
import { EventRecorder } from '../../controller/events.ts';
import { addFinalizer, removeFinalizer } from '../../controller/finalizers.ts';
import { BY_CLUSTER, clusterKey, machineClusterKey } from './machine-index.ts';
import { SharedInformers, objectKey, type Informer } from '../../controller/informer.ts';
import type { Logger } from '../../controller/logger.ts';
import type { ControllerMetrics } from '../../controller/metrics.ts';
import { isAlreadyExists, isNotFound, resourcePath, type RestClient } from '../../controller/rest-client.ts';
import { applyStatus, semanticEqual } from '../../controller/status.ts';
import { sshConnector } from './ssh-connection.ts';
import { guestConnector, secretReader } from './guest-api.ts';
import { MACHINE_FINALIZER, MachineReconciler } from './reconciler.ts';
import { ensurePackageVersion, nextPackageVersionStatus, packageVersionInputs } from './cluster-package-version.ts';
import type { ArtifactSource, MetaApi, NodeFabric } from './machine-pass.ts';
import type { RemediationSettings } from './remediation-policy.ts';
import { TERMINAL_PHASES, type NodeRolloutState, type PackageRollout } from '../../api/v1alpha1/package-rollout.ts';

/** Per-Machine rollout states in which the rollout, not remediation, decides what the host runs. */
const ROLLOUT_OWNS_MACHINE: readonly NodeRolloutState[] = ['Draining', 'Upgrading', 'Verifying', 'Soaking', 'Failed', 'RollingBack'];

export const MACHINE_FIELD_MANAGER = 'tessera-machine-operator';


export type MachineOperatorOptions = {
  client: RestClient;
  logger: Logger;
  /** The process's shared informers; absent: this operator's own. */
  informers?: SharedInformers;
  artifacts: ArtifactSource;
  fabric?: NodeFabric;
  metrics?: ControllerMetrics;
  workers?: number;
  remediation?: RemediationSettings;
  healthCheckPeriodMs?: number;
};

const machinePath = (namespace: string, name?: string) => resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: machineResource.plural, namespace, name });
const packageVersionPath = (namespace: string, name?: string) => resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: clusterPackageVersionResource.plural, namespace, name });

export class MachineOperator {
  readonly machines: Informer<Machine>;
  readonly clusters: Informer<Cluster>;
  readonly packageVersions: Informer<ClusterPackageVersion>;
  readonly controller: Controller;
  readonly packageVersionController: Controller;

  constructor(options: MachineOperatorOptions) {
    const { client, logger } = options;
    const onError = (error: unknown) => logger.warn('informer error', { error: (error as Error).message });
    const informers = options.informers ?? new SharedInformers(client);
    this.machines = informers.informer<Machine>('/apis/tessera.dev/v1alpha1/machines', { onError });
    this.clusters = informers.informer<Cluster>('/apis/tessera.dev/v1alpha1/clusters', { onError });
    this.packageVersions = informers.informer<ClusterPackageVersion>('/apis/tessera.dev/v1alpha1/clusterpackageversions', { onError });
    this.machines.addIndexer(BY_CLUSTER, machineClusterKey);
    const events = new EventRecorder(client, MACHINE_FIELD_MANAGER, undefined, onError);
    // Items of a list carry no kind: a Machine is known by its spec.clusterName.
    const target = (object: Machine | Cluster) => ({ apiVersion: machineResource.apiVersion, kind: 'clusterName' in object.spec ? 'Machine' : 'Cluster', name: object.metadata.name, namespace: object.metadata.namespace, uid: object.metadata.uid });
    const readSecret = secretReader(client);
    const meta: MetaApi = {
      getCluster: async (namespace, name) => this.clusters.get(`${namespace}/${name}`),
      readSecret: async (namespace, name) => (await readSecret(namespace, name))?.data,
      listMachines: (namespace, clusterName) => this.machines.byIndex(BY_CLUSTER, clusterKey(namespace, clusterName)),
      getPackageVersion: async (namespace, name) => {
        const cached = this.packageVersions.get(`${namespace}/${name}`);
        if (cached) return cached;
        try {
          return await client.get<ClusterPackageVersion>(packageVersionPath(namespace, name));
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      },
      createPackageVersion: async (object) => {
        try {
          await client.create(packageVersionPath(object.metadata.namespace ?? 'default'), { ...object, status: undefined });
        } catch (error) {
          if (!isAlreadyExists(error)) throw error;
        }
      },
      rolloutChanging: async (namespace, clusterName, machineName) => {
        const list = await client.get<{ items: PackageRollout[] }>(resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'packagerollouts', namespace }));
        for (const rollout of list.items) {
          if (rollout.spec.clusterName !== clusterName || TERMINAL_PHASES.includes(rollout.status?.phase ?? '')) continue;
          const node = rollout.status?.nodes?.find((entry) => entry.machine === machineName);
          if (node && ROLLOUT_OWNS_MACHINE.includes(node.state)) return `PackageRollout ${rollout.metadata.name} (${rollout.spec.package.name} ${node.toVersion}, ${node.state})`;
        }
        return undefined;
      },
      writeClusterConditions: async (cluster, conditions) =>
        (await applyStatus(client, { path: resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace: cluster.metadata.namespace ?? 'default', name: cluster.metadata.name }), apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', current: cluster, status: { conditions: conditions as never }, fieldManager: MACHINE_FIELD_MANAGER })).written,
      writeStatus: async (machine, status) => (await applyStatus(client, { path: machinePath(machine.metadata.namespace ?? 'default', machine.metadata.name), apiVersion: machineResource.apiVersion, kind: 'Machine', current: machine, status, fieldManager: MACHINE_FIELD_MANAGER })).written,
      setOwner: async (machine, cluster) => {
        const owner = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name: cluster.metadata.name, uid: cluster.metadata.uid ?? '', blockOwnerDeletion: false };
        const others = (machine.metadata.ownerReferences ?? []).filter((reference) => !(reference.kind === 'Cluster' && reference.apiVersion === owner.apiVersion));
        await client.patch(machinePath(machine.metadata.namespace ?? 'default', machine.metadata.name), { metadata: { ownerReferences: [...others, owner] } }, 'merge');
      },
      addFinalizer: (machine) => addFinalizer(client, machinePath(machine.metadata.namespace ?? 'default', machine.metadata.name), machine, MACHINE_FINALIZER),
      removeFinalizer: async (machine) => {
        await removeFinalizer(client, machinePath(machine.metadata.namespace ?? 'default', machine.metadata.name), machine, MACHINE_FINALIZER);
      },
    };
    const reconciler = new MachineReconciler(
      {
        meta,
        connect: sshConnector(),
        guests: guestConnector(readSecret),
        artifacts: options.artifacts,
        fabric: options.fabric,
        events: { normal: (machine, reason, message) => events.normal(target(machine), reason, message), warning: (machine, reason, message) => events.warning(target(machine), reason, message) },
        logger: logger.child({ controller: 'machine' }),
        remediation: options.remediation,
        healthCheckPeriodMs: options.healthCheckPeriodMs,
      },
      (key) => this.machines.get(key),
    );
    this.controller = new Controller({ name: 'machine', reconcile: (key) => reconciler.reconcile(key), workers: options.workers ?? 16, metrics: options.metrics, logger });
    this.controller.watch(this.machines);
    this.controller.watch(this.clusters, (cluster) => this.machines.byIndex(BY_CLUSTER, objectKey(cluster)).map((machine) => objectKey(machine)));

    // One ClusterPackageVersion per Cluster, with its status (validity, revisions).
    this.packageVersionController = new Controller({
      name: 'clusterpackageversion',
      workers: 2,
      metrics: options.metrics,
      logger,
      reconcile: async (key) => {
        const cluster = this.clusters.get(key);
        if (!cluster || cluster.metadata.deletionTimestamp) return;
        const now = new Date();
        await ensurePackageVersion(meta, cluster, now);
        const current = this.packageVersions.get(key);
        if (!current) return { requeueAfter: 1_000 };
        const status = nextPackageVersionStatus(current, cluster, now);
        if (!semanticEqual(status.revisions, current.status?.revisions) || !semanticEqual(status.conditions?.map((c) => [c.type, c.status, c.message]), current.status?.conditions?.map((c) => [c.type, c.status, c.message])) || status.observedGeneration !== current.status?.observedGeneration) {
          await applyStatus(client, { path: packageVersionPath(current.metadata.namespace ?? 'default', current.metadata.name), apiVersion: clusterPackageVersionResource.apiVersion, kind: 'ClusterPackageVersion', current, status, fieldManager: MACHINE_FIELD_MANAGER });
        }
      },
    });
    // Only what the set and its validity follow: the Cluster's versions and its deletion, not every status write.
    this.packageVersionController.watch(this.clusters, undefined, {
      predicate: ({ type, object, old }) => type !== 'update' || old === undefined || !semanticEqual(packageVersionInputs(old), packageVersionInputs(object)),
    });
    this.packageVersionController.watch(this.packageVersions, (object) => [objectKey(object)]);
  }

  async start(): Promise<void> {
    await Promise.all([this.controller.start(), this.packageVersionController.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.controller.stop(), this.packageVersionController.stop()]);
    await Promise.all([this.machines.stop(), this.clusters.stop(), this.packageVersions.stop()]);
  }
}
