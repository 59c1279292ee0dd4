// The two Services in front of a guest's etcd members. The headless `<c>-etcd` gives every
// member its DNS name (the member's peer identity); it publishes members before they are ready,
// because members must find each other to become ready at all. `<c>-etcd-client` is what the
// API servers use: ready members only.
import type { V1Service } from '@kubernetes/client-node';
import { componentSelector, etcdClientServiceName, etcdPeerServiceName } from './names.ts';
import { ownedObjectMeta, type RenderContext } from './render-context.ts';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from './etcd-member.ts';

export function renderEtcdPeerService(context: RenderContext): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedObjectMeta(context, etcdPeerServiceName(context.cluster.metadata.name), 'etcd'),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: componentSelector(context.cluster.metadata.name, 'etcd'),
      ports: [
        { name: 'client', port: ETCD_CLIENT_PORT, targetPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
        { name: 'peer', port: ETCD_PEER_PORT, targetPort: ETCD_PEER_PORT, protocol: 'TCP' },
      ],
    },
  };
}

/** `clusterIP`: the address to ask for (service-addresses.ts); absent, the API server picks one. */
export function renderEtcdClientService(context: RenderContext, clusterIP?: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedObjectMeta(context, etcdClientServiceName(context.cluster.metadata.name), 'etcd'),
    spec: {
      type: 'ClusterIP',
      ...(clusterIP ? { clusterIP } : {}),
      selector: componentSelector(context.cluster.metadata.name, 'etcd'),
      ports: [{ name: 'client', port: ETCD_CLIENT_PORT, targetPort: ETCD_CLIENT_PORT, protocol: 'TCP' }],
    },
  };
}
