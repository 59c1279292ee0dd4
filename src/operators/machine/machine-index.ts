// Machines indexed by their Cluster's key (`<namespace>/<clusterName>`). One function for the
// Node and rollout operators: on a shared informer they share the index too.
import type { Machine } from '../../api/v1alpha1/machine.ts';

export const BY_CLUSTER = 'cluster';

export const clusterKey = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

export function machineClusterKey(machine: Machine): string[] {
  return [clusterKey(machine.metadata.namespace, machine.spec.clusterName)];
}
