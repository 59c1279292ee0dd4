// Benchmark: local hosts and the real node stack, each number beside a floor measured in the
// same run where one applies.
//  (a) `hosts create` to sshd answering through the relay (median of 3), beside sshd started
//      directly on the box with a fresh host key until it answers on loopback;
//  (b) installing every package of a node over SSH (upload, checksum, unpack, verify), beside the
//      same unpacking and verification on the box;
//  (c) kubelet start to Node Ready, per host;
//  (d) a demo pod from create to Running;
//  (e) memory per host at idle (resident memory of every process in the host's cgroup, with
//      kubelet, containerd, kube-proxy and CoreDNS running), after 30 s.
// Numbers are printed, never asserted. The last line is JSON.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createHost, deleteHost, hostCgroupProcesses, routePodSubnetToHost, sshAnswers } from '../src/local/hosts/local-hosts.ts';
import { runOnHost, runStepsOnHost } from '../src/local/hosts/host-ssh.ts';
import { readHostRecord } from '../src/local/hosts/host-layout.ts';
import { renderKubernetesEndpoints } from '../src/local/fabric/guest-link.ts';
import { approveJoinedKubelets, ensureNodePackages } from '../src/local/hosts/guest-join.ts';
import { podSubnetOf } from '../src/local/fabric/vpc-plan.ts';
import type { PackageArtifact } from '../src/local/packages/package-artifacts.ts';
import { CGROUP_PROBE, renderJoinSteps } from '../src/node/join-steps.ts';
import { PAUSE_IMAGE } from '../src/local/packages/images.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const VERSION = '1.37.2';
const SAMPLES = 3;
const home = await mkdtemp(join(tmpdir(), 'tessera-bench-hosts-'));
const env = { ...process.env, TESSERA_HOME: home, TESSERA_NETWORK_INDEX: '9' };

