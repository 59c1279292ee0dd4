// One ClusterPackageVersion per Cluster, named after it: created with the catalogue's defaults
// for the guest's Kubernetes version, owned by the Cluster (deleted with it). Its status records
// whether the set is valid and the last package sets it held.
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { clusterPackageVersionResource, KEPT_PACKAGE_REVISIONS, type ClusterPackageVersion, type ClusterPackageVersionStatus } from '../../api/v1alpha1/cluster-package-version.ts';
import { semanticEqual } from '../../controller/status.ts';
import { setCondition as setConditionIn } from '../../controller/conditions.ts';
import { defaultPackages, planPackages } from './package-plan.ts';
import type { MetaApi } from './machine-pass.ts';

export function renderPackageVersion(cluster: Cluster): ClusterPackageVersion {
  return {
    apiVersion: clusterPackageVersionResource.apiVersion,
    kind: 'ClusterPackageVersion',
    metadata: {
      name: cluster.metadata.name,
      namespace: cluster.metadata.namespace,
      labels: { 'tessera.dev/cluster': cluster.metadata.name },
      ownerReferences: [{ apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name: cluster.metadata.name, uid: cluster.metadata.uid ?? '', controller: true, blockOwnerDeletion: false }],
    } as ClusterPackageVersion['metadata'],
    spec: { clusterName: cluster.metadata.name, packages: defaultPackages(cluster.spec.version) },
  };
}

/** The Cluster's ClusterPackageVersion, created with the catalogue's defaults when missing. */
export async function ensurePackageVersion(meta: MetaApi, cluster: Cluster, now: Date): Promise<ClusterPackageVersion> {
  const namespace = cluster.metadata.namespace ?? 'default';
  const existing = await meta.getPackageVersion(namespace, cluster.metadata.name);
  if (existing) return existing;
  const created = renderPackageVersion(cluster);
  created.status = nextPackageVersionStatus(created, cluster, now);
  await meta.createPackageVersion(created);
  return created;
}

/** What of a Cluster the ClusterPackageVersion and its status are made from. */
export function packageVersionInputs(cluster: Cluster): unknown {
  return { version: cluster.spec.version, running: cluster.status?.versions?.apiServer, deleting: cluster.metadata.deletionTimestamp !== undefined };
}

/** Valid (catalogue and skew) and the revision history, newest first. */
export function nextPackageVersionStatus(object: ClusterPackageVersion, cluster: Cluster, now: Date): ClusterPackageVersionStatus {
  const status: ClusterPackageVersionStatus = structuredClone(object.status ?? {});
  const generation = object.metadata.generation ?? 0;
  const plan = planPackages(object.spec.packages, [], cluster.status?.versions?.apiServer ?? cluster.spec.version, 'spec.packages');
  status.conditions = setConditionIn(status.conditions as never, plan.ok ? { type: 'Valid', status: 'True', reason: 'InCatalogue', message: 'every package and version is in the catalogue and within the skew policy' } : { type: 'Valid', status: 'False', reason: 'Refused', message: plan.message }, generation, now) as ClusterPackageVersionStatus['conditions'];
  const revisions = status.revisions ?? [];
  const newest = revisions[0];
  if (!newest || !semanticEqual(newest.packages, object.spec.packages)) {
    revisions.unshift({ revision: (newest?.revision ?? 0) + 1, generation, time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), packages: structuredClone(object.spec.packages) });
  }
  status.revisions = revisions.slice(0, KEPT_PACKAGE_REVISIONS);
  status.observedGeneration = generation;
  return status;
}
