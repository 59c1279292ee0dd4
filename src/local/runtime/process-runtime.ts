// The process runtime: the local meta cluster's stand-in for kubelets, kube-proxy and CoreDNS.
// It runs one NodeAgent per simulated node (each with its own node credentials and kubelet
// API), the cluster DNS server, the service proxy for loopback ClusterIPs, and the directory
// provisioner for PersistentVolumeClaims.
import type { Server } from 'node:https';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { KubeConfig } from '@kubernetes/client-node';
import { join } from 'node:path';
import { RestClient } from '../../controller/rest-client.ts';
import { Informer } from '../../controller/informer.ts';
import { EventRecorder } from '../../controller/events.ts';
import { NodeAgent } from './node-agent.ts';
import { startKubeletServer } from './kubelet-server.ts';
import { VolumeProvisioner } from './volume-provisioner.ts';
import type { Executable } from './pod-worker.ts';
import type { ImageTarget } from './images.ts';
import { buildDnsTable, type DnsTable } from '../network/dns-records.ts';
import { startClusterDns, type ClusterDnsServer } from '../network/cluster-dns-server.ts';
import type { ServiceProxy } from '../network/service-proxy.ts';
import { startServiceProxyThread } from '../network/service-proxy-thread.ts';

export type RuntimeNode = { name: string; zone: string; address: string; podRange: string; kubeconfigPath: string; serving: { certPem: string; keyPem: string } };

export type ProcessRuntimeOptions = {
  nodes: RuntimeNode[];
  region: string;
  runtimeKubeconfigPath: string;
  caPem: string;
  kubeletPort: number;
  kubeletVersion: string;
  capacity: { cpu: string; memory: string; pods: string };
  podsDirectory: string;
  volumesDirectory: string;
  dnsAddress: string;
  dnsPort?: number;
  clusterDomain: string;
  apiServer: { host: string; port: number };
  resolveExecutable: (target: ImageTarget) => Promise<Executable>;
  log: (message: string) => void;
};

function loadKubeConfig(path: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return kubeConfig;
}

export class ProcessRuntime {
  private readonly options: ProcessRuntimeOptions;
  private readonly agents: NodeAgent[] = [];
  private readonly servers: Server[] = [];
  private provisioner: VolumeProvisioner | undefined;
  private dns: ClusterDnsServer | undefined;
  private proxy: ServiceProxy | undefined;
  private services: Informer<V1Service> | undefined;
  private pods: Informer<V1Pod> | undefined;
  private table: DnsTable;
  private networkPending = Promise.resolve();
  private networkDirty = false;

  constructor(options: ProcessRuntimeOptions) {
    this.options = options;
    this.table = buildDnsTable({ services: [], pods: [], clusterDomain: options.clusterDomain });
  }

  private onError = (error: unknown): void => {
    this.options.log(`runtime: ${error instanceof Error ? error.message : String(error)}`);
  };

  /** The service environment every container gets, like the kubelet's KUBERNETES_SERVICE_*. */
  private serviceEnvironment(): Record<string, string> {
    const kubernetes = this.services?.get('default/kubernetes');
    const ip = kubernetes?.spec?.clusterIP;
    if (!ip) return {};
    return { KUBERNETES_SERVICE_HOST: ip, KUBERNETES_SERVICE_PORT: '443', KUBERNETES_SERVICE_PORT_HTTPS: '443', KUBERNETES_PORT: `tcp://${ip}:443` };
  }

  async start(): Promise<void> {
    const o = this.options;
    const runtimeClient = new RestClient(loadKubeConfig(o.runtimeKubeconfigPath));
    const runtimeEvents = new EventRecorder(runtimeClient, 'tessera-local-runtime', undefined, this.onError);

    // Network first: pods resolve names from their first instruction on.
    this.services = new Informer<V1Service>(runtimeClient, '/api/v1/services', { onError: this.onError });
    this.pods = new Informer<V1Pod>(runtimeClient, '/api/v1/pods', { onError: this.onError });
    this.proxy = startServiceProxyThread({ onError: this.onError });
    const refresh = () => this.refreshNetwork();
    this.services.on(refresh);
    this.pods.on(refresh);
    await Promise.all([this.services.start(), this.pods.start()]);
    this.dns = await startClusterDns({ host: o.dnsAddress, port: o.dnsPort ?? 53, table: () => this.table, clusterDomain: o.clusterDomain, onError: this.onError });
    this.refreshNetwork();

    this.provisioner = new VolumeProvisioner(runtimeClient, runtimeEvents, o.volumesDirectory, this.onError);
    await this.provisioner.start();

    for (const node of o.nodes) {
      const client = new RestClient(loadKubeConfig(node.kubeconfigPath));
      const events = new EventRecorder(client, 'kubelet', node.name, this.onError);
      const agent = new NodeAgent({
        name: node.name,
        zone: node.zone,
        region: o.region,
        address: node.address,
        podRange: node.podRange,
        kubeletPort: o.kubeletPort,
        kubeletVersion: o.kubeletVersion,
        capacity: o.capacity,
        client,
        events,
        podsDirectory: o.podsDirectory,
        onError: this.onError,
        worker: {
          resolveExecutable: o.resolveExecutable,
          serviceEnvironment: () => this.serviceEnvironment(),
          nameserver: o.dnsAddress,
          clusterDomain: o.clusterDomain,
          persistentVolumePath: (pv) => VolumeProvisioner.pathOf(pv),
          onError: this.onError,
        },
      });
      this.servers.push(
        await startKubeletServer({
          address: node.address,
          port: o.kubeletPort,
          certPem: node.serving.certPem,
          keyPem: node.serving.keyPem,
          clientCaPem: o.caPem,
          findPod: (namespace, name) => {
            const pod = agent.pods().find((p) => p.metadata?.namespace === namespace && p.metadata?.name === name);
            return pod ? { pod, directory: join(o.podsDirectory, node.name, pod.metadata?.uid ?? '') } : undefined;
          },
        }),
      );
      this.agents.push(agent);
    }
    await Promise.all(this.agents.map((agent) => agent.start()));
  }

  /** Rebuilds the DNS table and the proxy's listeners; coalesces bursts of changes. */
  private refreshNetwork(): void {
    if (this.networkDirty) return;
    this.networkDirty = true;
    this.networkPending = this.networkPending
      .then(async () => {
        this.networkDirty = false;
        const services = this.services?.list() ?? [];
        const pods = this.pods?.list() ?? [];
        this.table = buildDnsTable({ services, pods, clusterDomain: this.options.clusterDomain });
        const api = this.options.apiServer;
        await this.proxy?.update(services, pods, new Map([['default/kubernetes', [{ ip: api.host, port: api.port }]]]));
      })
      .catch(this.onError);
  }

  nodeNames(): string[] {
    return this.agents.map((agent) => agent.name);
  }

  /** Stops the runtime's own loops and servers; pod processes keep running and are adopted later. */
  async stop(): Promise<void> {
    await Promise.all(this.agents.map((agent) => agent.stop()));
    await Promise.all(this.servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await this.provisioner?.stop();
    await Promise.all([this.services?.stop(), this.pods?.stop()]);
    await this.networkPending;
    await this.proxy?.close();
    await this.dns?.close();
  }
}
