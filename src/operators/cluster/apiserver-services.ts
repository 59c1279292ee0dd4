// The two Services in front of a guest's API servers (seed 002): `<c>-kube-apiserver`, a
// ClusterIP Service for kubelets and users (its address is in the serving certificate), and the
// headless `<c>-kube-apiserver-internal`, through which the guest's controller-manager and
// scheduler reach a ready API server directly.
import type { V1Service } from '@kubernetes/client-node';
import { apiServerInternalServiceName, apiServerServiceName, componentSelector, legacyApiServerSelector } from './names.ts';
import { ownedObjectMeta, type RenderContext } from './render-context.ts';
import { API_SERVER_PORT } from './apiserver-container.ts';

const ports = [{ name: 'https', port: API_SERVER_PORT, targetPort: API_SERVER_PORT, protocol: 'TCP' }];

/** The pods that serve the guest's API: the control-plane pods, or an older operator's while they are the only ones. */
function apiServerPods(context: RenderContext): Record<string, string> {
  const clusterName = context.cluster.metadata.name;
  return context.legacyApiServerPods ? legacyApiServerSelector(clusterName) : componentSelector(clusterName, 'control-plane');
}

export function renderApiServerService(context: RenderContext): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedObjectMeta(context, apiServerServiceName(context.cluster.metadata.name), 'kube-apiserver'),
    spec: {
      type: 'ClusterIP',
      // Once allocated, the address is rendered back: a Service recreated after a deletion gets
      // the same one, which the API server's certificate names.
      ...(context.apiServerServiceIP ? { clusterIP: context.apiServerServiceIP } : {}),
      selector: apiServerPods(context),
      ports: ports.map((port) => ({ ...port })),
    },
  };
}

export function renderApiServerInternalService(context: RenderContext): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedObjectMeta(context, apiServerInternalServiceName(context.cluster.metadata.name), 'kube-apiserver'),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: false,
      selector: apiServerPods(context),
      ports: ports.map((port) => ({ ...port })),
    },
  };
}
