// The Node operator end to end: hosts made by `tessera hosts create --cluster C -o yaml` become
// Ready Nodes of a guest through their Machines alone (no `hosts join`), with the package versions
// read back from the hosts; a stopped kubelet is repaired with an Event; a Machine whose host key
// is another host's runs nothing; deleting a Machine takes the Node out and leaves the host clean.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { MetaClusterCli, eventually } from '../harness/meta-cluster-cli.ts';
import { readHostRecord, type HostRecord } from '../../src/local/hosts/host-layout.ts';
import { runOnHost } from '../../src/local/hosts/host-ssh.ts';

type Condition = { type: string; status: string; reason?: string; message?: string };
type Machine = { metadata: { name: string }; status?: { phase?: string; nodeName?: string; conditions?: Condition[]; packages?: { name: string; version: string }[] } };
type Node = { metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> }; status: { conditions: Condition[] } };
type List<T> = { items: T[] };

const VERSION = '1.37.2';
const HOSTS = ['m1', 'm2'];
const meta = await MetaClusterCli.create(13);
// Look at converged Machines every 3 s, so a stopped kubelet is noticed quickly.
meta.env['TESSERA_MACHINE_HEALTH_PERIOD_MS'] = '3000';
const guestKubeconfig = join(meta.home, 'guest.kubeconfig');

after(async () => {
  await meta.tessera(['hosts', 'delete', ...HOSTS], 120_000);
  await meta.destroy();
});

const condition = (machine: Machine | undefined, type: string) => machine?.status?.conditions?.find((entry) => entry.type === type);
const isReady = (conditions: Condition[] | undefined): boolean => conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function guestJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await meta.kubectl('--kubeconfig', guestKubeconfig, ...args, '-o', 'json')) as T;
}

async function host(name: string): Promise<HostRecord> {
  const record = await readHostRecord(meta.home, name);
  assert.ok(record, `host ${name} exists`);
  return record;
}

async function onHost(name: string, command: string): Promise<string> {
  return (await runOnHost(meta.home, await host(name), command)).stdout;
}

test('two Machines applied from `hosts create -o yaml` become Ready Nodes of the guest through the operator alone', { timeout: 420_000 }, async () => {
  const up = await meta.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr);
  const created = await meta.tessera(['hosts', 'create', ...HOSTS, '--zone', 'zone-a', '--cluster', 'mach', '-o', 'yaml'], 300_000);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /kind: Machine/);
  await meta.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata:
  name: mach
spec:
  version: "${VERSION}"
  mode: Minimal
