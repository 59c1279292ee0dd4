// Benchmark: the local meta cluster against the bare upstream processes, measured in one run.
//  1. `tessera up --detach` (binaries cached; a fresh home, then a resume) beside etcd +
//     kube-apiserver + kube-controller-manager + kube-scheduler started by hand with the same
//     flags and pre-made certificates, until all four answer their health checks (the floor).
//  2. Create-to-Ready latency of 50 pods (median, p95) on the process runtime, beside the same
//     50 echo-server processes spawned directly until each listens (the floor for a pod).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { defaultConfig } from '../src/local/metacluster/config.ts';
import { apiServerArgs, controllerManagerArgs, etcdArgs, pkiLayout, schedulerArgs } from '../src/local/metacluster/control-plane.ts';
import { ensureMetaPki } from '../src/local/metacluster/meta-pki.ts';
import { ensureBinaries } from '../src/local/binaries/resolve.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../src/local/binaries/versions.ts';
import { RestClient } from '../src/controller/rest-client.ts';
import { Informer } from '../src/controller/informer.ts';
import { percentile } from './statistics.ts';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const echoServer = fileURLToPath(new URL('../src/local/runtime/images/echo-server.ts', import.meta.url));

function tessera(home: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, TESSERA_HOME: home, TESSERA_NETWORK_INDEX: '5' } }, (error, _stdout, stderr) => (error ? reject(new Error(stderr)) : resolve()));
  });
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const send = url.startsWith('https:') ? request : httpRequest;
    const req = send(url, { rejectUnauthorized: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(25);
}

const median = (values: number[]) => percentile(values, 50);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

async function bareControlPlane(): Promise<number> {
  const directory = await mkdtemp(join(tmpdir(), 'tessera-bench-bare-'));
  const binaries = await ensureBinaries({ components: ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] });
  const config = await defaultConfig(DEFAULT_KUBERNETES_VERSION, 6);
  const layout = pkiLayout(join(directory, 'pki'));
  await ensureMetaPki(config, layout, join(directory, 'kubeconfig'));
  // Started as a person would by hand: each component once the one it needs answers.
  const started = performance.now();
  const children = [spawn(binaries.etcd, etcdArgs(config, layout, join(directory, 'etcd')), { stdio: 'ignore' })];
  await until(() => healthy(`http://127.0.0.1:${config.etcdMetricsPort}/health`));
  children.push(spawn(binaries['kube-apiserver'], apiServerArgs(config, layout), { stdio: 'ignore' }));
  await until(() => healthy(`https://127.0.0.1:${config.apiServerPort}/readyz`));
  children.push(spawn(binaries['kube-controller-manager'], controllerManagerArgs(config, layout), { stdio: 'ignore' }));
  children.push(spawn(binaries['kube-scheduler'], schedulerArgs(config, layout), { stdio: 'ignore' }));
  await Promise.all([until(() => healthy(`https://127.0.0.1:${config.controllerManagerPort}/healthz`)), until(() => healthy(`https://127.0.0.1:${config.schedulerPort}/healthz`))]);
  const elapsed = performance.now() - started;
  for (const child of children.reverse()) child.kill('SIGTERM');
  await sleep(1000);
  await rm(directory, { recursive: true, force: true });
  return elapsed;
}

async function bareEchoServers(count: number): Promise<number[]> {
  // All at once, as the pods are created back to back: the floor for 50 concurrent starts.
  const children: ReturnType<typeof spawn>[] = [];
  const latencies = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const started = performance.now();
      const address = `127.199.0.${i + 2}`;
      // The same program a pod runs, started directly on its own loopback address.
      children.push(spawn(process.execPath, [echoServer], { stdio: 'ignore', env: { ...process.env, POD_IP: address, POD_NAME: `bare-${i}` } }));
      await until(
        () =>
          new Promise<boolean>((resolve) => {
            const socket = connect({ host: address, port: 8080 });
            socket.once('connect', () => {
              socket.destroy();
              resolve(true);
            });
            socket.once('error', () => resolve(false));
          }),
      );
      return performance.now() - started;
    }),
  );
  for (const child of children) child.kill('SIGTERM');
  return latencies;
}

async function podsToReady(home: string, count: number): Promise<number[]> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(join(home, 'kubeconfig'));
  const client = new RestClient(kubeConfig);
  const created = new Map<string, number>();
  const ready = new Map<string, number>();
  const informer = new Informer<{ metadata?: { name?: string }; status?: { conditions?: { type: string; status: string }[] } }>(client, '/api/v1/namespaces/default/pods', { labelSelector: 'bench=latency' });
  informer.on(({ object }) => {
    const name = object.metadata?.name ?? '';
    if (!ready.has(name) && object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready.set(name, performance.now());
  });
  await informer.start();
  for (let i = 0; i < count; i++) {
    const name = `latency-${i}`;
    created.set(name, performance.now());
    await client.create('/api/v1/namespaces/default/pods', { metadata: { name, labels: { bench: 'latency' } }, spec: { containers: [{ name: 'echo', image: 'tessera.dev/echo-server', readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }] } });
  }
  while (ready.size < count) await sleep(50);
  await informer.stop();
  return [...created].map(([name, at]) => (ready.get(name) ?? NaN) - at);
}

const home = await mkdtemp(join(tmpdir(), 'tessera-bench-'));
try {
  const bare = await bareControlPlane();
  let started = performance.now();
  await tessera(home, ['up', '--detach']);
  const fresh = performance.now() - started;
  await tessera(home, ['down']);
  started = performance.now();
  await tessera(home, ['up', '--detach']);
  const resume = performance.now() - started;

  const podLatencies = await podsToReady(home, 50);
  const bareLatencies = await bareEchoServers(50);

  console.log('local meta cluster (binaries cached)');
  console.log(`  bare upstream control plane to healthy:   ${seconds(bare)}   (baseline)`);
  console.log(`  tessera up --detach, new cluster:         ${seconds(fresh)}   ratio ${(fresh / bare).toFixed(2)}x  (includes PKI, 3 nodes Ready)`);
  console.log(`  tessera up --detach, resume:              ${seconds(resume)}   ratio ${(resume / bare).toFixed(2)}x`);
  console.log('pod create-to-Ready, 50 pods (tessera.dev/echo-server, created one after another)');
  console.log(`  bare processes spawn-to-listening:         median ${seconds(median(bareLatencies))}  p95 ${seconds(percentile(bareLatencies, 95))}   (baseline)`);
  console.log(`  process runtime create-to-Ready:          median ${seconds(median(podLatencies))}  p95 ${seconds(percentile(podLatencies, 95))}   ratio ${(median(podLatencies) / median(bareLatencies)).toFixed(2)}x (median)`);
} finally {
  await tessera(home, ['down']).catch(() => {});
  await rm(home, { recursive: true, force: true });
}
