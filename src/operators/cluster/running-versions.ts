// What versions actually run: read from the images of live pods and Deployments, never from the
// spec. status.versions and the upgrade plan both come from here.
import type { V1Container, V1ContainerStatus, V1Deployment, V1Pod, V1PodSpec } from '@kubernetes/client-node';
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
  const status = container === undefined ? pod.status?.containerStatuses?.[0] : containerStatusOf(pod, container);
  const spec = container === undefined ? pod.spec?.containers[0] : containerOf(pod.spec, container);
  return versionOfImage(status?.image) ?? versionOfImage(spec?.image);
}

/** The container named `name` of a pod spec or template, a sidecar (init container) or not. */
export function containerOf(spec: V1PodSpec | undefined, name: string): V1Container | undefined {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].find((container) => container.name === name);
}

/** The status of the container named `name` in a pod, a sidecar or not. */
export function containerStatusOf(pod: V1Pod, name: string): V1ContainerStatus | undefined {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((status) => status.name === name);
}

/**
 * A step that is one container of a Deployment's pods: its version in the template, in the pods,
 * and whether the rollout is done.
 */
export function observeDeployment(deployment: V1Deployment | undefined, pods: readonly V1Pod[], container: string): StepObservation {
  const rendered = versionOfImage(containerOf(deployment?.spec?.template.spec, container)?.image);
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