`);
  const started = Date.now();
  await meta.apply(created.stdout);

  const machines = await eventually('both Machines are Ready', async () => {
    const list = await meta.kubectlJson<List<Machine>>('get', 'machines');
    return list.items.length === 2 && list.items.every((machine) => condition(machine, 'Ready')?.status === 'True') ? list.items : undefined;
  }, 300_000, 1_000);
  const joinSeconds = (Date.now() - started) / 1000;
  for (const machine of machines) {
    assert.equal(machine.status?.phase, 'Ready');
    assert.equal(machine.status?.nodeName, machine.metadata.name);
    for (const type of ['HostReachable', 'HostKeyVerified', 'PackagesInstalled', 'NodeJoined', 'NodeReady']) assert.equal(condition(machine, type)?.status, 'True', `${machine.metadata.name} ${type}`);
    // status.packages is what the host records, read back over SSH.
    const onDisk = JSON.parse(await onHost(machine.metadata.name, 'cat /var/lib/tessera/packages/kubelet.json')) as { version: string };
    assert.equal(onDisk.version, VERSION);
    assert.equal(machine.status?.packages?.find((entry) => entry.name === 'kubelet')?.version, onDisk.version);
    assert.equal(machine.status?.packages?.find((entry) => entry.name === 'containerd')?.version, '2.4.2');
  }
  const defaults = await meta.kubectlJson<{ spec: { packages: { name: string; version: string }[] } }>('get', 'clusterpackageversion', 'mach');
  assert.equal(defaults.spec.packages.find((entry) => entry.name === 'kubelet')?.version, VERSION);

  const kubeconfig = Buffer.from(await meta.kubectl('get', 'secret', 'mach-admin-kubeconfig', '-o', 'jsonpath={.data.kubeconfig}'), 'base64').toString();
  await writeFile(guestKubeconfig, kubeconfig, { mode: 0o600 });
  const nodes = await eventually('both Nodes are Ready in the guest', async () => {
    const list = await guestJson<List<Node>>('get', 'nodes');
    return list.items.length === 2 && list.items.every((node) => isReady(node.status.conditions)) ? list.items : undefined;
  }, 60_000, 1_000);
  for (const node of nodes) {
    assert.equal(node.metadata.labels['topology.kubernetes.io/zone'], 'zone-a');
    assert.equal(node.metadata.labels['node-role.kubernetes.io/worker'], '');
    assert.equal(node.metadata.annotations?.['tessera.dev/machine'], `default/${node.metadata.name}`);
  }
  process.stderr.write(`machines: both Machines Ready ${joinSeconds.toFixed(1)} s after they were applied\n`);
});

test('on the operator\'s Nodes a 2-replica demo spreads over both hosts, logs and exec work, and a Service answers by its DNS name', { timeout: 240_000 }, async () => {
  const manifest = join(meta.home, 'demo.json');
  const labels = { app: 'demo' };
  await writeFile(manifest, JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'demo', namespace: 'default' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } }] } },
              containers: [{ name: 'demo', image: 'tessera.dev/demo:1.0', imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 2 } }],
            },
          },
        },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'demo', namespace: 'default' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
    ],
  }));
  await meta.kubectl('--kubeconfig', guestKubeconfig, 'apply', '-f', manifest);
  type Pod = { metadata: { name: string }; spec: { nodeName?: string }; status: { conditions?: Condition[] } };
  const pods = await eventually('both demo pods are Ready', async () => {
    const list = await guestJson<List<Pod>>('get', 'pods', '-l', 'app=demo');
    return list.items.length === 2 && list.items.every((pod) => isReady(pod.status.conditions)) ? list.items : undefined;
  }, 180_000, 1_000);
  assert.deepEqual(pods.map((pod) => pod.spec.nodeName).sort(), HOSTS, 'one pod per host');
  const [first] = pods;
  assert.ok(first);
  assert.match(await meta.kubectl('--kubeconfig', guestKubeconfig, 'logs', first.metadata.name), new RegExp(`serving ${first.metadata.name}`));
  assert.equal((await meta.kubectl('--kubeconfig', guestKubeconfig, 'exec', first.metadata.name, '--', 'cat', '/etc/hostname')).trim(), first.metadata.name);
  const names = new Set(pods.map((pod) => pod.metadata.name));
  await eventually('demo.default.svc.cluster.local answers', async () => {
    const out = await meta.kubectl('--kubeconfig', guestKubeconfig, 'exec', first.metadata.name, '--', 'timeout', '10', 'wget', '-q', '-O-', 'http://demo.default.svc.cluster.local/').catch(() => '');
    return names.has(out.trim());
  }, 120_000, 2_000);
});

test('a stopped kubelet is restarted by the operator, with an Event and Remediating on the Machine', { timeout: 180_000 }, async () => {
  // runit restarts a kubelet that crashes by itself; a service taken down stays down until repaired.
  await onHost('m1', 'sv down /etc/service/kubelet');
  assert.match(await onHost('m1', 'sv status /etc/service/kubelet'), /^down:/);
  await eventually('the operator restarted the kubelet', async () => {
    const events = await meta.kubectlJson<List<{ reason: string; involvedObject: { name: string } }>>('get', 'events', '--field-selector', 'involvedObject.kind=Machine,involvedObject.name=m1');
    return events.items.some((event) => event.reason === 'ServiceRestarted');
  }, 90_000, 1_000);
  await eventually('m1 is Ready again with its kubelet running', async () => {
    const machine = await meta.kubectlJson<Machine>('get', 'machine', 'm1');
    const running = /^run:/.test(await onHost('m1', 'sv status /etc/service/kubelet'));
    return running && condition(machine, 'Ready')?.status === 'True' && condition(machine, 'Remediating')?.status === 'False';
  }, 90_000, 1_000);
});

test('a Machine whose spec.ssh.hostKey is another host\'s key runs nothing on the host', { timeout: 120_000 }, async () => {
  const m1 = await host('m1');
  const m2 = await host('m2');
  // What the operator writes (host-local paths; /tmp and /root show the box below the host's disk).
  const listing = 'ls -la --time-style=+%s /var/lib/tessera /var/lib/tessera/packages /opt/tessera /etc/kubernetes /etc/sv /etc/service 2>&1; md5sum /var/lib/tessera/packages/*.json /etc/kubernetes/*.conf';
  const before = await onHost('m2', listing);
  await meta.apply(`apiVersion: tessera.dev/v1alpha1
