// Proof that the node stack is real: without the Node operator, `tessera hosts join` installs the
// packages on two local hosts over SSH (the steps of src/node/join-steps.ts, as the
// operator will run them) and joins them to a guest of the local meta cluster with a bootstrap
// token; then pods run on upstream kubelet, containerd, runc, CNI bridge, kube-proxy and CoreDNS,
// nothing imitated.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MetaClusterCli, eventually } from '../harness/meta-cluster-cli.ts';
import { HOST_KERNEL_SETTINGS, kernelSettingPath } from '../../src/local/hosts/host-disk.ts';
import { readHostRecord, type HostRecord } from '../../src/local/hosts/host-layout.ts';
import { runOnHost } from '../../src/local/hosts/host-ssh.ts';
import { hostCgroupDirectories, hostCgroupProcesses, loadFabric } from '../../src/local/hosts/local-hosts.ts';
import { egressSelectorPath } from '../../src/local/fabric/guest-link.ts';
import { hostNamespace, switchNamespace } from '../../src/local/fabric/vpc-plan.ts';

type Condition = { type: string; status: string };
type Node = { metadata: { name: string; labels: Record<string, string> }; status: { conditions: Condition[]; nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } } };
type Pod = { metadata: { name: string }; spec: { nodeName?: string }; status: { phase?: string; podIP?: string; conditions?: Condition[] } };
type List<T> = { items: T[] };

const VERSION = '1.37.2';
const HOSTS = ['w1', 'w2'];
const meta = await MetaClusterCli.create(6);
const kernelBefore = readKernelSettings();
const guestKubeconfig = join(meta.home, 'hosts', 'proof.kubeconfig');

after(async () => {
  await meta.tessera(['hosts', 'delete', ...HOSTS], 120_000);
  await meta.destroy();
});

function readKernelSettings(): Record<string, string> {
  return Object.fromEntries(HOST_KERNEL_SETTINGS.map((setting) => [setting, readFileSync(kernelSettingPath(setting), 'utf8').trim()]));
}

async function guest(...args: string[]): Promise<string> {
  return meta.kubectl('--kubeconfig', guestKubeconfig, ...args);
}

async function guestJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await guest(...args, '-o', 'json')) as T;
}

async function applyToGuest(objects: readonly object[]): Promise<void> {
  const file = join(meta.home, `guest-${randomBytes(4).toString('hex')}.json`);
  await writeFile(file, objects.map((object) => JSON.stringify(object)).join('\n'));
  await guest('apply', '-f', file);
}

const isReady = (conditions: Condition[] | undefined): boolean => conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function host(name: string): Promise<HostRecord> {
  const record = await readHostRecord(meta.home, name);
  assert.ok(record, `host ${name} exists`);
  return record;
}

test('two hosts join a guest with a bootstrap token and both Nodes become Ready', { timeout: 900_000 }, async () => {
  const up = await meta.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr);
  const created = await meta.tessera(['hosts', 'create', ...HOSTS, '--zone', 'zone-a'], 300_000);
  assert.equal(created.code, 0, created.stderr);

  // The guest's API server reaches kubelets and pods through the fabric's egress proxy.
  await meta.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata:
  name: proof
spec:
  version: "${VERSION}"
  mode: Minimal
  controlPlane:
    apiServer:
      extraArgs:
        egress-selector-config-file: ${egressSelectorPath(meta.home)}
`);
  await eventually('the guest control plane is Ready', async () => {
    const cluster = await meta.kubectlJson<{ status?: { conditions?: Condition[] } }>('get', 'cluster', 'proof');
    return isReady(cluster.status?.conditions);
  }, 300_000, 1_000);
  // The steps the Node operator will take, run by hand: link, bootstrap token, packages over SSH.
  const joined = await meta.tessera(['hosts', 'join', ...HOSTS, '--cluster', 'proof'], 600_000);
  assert.equal(joined.code, 0, joined.stderr);
  assert.doesNotMatch(joined.stderr, /warning/, 'the guest API server has the egress selector');
  assert.match(joined.stderr, /host w1: install kubelet 1\.37\.2/);
  assert.match(joined.stderr, /host w2: configure and start the kubelet/);

  const nodes = await eventually('both Nodes are Ready', async () => {
    const list = await guestJson<List<Node>>('get', 'nodes');
    return list.items.length === 2 && list.items.every((node) => isReady(node.status.conditions)) ? list.items : undefined;
  }, 180_000, 1_000);
  assert.deepEqual(nodes.map((node) => node.metadata.name).sort(), HOSTS);
  for (const node of nodes) {
    assert.equal(node.status.nodeInfo.kubeletVersion, `v${VERSION}`);
    assert.equal(node.status.nodeInfo.containerRuntimeVersion, 'containerd://2.4.2');
    assert.equal(node.metadata.labels['topology.kubernetes.io/zone'], 'zone-a');
  }
  const csrs = await guestJson<List<{ spec: { username: string; signerName: string } }>>('get', 'csr');
  const bootstrapped = csrs.items.filter((csr) => csr.spec.username.startsWith('system:bootstrap:') && csr.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet');
  assert.equal(bootstrapped.length, 2, 'each kubelet asked for its client certificate with the bootstrap token');
  for (const name of HOSTS) {
    const installed = await runOnHost(meta.home, await host(name), 'cat /var/lib/tessera/packages/kubelet.json; readlink /opt/tessera/kubelet/current');
    assert.match(installed.stdout, /"version":"1\.37\.2"/);
    assert.match(installed.stdout, /^1\.37\.2$/m);
  }
});

test('a 2-replica demo Deployment spreads over both hosts, and pods reach each other across hosts', { timeout: 300_000 }, async () => {
  await applyToGuest([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'demo', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'demo' } },
        template: {
          metadata: { labels: { app: 'demo' } },
          spec: {
            affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'demo' } } }] } },
            containers: [{ name: 'demo', image: 'tessera.dev/demo:1.0', imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 2 } }],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'demo', namespace: 'default' }, spec: { selector: { app: 'demo' }, ports: [{ port: 80, targetPort: 8080 }] } },
  ]);
  const pods = await eventually('both demo pods are Ready', async () => {
    const list = await guestJson<List<Pod>>('get', 'pods', '-l', 'app=demo');
    return list.items.length === 2 && list.items.every((pod) => isReady(pod.status.conditions)) ? list.items : undefined;
  }, 180_000, 1_000);
  assert.deepEqual(pods.map((pod) => pod.spec.nodeName).sort(), HOSTS, 'one pod per host');
  const [first, second] = pods;
  assert.ok(first?.status.podIP && second?.status.podIP);
  assert.notEqual(first.status.podIP.split('.')[2], second.status.podIP.split('.')[2], 'the pods live in different hosts\' pod subnets');
  // busybox wget: no -T (it crashes in Debian's static build); `timeout` bounds it instead.
  const answer = await guest('exec', first.metadata.name, '--', 'timeout', '10', 'wget', '-q', '-O-', `http://${second.status.podIP}:8080/`);
  assert.equal(answer.trim(), second.metadata.name, 'the pod on the other host answers with its name');
});

