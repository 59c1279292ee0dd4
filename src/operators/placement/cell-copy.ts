// What a remote cell holds for a global Cluster, and what comes back. Pure: the copy carries the
// effective spec (profile merged, placement and profile removed, so the cell's own Cluster
// operator provisions it unchanged and nothing there places it again); the status coming back is
// everything the cell's operator reports.
import type { Cluster, ClusterSpec, ClusterStatus } from '../../api/v1alpha1/cluster.ts';
import { FleetAnnotation, FleetLabel } from './status.ts';

export function renderCellCopy(cluster: Cluster, effective: ClusterSpec): Cluster {
  const spec: ClusterSpec = structuredClone(effective);
  delete spec.placement;
  delete spec.profile;
  return {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'Cluster',
    metadata: {
      name: cluster.metadata.name,
      namespace: cluster.metadata.namespace ?? 'default',
      labels: { [FleetLabel.globalUid]: cluster.metadata.uid ?? '' },
      annotations: { [FleetAnnotation.globalGeneration]: String(cluster.metadata.generation ?? 0) },
    },
    spec,
  };
}

/** Status fields the cell's operator owns, copied to the global Cluster (Placed and cell stay the placement controller's). */
export function statusFromCopy(copy: Cluster | undefined, globalGeneration: number | undefined): ClusterStatus {
  const source = copy?.status;
  if (!source) return {};
  const status: ClusterStatus = {};
  for (const field of ['phase', 'endpoint', 'versions', 'etcdMembers', 'certificates', 'tier', 'load', 'adminKubeconfigSecret'] as const) {
    if (source[field] !== undefined) (status as Record<string, unknown>)[field] = structuredClone(source[field]);
  }
  if (source.conditions) status.conditions = source.conditions.map((condition) => ({ ...condition, observedGeneration: globalGeneration }));
  // The copy's generation moves with every spec write we make; it has caught up when its
  // operator observed the generation that carries the global generation we wrote.
  const caughtUp = copy.metadata.generation !== undefined && source.observedGeneration === copy.metadata.generation && copy.metadata.annotations?.[FleetAnnotation.globalGeneration] === String(globalGeneration);
  if (caughtUp && globalGeneration !== undefined) status.observedGeneration = globalGeneration;
  return status;
}
