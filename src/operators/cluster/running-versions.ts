// What versions actually run: read from the images of live pods and Deployments, never from the
// spec. status.versions and the upgrade plan both come from here.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { oldestVersion, parseVersion } from '../../api/v1alpha1/version-catalogue.ts';
import type { StepObservation } from './upgrade-plan.ts';

/** "1.37.2" of "registry.k8s.io/kube-apiserver:v1.37.2", "3.7.3" of "registry.k8s.io/etcd:3.7.3-0". */
export function versionOfImage(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const tag = image.slice(image.lastIndexOf(':') + 1);
  if (tag === image || tag.includes('/')) return undefined;
  const parsed = parseVersion(tag);
  return parsed ? `${parsed.major}.${parsed.minor}.${parsed.patch}` : undefined;
}

export function isPodReady(pod: V1Pod | undefined): boolean {
  return Boolean(pod?.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'));
}

/**
 * The version a pod runs: the image of `container` (a sidecar or not; else its first container)
 * as the kubelet reports it, else as specified.
 */
export function podVersion(pod: V1Pod, container?: string): string | undefined {
  const named = <T extends { name: string }>(list: readonly T[]) => list.find((item) => item.name === container);
  const status = container === undefined ? pod.status?.containerStatuses?.[0] : named([...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]);
  const spec = container === undefined ? pod.spec?.containers[0] : named([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]);
  return versionOfImage(status?.image) ?? versionOfImage(spec?.image);
}

/**
 * A step that is one container of a Deployment's pods: its version in the template, in the pods,
 * and whether the rollout is done.
 */
export function observeDeployment(deployment: V1Deployment | undefined, pods: readonly V1Pod[], container: string): StepObservation {
  const template = deployment?.spec?.template.spec;
  const rendered = versionOfImage([...(template?.initContainers ?? []), ...(template?.containers ?? [])].find((item) => item.name === container)?.image);
  const running = pods.map((pod) => podVersion(pod, container)).filter((version): version is string => version !== undefined);
  const wanted = deployment?.spec?.replicas ?? 0;
  const status = deployment?.status;
  const rolledOut =
    deployment !== undefined &&
    (status?.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0) &&
    (status?.updatedReplicas ?? 0) === wanted &&
    (status?.readyReplicas ?? 0) >= wanted &&
    (status?.replicas ?? 0) === wanted;
  return { rendered, running, rolledOut, wanted };
}

/** etcd: one pod per member; rendered is the oldest member's version. */
export function observeEtcdMembers(pods: readonly V1Pod[], memberCount: number): StepObservation {
  const running = pods.map((pod) => podVersion(pod)).filter((version): version is string => version !== undefined);
  const rendered = oldestVersion(running);
  const ready = pods.filter((pod) => isPodReady(pod) && !pod.metadata?.deletionTimestamp);
  return {
    rendered,
    running,
    rolledOut: pods.length === memberCount && ready.length === memberCount,
    wanted: memberCount,
  };
}

/** "1.37.2" when every pod runs it (in `container`), "1.36.3" (the oldest) while they differ; undefined without pods. */
export function reportedVersion(pods: readonly V1Pod[], container?: string): string | undefined {
  return oldestVersion(pods.filter((pod) => !pod.metadata?.deletionTimestamp).map((pod) => podVersion(pod, container)).filter((version): version is string => version !== undefined));
}
