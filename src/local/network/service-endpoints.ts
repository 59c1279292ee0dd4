// Service endpoints computed from Services and Pods, as the endpoint controllers would.
// The local meta cluster cannot use the real controllers: the API server rejects loopback
// addresses in Endpoints and EndpointSlices, and every pod IP here is a loopback address.
// The rules follow the upstream controllers: same namespace, selector match, pod not
// terminating and not finished, a pod IP, named target ports resolved per pod.
import type { V1Container, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { isSidecar } from '../runtime/pod-status.ts';

export interface ServiceEndpointPort {
  /** The Service port's name; undefined for the single unnamed port of a Service. */
  name?: string;
  /** The Service port number. */
  port: number;
  /** TCP, UDP or SCTP. */
  protocol: string;
  /** The port on the pod, resolved from a number or a container port name. */
  targetPort: number;
}

export interface ServiceEndpoint {
  ip: string;
  /** Only the Service ports this pod can serve: a named targetPort the pod lacks is left out. */
  ports: ServiceEndpointPort[];
  /**
   * The pod's Ready condition. Callers decide what to do with not-ready endpoints: a Service
   * with `publishNotReadyAddresses` publishes them too (see `endpointIsPublished`).
   */
  ready: boolean;
  podName: string;
  /** Set when the pod's spec.hostname is set and its spec.subdomain is the Service's name. */
  hostname?: string;
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Whether `labels` satisfy an equality-based Service selector. An empty selector selects nothing. */
export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const entries = Object.entries(selector);
  if (entries.length === 0) return false;
  return entries.every(([key, value]) => labels?.[key] === value);
}

// Mirrors the upstream endpoint controllers: a terminating pod is gone, and a pod that has run
// to completion under its restart policy will never serve again.
function podCanServe(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (!pod.status?.podIP) return false;
  const phase = pod.status.phase;
  switch (pod.spec?.restartPolicy) {
    case 'Never':
      return phase !== 'Failed' && phase !== 'Succeeded';
    case 'OnFailure':
      return phase !== 'Succeeded';
    default:
      return true;
  }
}

// Sidecars (init containers that keep running) may serve ports too, as upstream FindPort allows.
function servingContainers(pod: V1Pod): V1Container[] {
  const sidecars = (pod.spec?.initContainers ?? []).filter(isSidecar);
  return [...(pod.spec?.containers ?? []), ...sidecars];
}

/** The pod port a Service port targets, or undefined when a named targetPort is not on the pod. */
export function resolveTargetPort(pod: V1Pod, servicePort: V1ServicePort): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  // The API serves an int-or-string; a numeric string is a number on the wire of older clients.
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = servicePort.protocol ?? 'TCP';
  for (const container of servingContainers(pod)) {
    for (const containerPort of container.ports ?? []) {
      if (containerPort.name === target && (containerPort.protocol ?? 'TCP') === protocol) return containerPort.containerPort;
    }
  }
  return undefined;
}

export function serviceKey(service: V1Service): string {
  return `${service.metadata?.namespace ?? 'default'}/${service.metadata?.name ?? ''}`;
}

/**
 * The endpoints of a Service, one per serving pod, sorted by pod name so that DNS answers and
 * round robin are stable. Services without a selector have none (their endpoints are set by
 * hand, which callers provide separately).
 */
export function endpointsForService(service: V1Service, pods: readonly V1Pod[]): ServiceEndpoint[] {
  const namespace = service.metadata?.namespace ?? 'default';
  const serviceName = service.metadata?.name ?? '';
  const selector = service.spec?.selector;
  if (service.spec?.type === 'ExternalName') return [];
  const endpoints: ServiceEndpoint[] = [];
  for (const pod of pods) {
    if ((pod.metadata?.namespace ?? 'default') !== namespace) continue;
    if (!selectorMatches(selector, pod.metadata?.labels)) continue;
    if (!podCanServe(pod)) continue;
    const ports: ServiceEndpointPort[] = [];
    for (const servicePort of service.spec?.ports ?? []) {
      const targetPort = resolveTargetPort(pod, servicePort);
      if (targetPort === undefined) continue;
      const port: ServiceEndpointPort = { port: servicePort.port, protocol: servicePort.protocol ?? 'TCP', targetPort };
      if (servicePort.name) port.name = servicePort.name;
      ports.push(port);
    }
    const endpoint: ServiceEndpoint = {
      ip: pod.status?.podIP ?? '',
      ports,
      ready: isPodReady(pod),
      podName: pod.metadata?.name ?? '',
    };
    const hostname = pod.spec?.hostname;
    if (hostname && pod.spec?.subdomain === serviceName) endpoint.hostname = hostname;
    endpoints.push(endpoint);
  }
  return endpoints.sort((a, b) => (a.podName < b.podName ? -1 : a.podName > b.podName ? 1 : 0));
}

/**
 * Whether an endpoint is published (in DNS, to proxies). The upstream controllers mark every
 * endpoint ready when the Service sets publishNotReadyAddresses; StatefulSet peers such as
 * etcd members rely on it to find each other before any of them is Ready.
 */
export function endpointIsPublished(service: V1Service, endpoint: ServiceEndpoint): boolean {
  return endpoint.ready || service.spec?.publishNotReadyAddresses === true;
}
