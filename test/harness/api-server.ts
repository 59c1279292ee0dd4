// Test harness: a real etcd + kube-apiserver per test file, on free ports in a temporary
// directory, with the same PKI and flags as the local meta cluster. Parallel-safe (nothing is
// shared but the binary cache) and always cleaned up, also when a test fails.
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { defaultConfig } from '../../src/local/metacluster/config.ts';
import { apiServerArgs, etcdArgs, pkiLayout } from '../../src/local/metacluster/control-plane.ts';
import { ensureMetaPki } from '../../src/local/metacluster/meta-pki.ts';
import { SupervisedProcess } from '../../src/local/process/supervised-process.ts';
import { ensureBinaries } from '../../src/local/binaries/resolve.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../../src/local/binaries/versions.ts';
import { RestClient } from '../../src/controller/rest-client.ts';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';

export type TestApiServer = {
  directory: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  client: RestClient;
  url: string;
  stop: () => Promise<void>;
};

function healthy(url: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const send = url.startsWith('https:') ? request : httpRequest;
    const req = send(url, { ca, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Starts etcd and kube-apiserver; stops them in an `after` hook of the calling test file. */
export async function startTestApiServer(options: { kubernetesVersion?: string } = {}): Promise<TestApiServer> {
  const kubernetesVersion = options.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION;
  const directory = await mkdtemp(join(tmpdir(), 'tessera-apiserver-'));
  const binaries = await ensureBinaries({ kubernetesVersion, components: ['etcd', 'kube-apiserver'] });
  const config = await defaultConfig(kubernetesVersion, 1 + Math.floor(Math.random() * 10));
  const layout = pkiLayout(join(directory, 'pki'));
  const kubeconfigPath = join(directory, 'kubeconfig');
  const pki = await ensureMetaPki({ ...config, nodes: [] }, layout, kubeconfigPath);
  const records = join(directory, 'run');
  const etcd = new SupervisedProcess({
    name: 'etcd',
    command: binaries.etcd,
    // Test data is disposable: skip fsync, the slowest part of etcd on a shared disk.
    args: [...etcdArgs(config, layout, join(directory, 'etcd')), '--unsafe-no-fsync=true'],
    logFile: join(directory, 'etcd.log'),
    recordDirectory: records,
    healthCheck: () => healthy(`http://127.0.0.1:${config.etcdMetricsPort}/health`),
  });
  const apiServer = new SupervisedProcess({
    name: 'kube-apiserver',
    command: binaries['kube-apiserver'],
    args: apiServerArgs(config, layout),
    logFile: join(directory, 'kube-apiserver.log'),
    recordDirectory: records,
    healthCheck: () => healthy(`https://127.0.0.1:${config.apiServerPort}/readyz`, pki.ca.certPem),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await apiServer.stop();
    await etcd.stop();
    await rm(directory, { recursive: true, force: true });
  };
  after(stop);
  try {
    await etcd.start();
    await etcd.waitHealthy(60_000);
    await apiServer.start();
    await apiServer.waitHealthy(120_000);
  } catch (error) {
    const log = await readFile(join(directory, 'kube-apiserver.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`${(error as Error).message}\n${log.slice(-2000)}`, { cause: error });
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return { directory, kubeconfigPath, kubeConfig, client: new RestClient(kubeConfig), url: pki.apiServerUrl, stop };
}
