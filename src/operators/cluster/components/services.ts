// Services: etcd's headless and client Services and the API server's two. They come first
// because their ClusterIPs go into the certificates.
import type { V1Service } from '@kubernetes/client-node';
import { renderApiServerInternalService, renderApiServerService } from '../apiserver-services.ts';
import type { ClusterComponent, ClusterPass } from '../component.ts';
import { isAddressTaken, serviceAddressCandidate } from '../service-addresses.ts';
import { renderEtcdClientService, renderEtcdPeerService } from '../etcd-services.ts';
import { API_SERVER_PORT } from '../apiserver-container.ts';
import { apiServerServiceName, etcdClientServiceName } from '../names.ts';
import { controlPlaneServes, hasLegacyDeployment } from './control-plane-pods.ts';

/**
 * The ClusterIP a Service is rendered with: the one it holds (so it keeps it), else the operator's
 * pick from the meta cluster's Service range (service-addresses.ts), else none (the API server picks).
 */
async function clusterIPOf(pass: ClusterPass, name: string): Promise<string | undefined> {
  const held = pass.liveOf<V1Service>({ kind: 'Service', metadata: { name } })?.spec?.clusterIP;
  if (held) return held;
  const range = await pass.options.serviceCIDR?.();
  pass.facts.serviceCIDR = range;
  return range ? serviceAddressCandidate(range, `${pass.namespace}/${name}`, pass.memory.serviceAddressAttempts?.get(name) ?? 0) : undefined;
}

export const services: ClusterComponent = {
  name: 'services',
  dependsOn: ['network'],
  reason: 'Services need nothing, and their addresses go into certificates',
  parallelWrites: true,
  async render(pass) {
    const context = pass.renderContext();
    const [etcdClientIP, apiServerIP] = await Promise.all([clusterIPOf(pass, etcdClientServiceName(pass.name)), clusterIPOf(pass, apiServerServiceName(pass.name))]);
    const apiServers = { ...context, legacyApiServerPods: hasLegacyDeployment(pass, 'kube-apiserver') && !controlPlaneServes(pass) };
    return [renderEtcdPeerService(context), renderEtcdClientService(context, etcdClientIP), renderApiServerService({ ...apiServers, apiServerServiceIP: apiServerIP }), renderApiServerInternalService(apiServers)];
  },
  retry(pass, refused, error) {
    // An address another Service took since it was picked: ask for the next pick.
    const service = refused as V1Service;
    const name = service.metadata?.name ?? '';
    const range = pass.facts.serviceCIDR;
    if (!isAddressTaken(error) || !range || !service.spec?.clusterIP || pass.liveOf<V1Service>(service)) return undefined;
    const attempt = (pass.memory.serviceAddressAttempts?.get(name) ?? 0) + 1;
    pass.memory.serviceAddressAttempts ??= new Map();
    pass.memory.serviceAddressAttempts.set(name, attempt);
    const clusterIP = serviceAddressCandidate(range, `${pass.namespace}/${name}`, attempt);
    pass.options.logger.info('ClusterIP taken, asking for another', { cluster: pass.key, service: name, taken: service.spec.clusterIP, next: clusterIP });
    return clusterIP ? { ...service, spec: { ...service.spec, clusterIP } } : undefined;
  },
  async act(pass, applied) {
    for (const service of applied as V1Service[]) {
      pass.memory.serviceAddressAttempts?.delete(service.metadata?.name ?? '');
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
