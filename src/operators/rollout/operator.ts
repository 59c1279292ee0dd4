// The package-rollout operator: informers over PackageRollouts, Clusters, Machines and
// ClusterPackageVersions; one controller keyed by rollout. A change of a Machine, a Cluster or a
// ClusterPackageVersion requeues the rollouts of that Cluster, and a rollout's change requeues
// the other rollouts of its Cluster (the one waiting behind it starts when it finishes). Runs
// in-process with `tessera up` and in the standalone operator process.
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { clusterPackageVersionResource, type ClusterPackageVersion } from '../../api/v1alpha1/cluster-package-version.ts';
import { machineResource, type Machine } from '../../api/v1alpha1/machine.ts';
import { packageRolloutResource, type PackageRollout } from '../../api/v1alpha1/package-rollout.ts';
import { Controller } from '../../controller/controller.ts';
import { EventRecorder } from '../../controller/events.ts';
import { addFinalizer, removeFinalizer } from '../../controller/finalizers.ts';
import { SharedInformers, objectKey, type Informer } from '../../controller/informer.ts';
import type { Logger } from '../../controller/logger.ts';
import type { ControllerMetrics } from '../../controller/metrics.ts';
import { isNotFound, resourcePath, type RestClient } from '../../controller/rest-client.ts';
import { applyStatus } from '../../controller/status.ts';
import { guestConnector, secretReader } from '../machine/guest-api.ts';
import { BY_CLUSTER, clusterKey, machineClusterKey } from '../machine/machine-index.ts';
import { RolloutReconciler, ROLLOUT_FINALIZER } from './reconciler.ts';
import { ROLLOUT_FIELD_MANAGER, type RolloutMetaApi } from './rollout-pass.ts';
import { fetchGet } from './verification.ts';


export type RolloutOperatorOptions = { client: RestClient; logger: Logger; metrics?: ControllerMetrics; workers?: number; informers?: SharedInformers };

const path = (plural: string, namespace: string, name?: string) => resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: plural, namespace, name });

export class RolloutOperator {
  readonly rollouts: Informer<PackageRollout>;
  readonly clusters: Informer<Cluster>;
  readonly machines: Informer<Machine>;
  readonly packageVersions: Informer<ClusterPackageVersion>;
  readonly controller: Controller;

