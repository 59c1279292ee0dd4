// The local meta cluster: upstream etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler as supervised processes, plus the process runtime playing three nodes in three
// zones. `startMetaCluster` is idempotent across runs: the same $TESSERA_HOME resumes the same
// cluster with its data, PKI and addresses.
import { KubeConfig } from '@kubernetes/client-node';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Agent as HttpsAgent, request } from 'node:https';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveHome, type TesseraHome } from '../home.ts';
import { loadOrCreateConfig, type MetaClusterConfig } from './config.ts';
import { apiServerArgs, controllerManagerArgs, etcdArgs, pkiLayout, schedulerArgs } from './control-plane.ts';
import { ensureMetaPki } from './meta-pki.ts';
import { SupervisedProcess, type ProcessEvent } from '../process/supervised-process.ts';
import { terminateRecorded } from '../process/process-record.ts';
import { ensureBinaries } from '../binaries/resolve.ts';
import { DEFAULT_KUBERNETES_VERSION, ETCD_VERSION_BY_KUBERNETES_MINOR, KUBERNETES_VERSIONS, minorOf } from '../binaries/versions.ts';
import { ProcessRuntime } from '../runtime/process-runtime.ts';
import type { ImageTarget } from '../runtime/images.ts';
import type { Executable } from '../runtime/pod-worker.ts';
import { RestClient, isAlreadyExists } from '../../controller/rest-client.ts';
import { localRuntimeRbac } from './bootstrap-objects.ts';
import { startTesseraOperators } from './tessera-operators.ts';

export type MetaClusterOptions = {
  env?: NodeJS.ProcessEnv;
  kubernetesVersion?: string;
  /** Separates the loopback addresses of several meta clusters on one machine (tests). */
  networkIndex?: number;
  /** Port of the cluster DNS server; 53 unless a test says otherwise. */
  dnsPort?: number;
  onProgress?: (message: string) => void;
};

export type RunningMetaCluster = {
  home: TesseraHome;
  config: MetaClusterConfig;
  processes: SupervisedProcess[];
  runtime: ProcessRuntime;
  client: RestClient;
  stop: (options?: { keepPods?: boolean }) => Promise<void>;
};

/**
 * A health check of one control plane component: GET `url`, 200 is healthy. One kept-alive
 * connection per component, so a check every few seconds costs a request, not a TLS handshake.
 */