test('a pod reaches a Service by its cluster DNS name, served by CoreDNS on the hosts', { timeout: 300_000 }, async () => {
  const pods = await guestJson<List<Pod>>('get', 'pods', '-l', 'app=demo');
  const client = pods.items[0];
  assert.ok(client);
  const names = new Set(pods.items.map((pod) => pod.metadata.name));
  const answer = await eventually('demo.default.svc.cluster.local answers', async () => {
    const out = await guest('exec', client.metadata.name, '--', 'timeout', '10', 'wget', '-q', '-O-', 'http://demo.default.svc.cluster.local/').catch(() => '');
    return names.has(out.trim()) ? out.trim() : undefined;
  }, 180_000, 2_000);
  assert.ok(names.has(answer));
  const coreDns = await guestJson<List<Pod>>('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns');
  assert.ok(coreDns.items.length > 0 && coreDns.items.every((pod) => HOSTS.includes(pod.spec.nodeName ?? '')), 'CoreDNS runs on the hosts');
});

test('kubectl logs and kubectl exec reach guest pods through the egress proxy', { timeout: 120_000 }, async () => {
  const pods = await guestJson<List<Pod>>('get', 'pods', '-l', 'app=demo');
  for (const pod of pods.items) {
    const logs = await guest('logs', pod.metadata.name);
    assert.match(logs, new RegExp(`demo: serving ${pod.metadata.name} on :8080`));
    const hostname = await guest('exec', pod.metadata.name, '--', 'cat', '/etc/hostname');
    assert.equal(hostname.trim(), pod.metadata.name);
  }
});

test('the box\'s kernel settings are unchanged although both kubelets set their own', async () => {
  for (const name of HOSTS) {
    // The kubelet writes the values without a newline: one echo per file.
    const seen = await runOnHost(meta.home, await host(name), 'for f in vm/overcommit_memory kernel/panic kernel/panic_on_oops; do echo "$(cat /proc/sys/$f)"; done');
    assert.deepEqual(seen.stdout.trim().split('\n'), ['1', '10', '1'], `the kubelet on ${name} applied its settings to the host's own view`);
  }
  assert.deepEqual(readKernelSettings(), kernelBefore);
});

test('hosts delete leaves no process, mount, namespace or cgroup behind', { timeout: 300_000 }, async () => {
  const fabric = await loadFabric(meta.home);
  const pids = (await Promise.all(HOSTS.map((name) => hostCgroupProcesses(meta.home, name)))).flat();
  assert.ok(pids.length > 10, `kubelet, containerd, shims and pods run on the hosts (${pids.length} processes)`);
  const deleted = await meta.tessera(['hosts', 'delete', ...HOSTS], 240_000);
  assert.equal(deleted.code, 0, deleted.stderr);
  const alive = pids.filter((pid) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')));
  assert.deepEqual(alive, [], 'every process of the hosts is gone');
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  assert.equal(mounts.includes(join(meta.home, 'hosts')), false, 'no mount of a host is left on the box');
  for (const name of HOSTS) {
    assert.equal(existsSync(`/run/netns/${hostNamespace(fabric, name)}`), false, `${name}'s network namespace is gone`);
    assert.deepEqual(await hostCgroupDirectories(meta.home, name), [], `${name}'s cgroups are gone`);
  }
  assert.equal(existsSync(`/run/netns/${switchNamespace(fabric)}`), false, 'the switch goes with the last host');
  assert.deepEqual(readKernelSettings(), kernelBefore);
});