  constructor(options: RolloutOperatorOptions) {
    const { client, logger } = options;
    const onError = (error: unknown) => logger.warn('informer error', { error: (error as Error).message });
    const informers = options.informers ?? new SharedInformers(client);
    this.rollouts = informers.informer<PackageRollout>(`/apis/tessera.dev/v1alpha1/${packageRolloutResource.plural}`, { onError });
    this.clusters = informers.informer<Cluster>('/apis/tessera.dev/v1alpha1/clusters', { onError });
    this.machines = informers.informer<Machine>(`/apis/tessera.dev/v1alpha1/${machineResource.plural}`, { onError });
    this.packageVersions = informers.informer<ClusterPackageVersion>(`/apis/tessera.dev/v1alpha1/${clusterPackageVersionResource.plural}`, { onError });
    this.rollouts.addIndexer(BY_CLUSTER, (rollout) => [clusterKey(rollout.metadata.namespace, rollout.spec.clusterName)]);
    this.machines.addIndexer(BY_CLUSTER, machineClusterKey);
    const events = new EventRecorder(client, ROLLOUT_FIELD_MANAGER, undefined, onError);
    const target = (rollout: PackageRollout) => ({ apiVersion: packageRolloutResource.apiVersion, kind: packageRolloutResource.kind, name: rollout.metadata.name, namespace: rollout.metadata.namespace, uid: rollout.metadata.uid });
    const readSecret = secretReader(client);
    // The resourceVersion of each rollout's last status write: a cached object older than that
    // would replay decisions already taken (e.g. read a Node this operator cordoned as cordoned by
    // someone else), so such a rollout is read from the API server instead.
    const written = new Map<string, number>();
    const currentRollout = async (key: string): Promise<PackageRollout | undefined> => {
      const cached = this.rollouts.get(key);
      const last = written.get(key);
      if (!cached || last === undefined || Number(cached.metadata.resourceVersion) >= last) return cached;
      try {
        return await client.get<PackageRollout>(path(packageRolloutResource.plural, cached.metadata.namespace ?? 'default', cached.metadata.name));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    };
    const meta: RolloutMetaApi = {
      getCluster: (namespace, name) => this.clusters.get(`${namespace}/${name}`),
      listMachines: (namespace, clusterName) => this.machines.byIndex(BY_CLUSTER, clusterKey(namespace, clusterName)),
      listRollouts: (namespace, clusterName) => this.rollouts.byIndex(BY_CLUSTER, clusterKey(namespace, clusterName)),
      getPackageVersion: (namespace, name) => this.packageVersions.get(`${namespace}/${name}`),
      writeStatus: async (rollout, status) => {
        const result = await applyStatus(client, { path: path(packageRolloutResource.plural, rollout.metadata.namespace ?? 'default', rollout.metadata.name), apiVersion: packageRolloutResource.apiVersion, kind: packageRolloutResource.kind, current: rollout, status, fieldManager: ROLLOUT_FIELD_MANAGER });
        if (result.written) written.set(objectKey(rollout), Number(result.object.metadata.resourceVersion));
        return result.written;
      },
      applyMachinePackage: async (machine, name, version) => {
        // Only this manager's entry: applying without it releases it (a person's own entries stay).
        const body = { apiVersion: machineResource.apiVersion, kind: machineResource.kind, metadata: { name: machine.metadata.name, namespace: machine.metadata.namespace }, spec: version === undefined ? {} : { packages: [{ name, version }] } };
        await client.apply(path(machineResource.plural, machine.metadata.namespace ?? 'default', machine.metadata.name), body, ROLLOUT_FIELD_MANAGER, true);
      },
      setPackageVersion: async (object, name, version) => {
        const index = object.spec.packages.findIndex((entry) => entry.name === name);
        // A JSON patch guarded by a test: exactly this entry changes, and only if it is still where it was read.
        const patch = index >= 0 ? [{ op: 'test', path: `/spec/packages/${index}/name`, value: name }, { op: 'replace', path: `/spec/packages/${index}/version`, value: version }] : [{ op: 'add', path: '/spec/packages/-', value: { name, version } }];
        await client.patch(path(clusterPackageVersionResource.plural, object.metadata.namespace ?? 'default', object.metadata.name), patch, 'json');
      },
      addFinalizer: (rollout) => addFinalizer(client, path(packageRolloutResource.plural, rollout.metadata.namespace ?? 'default', rollout.metadata.name), rollout, ROLLOUT_FINALIZER),
      removeFinalizer: async (rollout) => {
        await removeFinalizer(client, path(packageRolloutResource.plural, rollout.metadata.namespace ?? 'default', rollout.metadata.name), rollout, ROLLOUT_FINALIZER);
      },
    };
    const reconciler = new RolloutReconciler(
      {
        meta,
        guests: guestConnector(readSecret),
        httpGet: fetchGet,
        events: { normal: (rollout, reason, message) => events.record(target(rollout), 'Normal', reason, message).catch(onError), warning: (rollout, reason, message) => events.record(target(rollout), 'Warning', reason, message).catch(onError) },
        logger: logger.child({ controller: 'packagerollout' }),
      },
      currentRollout,
    );
    this.controller = new Controller({ name: 'packagerollout', reconcile: (key) => reconciler.reconcile(key), workers: options.workers ?? 4, metrics: options.metrics, logger });
    const rolloutsOf = (namespace: string | undefined, clusterName: string) => this.rollouts.byIndex(BY_CLUSTER, clusterKey(namespace, clusterName)).map((rollout) => objectKey(rollout));
    this.controller.watch(this.rollouts, (rollout) => rolloutsOf(rollout.metadata.namespace, rollout.spec.clusterName));
    this.controller.watch(this.machines, (machine) => rolloutsOf(machine.metadata.namespace, machine.spec.clusterName));
    this.controller.watch(this.clusters, (cluster) => rolloutsOf(cluster.metadata.namespace, cluster.metadata.name ?? ''));
    this.controller.watch(this.packageVersions, (object) => rolloutsOf(object.metadata.namespace, object.spec.clusterName));
  }

  async start(): Promise<void> {
    await this.controller.start();
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await Promise.all([this.rollouts.stop(), this.clusters.stop(), this.machines.stop(), this.packageVersions.stop()]);
  }
}