function healthProbe(url: string, agents: (HttpAgent | HttpsAgent)[], options: { ca?: string } = {}): () => Promise<boolean> {
  const secure = url.startsWith('https:');
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: options.ca, rejectUnauthorized: Boolean(options.ca) }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return () =>
    new Promise((resolve) => {
      const send = secure ? request : httpRequest;
      const req = send(url, { agent, timeout: 2000 }, (response) => {
        response.resume();
        resolve((response.statusCode ?? 0) === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
}

/** An image version to the binaries that provide it; each image is resolved once per run. */
function executableResolver(env: NodeJS.ProcessEnv, defaultVersion: string, onProgress: (message: string) => void): (target: ImageTarget) => Promise<Executable> {
  const resolved = new Map<string, Promise<Executable>>();
  const resolve = async (target: ImageTarget): Promise<Executable> => {
    if (target.kind === 'script') return { entrypoint: target.entrypoint, searchPath: [dirname(target.entrypoint[0] ?? '')] };
    if (target.component === 'etcd') {
      const kubernetesVersion = KUBERNETES_VERSIONS.find((v) => ETCD_VERSION_BY_KUBERNETES_MINOR[minorOf(v)] === (target.version ?? ETCD_VERSION_BY_KUBERNETES_MINOR[minorOf(defaultVersion)]));
      if (!kubernetesVersion) throw new Error(`etcd ${target.version} is not pinned; pinned etcd versions: ${[...new Set(Object.values(ETCD_VERSION_BY_KUBERNETES_MINOR))].join(', ')}`);
      const paths = await ensureBinaries({ kubernetesVersion, components: ['etcd', 'etcdctl'], env, onProgress: (e) => onProgress(e.message) });
      return { entrypoint: [paths.etcd], searchPath: [dirname(paths.etcd), dirname(paths.etcdctl)] };
    }
    const paths = await ensureBinaries({ kubernetesVersion: target.version ?? defaultVersion, components: [target.component], env, onProgress: (e) => onProgress(e.message) });
    const path = paths[target.component];
    return { entrypoint: [path], searchPath: [dirname(path)] };
  };
  return (target) => {
    const key = JSON.stringify(target);
    let executable = resolved.get(key);
    if (!executable) {
      executable = resolve(target);
      // A failure is not remembered: the next pull tries again.
      executable.catch(() => resolved.delete(key));
      resolved.set(key, executable);
    }
    return executable;
  };
}

export async function startMetaCluster(options: MetaClusterOptions = {}): Promise<RunningMetaCluster> {
  const env = options.env ?? process.env;
  const progress = options.onProgress ?? (() => {});
  const home = resolveHome(env);
  await Promise.all([home.root, home.logs, home.run, home.pods, home.volumes, home.etcdData].map((dir) => mkdir(dir, { recursive: true })));
  const { config, created } = await loadOrCreateConfig(home.config, options.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION, options.networkIndex ?? 0);
  progress(created ? `new meta cluster in ${home.root}` : `resuming the meta cluster in ${home.root}`);

  // A supervisor that crashed left its control plane running: stop it before starting anew.
  const controlPlaneRecords = join(home.run, 'control-plane');
  const stale = await terminateRecorded(controlPlaneRecords, 5_000);
  if (stale.length) progress(`stopped ${stale.length} control-plane process(es) left by an earlier run`);

  progress(`resolving Kubernetes ${config.kubernetesVersion} binaries`);
  const binaries = await ensureBinaries({
    kubernetesVersion: config.kubernetesVersion,
    components: ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'],
    env,
    onProgress: (event) => progress(event.message),
  });

  progress('preparing certificates');
  const layout = pkiLayout(home.pki);
  const pki = await ensureMetaPki(config, layout, home.kubeconfig);

  const onEvent = (event: ProcessEvent) => {
    if (event.type === 'exited') progress(`${event.name} exited (code ${event.code ?? event.signal}); restarting in ${event.restartInMs}ms`);
    if (event.type === 'unhealthy') progress(`${event.name} failed its health check (${event.failures})`);
  };
  const healthAgents: (HttpAgent | HttpsAgent)[] = [];
  const supervised = (name: string, command: string, args: string[], healthCheck: () => Promise<boolean>) =>
    new SupervisedProcess({ name, command, args, logFile: join(home.logs, `${name}.log`), recordDirectory: controlPlaneRecords, healthCheck }, onEvent);

  const etcd = supervised('etcd', binaries.etcd, etcdArgs(config, layout, home.etcdData), healthProbe(`http://127.0.0.1:${config.etcdMetricsPort}/health`, healthAgents));
  const apiServer = supervised('kube-apiserver', binaries['kube-apiserver'], apiServerArgs(config, layout), healthProbe(`https://127.0.0.1:${config.apiServerPort}/readyz`, healthAgents, { ca: pki.ca.certPem }));
  const controllerManager = supervised('kube-controller-manager', binaries['kube-controller-manager'], controllerManagerArgs(config, layout), healthProbe(`https://127.0.0.1:${config.controllerManagerPort}/healthz`, healthAgents));
  const scheduler = supervised('kube-scheduler', binaries['kube-scheduler'], schedulerArgs(config, layout), healthProbe(`https://127.0.0.1:${config.schedulerPort}/healthz`, healthAgents));
  const processes = [etcd, apiServer, controllerManager, scheduler];
  const stopProcesses = async () => {
    for (const process of [...processes].reverse()) await process.stop();
    for (const agent of healthAgents) agent.destroy();
  };

  try {
    progress('starting etcd');
    await etcd.start();
    await etcd.waitHealthy(60_000);
    progress('starting kube-apiserver');
    await apiServer.start();
    await apiServer.waitHealthy(120_000);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(await readFile(home.kubeconfig, 'utf8'));
    const client = new RestClient(kubeConfig);
    for (const object of localRuntimeRbac()) {
      await client.create(object.path, object.body).catch((error: unknown) => {
        if (!isAlreadyExists(error)) throw error;
      });
    }

    progress('starting kube-controller-manager and kube-scheduler');
    await Promise.all([controllerManager.start(), scheduler.start()]);
    await Promise.all([controllerManager.waitHealthy(60_000), scheduler.waitHealthy(60_000)]);

    progress('starting the process runtime (3 nodes in 3 zones)');
    const runtime = new ProcessRuntime({
      nodes: config.nodes.map((node) => ({ ...node, kubeconfigPath: layout.nodeKubeconfig(node.name), serving: pki.nodeServing.get(node.name) ?? { certPem: '', keyPem: '' } })),
      region: 'local',
      runtimeKubeconfigPath: layout.runtimeKubeconfig,
      caPem: pki.ca.certPem,
      kubeletPort: 10250,
      kubeletVersion: config.kubernetesVersion,
      capacity: config.nodeCapacity,
      podsDirectory: home.pods,
      volumesDirectory: home.volumes,
      dnsAddress: config.dnsAddress,
      dnsPort: options.dnsPort,
      clusterDomain: config.clusterDomain,
      apiServer: { host: '127.0.0.1', port: config.apiServerPort },
      resolveExecutable: executableResolver(env, config.kubernetesVersion, progress),
      log: progress,
    });
    await runtime.start();
    await waitForReadyNodes(client, config.nodes.length, 60_000);
    // Pods cannot be created before the controller-manager made the namespace's default
    // ServiceAccount; "ready" means a user's first `kubectl run` works.
    await waitFor(() => client.get('/api/v1/namespaces/default/serviceaccounts/default').then(() => true, () => false), 60_000, 'the default ServiceAccount');
    progress('starting the Tessera operators');
    const operators = await startTesseraOperators({ admin: client, ca: pki.ca, apiServerUrl: pki.apiServerUrl, log: progress, embedded: env['TESSERA_EMBEDDED_OPERATORS'] !== '0', operatorKubeconfigPath: join(home.root, 'operator.kubeconfig') });
    progress(`meta cluster ready: ${config.nodes.length} nodes in ${new Set(config.nodes.map((n) => n.zone)).size} zones`);

    return {
      home,
      config,
      processes,
      runtime,
      client,
      stop: async ({ keepPods = false } = {}) => {
        await operators.stop();
        await runtime.stop();
        if (!keepPods) await terminateRecorded(home.pods, 10_000);
        await stopProcesses();
      },
    };
  } catch (error) {
    await stopProcesses();
    throw error;
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(100);
  }
}

type NodeList = { items: { metadata?: { name?: string }; status?: { conditions?: { type: string; status: string }[] } }[] };

export async function waitForReadyNodes(client: RestClient, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const nodes = await client.get<NodeList>('/api/v1/nodes').catch(() => ({ items: [] }) as NodeList);
    const ready = nodes.items.filter((node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    if (ready.length >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${ready.length} of ${count} nodes became Ready within ${timeoutMs / 1000}s`);
    await sleep(250);
  }
}