kind: Machine
metadata:
  name: impostor
spec:
  clusterName: mach
  address: ${m2.sshAddress}
  port: ${m2.sshPort}
  hostname: impostor
  ssh:
    privateKeySecretRef: {name: m2-ssh-key}
    hostKey: ${m1.hostKey}
`);
  const refused = await eventually('HostKeyVerified is False', async () => {
    const machine = await meta.kubectlJson<Machine>('get', 'machine', 'impostor');
    return condition(machine, 'HostKeyVerified')?.status === 'False' ? machine : undefined;
  }, 60_000, 1_000);
  assert.equal(refused.status?.phase, 'Failed');
  assert.match(condition(refused, 'HostKeyVerified')?.message ?? '', /expected SHA256:\S+ \(spec.ssh.hostKey\), the host presented SHA256:\S+/);
  assert.equal(await onHost('m2', listing), before, 'nothing changed on the host');
  const nodes = await guestJson<List<Node>>('get', 'nodes');
  assert.equal(nodes.items.some((node) => node.metadata.name === 'impostor'), false);
  await meta.kubectl('delete', 'machine', 'impostor', '--wait=false');
});

test('deleting a Machine takes its Node out of the guest and leaves no kubelet, containerd or package on the host', { timeout: 180_000 }, async () => {
  assert.match(await onHost('m2', 'pgrep -x kubelet; pgrep -x containerd'), /\d+\n\d+/);
  await meta.kubectl('delete', 'machine', 'm2', '--timeout=120s');
  const nodes = await guestJson<List<Node>>('get', 'nodes');
  assert.deepEqual(nodes.items.map((node) => node.metadata.name), ['m1']);
  // Process names (comm, at most 15 characters): the node stack and every container it ran.
  // Zombies are dead already (the host's init reaps them in its own time) and hold nothing.
  const processes = await onHost('m2', "ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 ~ /^(kubelet|containerd|containerd-shim|kube-proxy|coredns|pause|demo)$/'");
  assert.equal(processes.trim(), '', 'no process of the node stack is left on the host');
  const files = await onHost('m2', 'ls -d /opt/tessera /var/lib/tessera /var/lib/kubelet /var/lib/containerd /etc/kubernetes /etc/containerd /etc/service/kubelet /etc/sv/kubelet 2>/dev/null || true');
  assert.equal(files.trim(), '', 'no package, state or configuration is left on the host');
  // The impostor Machine, refused at its host key, goes without touching the host it named.
  await eventually('the impostor Machine is gone', async () => {
    const list = await meta.kubectlJson<List<Machine>>('get', 'machines');
    return !list.items.some((machine) => machine.metadata.name === 'impostor');
  }, 60_000, 1_000);
});
