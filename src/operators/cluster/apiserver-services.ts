// The two Services in front of a guest's API servers (seed 002): `<c>-kube-apiserver`, a
// ClusterIP Service for kubelets and users (its address is in the serving certificate), and the
// headless `<c>-kube-apiserver-internal`, through which the guest's controller-manager and
// scheduler reach a ready API server directly.
import type { V1Service } from '@kubernetes/client-node';
import { apiServerInternalServiceName, apiServerServiceName, componentSelector } from './names.ts';
import { ownedObjectMeta, type RenderContext } from './render-context.ts';
import { API_SERVER_PORT } from './apiserver-container.ts';

const ports = [{ name: 'https', port: API_SERVER_PORT, targetPort: API_SERVER_PORT, protocol: 'TCP' }];

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
      selector: componentSelector(context.cluster.metadata.name, 'control-plane'),
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
      selector: componentSelector(context.cluster.metadata.name, 'control-plane'),
      ports: ports.map((port) => ({ ...port })),
    },
  };
}
