// Draining a Node before its host is taken out: every pod but DaemonSet and mirror pods is
// evicted through the Eviction API, so PodDisruptionBudgets decide; nothing is ever deleted
// by force. Pure decision over the pods seen; the reconciler calls it until nothing is left.
import type { V1Pod } from '@kubernetes/client-node';

/** Pods a drain must move: not DaemonSet pods (they belong on every node), not mirror pods, not finished ones. */
export function podsToEvict(pods: readonly V1Pod[]): V1Pod[] {
  return pods.filter((pod) => {
    if (pod.metadata?.ownerReferences?.some((owner) => owner.kind === 'DaemonSet')) return false;
    if (pod.metadata?.annotations?.['kubernetes.io/config.mirror']) return false;
    return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
  });
}

export function podName(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}