async function tessera(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [cli, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

const guestKubeconfig = join(home, 'guest.kubeconfig');
const guest = (...args: string[]): Promise<string> => tessera('kubectl', '--', '--kubeconfig', guestKubeconfig, ...args);

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const seconds = (ms: number): number => Math.round(ms / 10) / 100;

/** sshd on the box, on a free loopback port, with a fresh host key: the floor of (a). */
async function sshdDirectly(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-bench-sshd-'));
  try {
    const started = Date.now();
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    // sshd wants /run/sshd: a private /run of its own, so the box's /run stays as it is.
    const script = 'mount -t tmpfs tmpfs /run && mkdir /run/sshd && exec /usr/sbin/sshd -D -e -f /dev/null -h "$1" -o "ListenAddress=127.0.0.1:$2" -o PidFile=none';
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sshd', join(dir, 'key'), String(port)], { stdio: 'ignore' });
    await until('sshd', async () => ((await sshAnswers('127.0.0.1', port, 500)) ? true : undefined), 30_000);
    const elapsed = Date.now() - started;
    child.kill('SIGTERM');
    return elapsed;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The install step's work on the box itself: checksum, unpack, verify every file. The floor of (b). */
async function unpackDirectly(artifacts: PackageArtifact[]): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-bench-unpack-'));
  try {
    const started = Date.now();
    for (const artifact of artifacts) {
      const target = join(dir, artifact.manifest.name);
      await run('sh', ['-c', `echo "${artifact.sha256}  ${artifact.archive}" | sha256sum -c --quiet - && mkdir -p "${target}" && tar -xzf "${artifact.archive}" -C "${target}"`]);
      const sums = artifact.manifest.files.map((file) => `${file.sha256}  ${file.path}`).join('\n');
      await run('sh', ['-c', `cd "${target}" && printf '%s\\n' "$1" | sha256sum -c --quiet -`, 'verify', sums]);
    }
    return Date.now() - started;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function residentMiB(pids: number[]): Promise<number> {
  let kib = 0;
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return kib / 1024;
}

try {
  const packages = await ensureNodePackages(VERSION);
  const all = [packages.runc, packages.cniPlugins, packages.containerd, packages.kubelet, ...packages.images];

  // (a) hosts: created one at a time, beside sshd alone.
  const createMs: number[] = [];
  const floorMs: number[] = [];
  for (let sample = 0; sample < SAMPLES; sample++) {
    floorMs.push(await sshdDirectly());
    const started = Date.now();
    await createHost({ tesseraHome: home, name: `b${sample}`, zone: 'zone-a' });
    createMs.push(Date.now() - started);
  }
  for (let sample = 1; sample < SAMPLES; sample++) await deleteHost({ tesseraHome: home, name: `b${sample}` });
  console.log(`host create -> sshd answers: median ${seconds(median(createMs))} s (${createMs.map(seconds).join(', ')}); sshd started directly: median ${seconds(median(floorMs))} s`);

  // A guest for the node to join.
  await tessera('up', '--detach');
  await writeFile(join(home, 'cluster.yaml'), `apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: bench}\nspec:\n  version: "${VERSION}"\n  mode: Minimal\n`);
  await tessera('kubectl', '--', 'apply', '-f', join(home, 'cluster.yaml'));
  await until('the guest', async () => ((await tessera('kubectl', '--', 'get', 'cluster', 'bench', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')) === 'True' ? true : undefined), 300_000);
  const kubeconfig = Buffer.from(await tessera('kubectl', '--', 'get', 'secret', 'bench-admin-kubeconfig', '-o', 'jsonpath={.data.kubeconfig}'), 'base64').toString();
  await writeFile(guestKubeconfig, kubeconfig);
  const caPem = Buffer.from(await tessera('kubectl', '--', 'get', 'secret', 'bench-ca', '-o', 'jsonpath={.data.tls\\.crt}'), 'base64').toString();
  const server = /server: (\S+)/.exec(kubeconfig)?.[1] ?? '';
  await tessera('hosts', 'link', server);
  const id = randomBytes(3).toString('hex');
  const secret = randomBytes(8).toString('hex');
  const objects = [...renderKubernetesEndpoints(), { apiVersion: 'v1', kind: 'Secret', metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' }, type: 'bootstrap.kubernetes.io/token', stringData: { 'token-id': id, 'token-secret': secret, 'usage-bootstrap-authentication': 'true', 'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token' } }];
  await writeFile(join(home, 'guest-objects.json'), objects.map((object) => JSON.stringify(object)).join('\n'));
  await guest('apply', '-f', join(home, 'guest-objects.json'));

  // (b) and (c) on host b0.
  const record = await readHostRecord(home, 'b0');
  if (!record) throw new Error('host b0 vanished');
  const cgroupRoot = (await runOnHost(home, record, CGROUP_PROBE)).stdout.trim();
  const podSubnet = podSubnetOf('10.244.0.0/16', 24, record.index);
  await routePodSubnetToHost(home, 'b0', podSubnet);
  const steps = renderJoinSteps(packages, { nodeName: 'b0', nodeIP: record.vpcAddress, labels: {}, cgroupRoot, server, caPem, bootstrapToken: `${id}.${secret}`, clusterDNS: '10.96.0.10', clusterDomain: 'cluster.local', sandboxImage: PAUSE_IMAGE, podSubnet });
  const installs = steps.filter((step) => step.upload);
  const rest = steps.filter((step) => !step.upload);
  const unpackFloorMs = await unpackDirectly(all);
  const installTimings = await runStepsOnHost(home, record, installs);
  const installMs = installTimings.reduce((sum, step) => sum + step.ms, 0);
  const totalMiB = all.reduce((sum, artifact) => sum + artifact.size, 0) / 1048576;
  console.log(`package install over SSH (${all.length} packages, ${totalMiB.toFixed(0)} MiB): ${seconds(installMs)} s; the same unpacking on the box: ${seconds(unpackFloorMs)} s`);
  const beforeKubelet = rest.slice(0, -1);
  await runStepsOnHost(home, record, beforeKubelet);
  const kubeletStarted = Date.now();
  await runStepsOnHost(home, record, rest.slice(-1));
  // Nothing in a guest approves kubelet certificates by itself: approve b0's as `hosts join` does.
  const approving = approveJoinedKubelets({ kubectl: (args) => guest(...args), guestKubeconfigPath: guestKubeconfig, onProgress: (line) => console.log(line) }, [record], id);
  await until('Node Ready', async () => ((await guest('get', 'node', 'b0', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')) === 'True' ? true : undefined), 180_000);
  const readyMs = Date.now() - kubeletStarted;
  await approving;
  console.log(`kubelet start -> Node Ready: ${seconds(readyMs)} s`);

  // (d) first pod.
  const podStarted = Date.now();
  await guest('run', 'first', '--image=tessera.dev/demo:1.0', '--image-pull-policy=IfNotPresent');
  await until('first pod Running', async () => ((await guest('get', 'pod', 'first', '-o', 'jsonpath={.status.phase}')) === 'Running' ? true : undefined), 180_000);
  const podMs = Date.now() - podStarted;
  console.log(`first pod create -> Running: ${seconds(podMs)} s`);

  // (e) idle memory.
  await sleep(30_000);
  const idleMiB = await residentMiB(await hostCgroupProcesses(home, 'b0'));
  console.log(`memory of host b0 at idle (kubelet, containerd, kube-proxy, CoreDNS, 1 demo pod, sshd, init): ${idleMiB.toFixed(0)} MiB resident`);

  console.log(JSON.stringify({
    bench: 'host-node',
    createToSshSeconds: seconds(median(createMs)),
    sshdFloorSeconds: seconds(median(floorMs)),
    installSeconds: seconds(installMs),
    installFloorSeconds: seconds(unpackFloorMs),
    kubeletStartToReadySeconds: seconds(readyMs),
    firstPodRunningSeconds: seconds(podMs),
    idleMiBPerHost: Math.round(idleMiB),
  }));
} finally {
  await deleteHost({ tesseraHome: home, name: 'b0' }).catch(() => undefined);
  await tessera('down').catch(() => undefined);
  await rm(home, { recursive: true, force: true });
}
