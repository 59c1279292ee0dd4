// Services: etcd's headless and client Services and the API server's two. They come first
// because their ClusterIPs go into the certificates.
import type { V1Service } from '@kubernetes/client-node';
import { renderApiServerInternalService, renderApiServerService } from '../apiserver-services.ts';
import type { ClusterComponent } from '../component.ts';
import { renderEtcdClientService, renderEtcdPeerService } from '../etcd-services.ts';
import { API_SERVER_PORT } from '../apiserver-deployment.ts';
import { apiServerServiceName, etcdClientServiceName } from '../names.ts';

export const services: ClusterComponent = {
  name: 'services',
  dependsOn: ['network'],
  reason: 'Services need nothing, and their addresses go into certificates',
  render(pass) {
    const context = pass.renderContext();
    // The allocated ClusterIP is rendered back, so the Service keeps it.
    const apiServerIP = pass.liveOf<V1Service>({ kind: 'Service', metadata: { name: apiServerServiceName(pass.name) } })?.spec?.clusterIP;
    return [renderEtcdPeerService(context), renderEtcdClientService(context), renderApiServerService({ ...context, apiServerServiceIP: apiServerIP }), renderApiServerInternalService(context)];
  },
  async act(pass, applied) {
    for (const service of applied as V1Service[]) {
      if (service.metadata?.name === apiServerServiceName(pass.name)) pass.facts.apiServerIP = service.spec?.clusterIP;
      if (service.metadata?.name === etcdClientServiceName(pass.name)) pass.facts.etcdClientIP = service.spec?.clusterIP;
    }
    if (pass.facts.apiServerIP) pass.facts.endpoint = `https://${pass.facts.apiServerIP}:${API_SERVER_PORT}`;
  },
  observe(pass) {
    if (!pass.facts.apiServerIP) pass.requeueWithin(1000);
    return { ready: Boolean(pass.facts.apiServerIP) };
  },
};
