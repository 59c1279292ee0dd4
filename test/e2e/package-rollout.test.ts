// Package rollouts end to end, on real hosts (sshd, containerd, kubelet) joined to a real guest by
// the Node operator: four Machines in two zones on kubelet 1.36.3; a rollout of kubelet 1.37.2 with
// canary 1 and waves 50% -> 100%, paused during wave 1 and resumed, finishes with every host on
// 1.37.2 (each upgraded once) and the ClusterPackageVersion moved; a rollout of the deliberately
// broken kubelet fails verification on the canary, rolls it back, keeps it cordoned, names the
// node and the check, and leaves the ClusterPackageVersion unchanged. The rollout operator runs as
// a process of its own (src/operators/rollout/main.ts), killed with SIGKILL three times during the
// first rollout and started again; the other operators run in `tessera up`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MetaClusterCli, eventually } from '../harness/meta-cluster-cli.ts';
import { readHostRecord } from '../../src/local/hosts/host-layout.ts';
import { runOnHost } from '../../src/local/hosts/host-ssh.ts';
import { defaultPackages } from '../../src/operators/machine/package-plan.ts';
import { BROKEN_KUBELET_VERSION } from '../../src/node/catalogue.ts';
import type { PackageRollout } from '../../src/api/v1alpha1/package-rollout.ts';

type Condition = { type: string; status: string; reason?: string; message?: string };
type Machine = { metadata: { name: string }; spec: { packages?: { name: string; version?: string }[] }; status?: { conditions?: Condition[]; packages?: { name: string; version: string }[] } };
type Node = { metadata: { name: string }; spec: { unschedulable?: boolean }; status: { conditions: Condition[]; nodeInfo: { kubeletVersion: string } } };
type Event = { reason: string; message: string; type: string; count?: number; involvedObject: { kind: string; name: string }; metadata: { resourceVersion: string } };
type List<T> = { items: T[] };

const GUEST_VERSION = '1.37.2';
const OLD_KUBELET = '1.36.3';
const ZONES: Record<string, string[]> = { 'zone-a': ['w1', 'w2'], 'zone-b': ['w3', 'w4'] };
const HOSTS = Object.values(ZONES).flat();
const meta = await MetaClusterCli.create(12);
// Converged Machines are looked at every 3 s, so the Node operator's health check follows a change quickly.
meta.env['TESSERA_MACHINE_HEALTH_PERIOD_MS'] = '3000';
meta.env['TESSERA_EMBEDDED_ROLLOUTS'] = '0';
const guestKubeconfig = join(meta.home, 'guest.kubeconfig');

/** The rollout operator as its own process, killed with SIGKILL as a crash would end it. */
class RolloutOperatorProcess {
  private child: ChildProcess | undefined;
  readonly unexpectedExits: string[] = [];
  kills = 0;

  start(): void {
    const log = openSync(join(meta.home, 'rollout-operator.log'), 'a');
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../src/operators/rollout/main.ts', import.meta.url)), '--kubeconfig', join(meta.home, 'kubeconfig'), '--no-leader-elect'], { env: meta.env, stdio: ['ignore', log, log] });
    closeSync(log);
    child.once('exit', (code, signal) => {
      if (this.child === child) this.unexpectedExits.push(`${signal ?? `exit ${code}`}`);
    });
    this.child = child;
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.kills++;
  }
}
const rolloutOperator = new RolloutOperatorProcess();

after(async () => {
  await rolloutOperator.kill();
  await meta.tessera(['hosts', 'delete', ...HOSTS], 120_000);
  await meta.destroy();
});

const ready = (conditions: Condition[] | undefined) => conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const kubeletOf = (machine: Machine) => machine.status?.packages?.find((entry) => entry.name === 'kubelet')?.version;
const guestJson = async <T>(...args: string[]): Promise<T> => JSON.parse(await meta.kubectl('--kubeconfig', guestKubeconfig, ...args, '-o', 'json')) as T;
const rollout = (name: string) => meta.kubectlJson<PackageRollout>('get', 'packagerollout', name);
async function hostKubelet(name: string): Promise<string> {
  const record = await readHostRecord(meta.home, name);
  assert.ok(record, `host ${name} exists`);
  return (JSON.parse((await runOnHost(meta.home, record, 'cat /var/lib/tessera/packages/kubelet.json')).stdout) as { version: string }).version;
}
async function eventsOf(kind: string, name: string): Promise<Event[]> {
  const list = await meta.kubectlJson<List<Event>>('get', 'events', '--field-selector', `involvedObject.kind=${kind},involvedObject.name=${name}`);
  // Event times have whole seconds; the API server's resourceVersions (etcd revisions here) keep their creation order.
  return list.items.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
}
/** How many times the Node operator installed `version` of the kubelet on each Machine (its PackageInstalled Events; repeats bump an Event's count). */
async function installs(version: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const host of HOSTS) counts[host] = (await eventsOf('Machine', host)).filter((event) => event.reason === 'PackageInstalled' && event.message.startsWith(`kubelet ${version} installed`)).reduce((sum, event) => sum + (event.count ?? 1), 0);
  return counts;
}

test('four Machines in two zones join the guest on kubelet 1.36.3', { timeout: 600_000 }, async () => {
  const up = await meta.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr);
  rolloutOperator.start();
  // The Cluster's package defaults, with the older kubelet, exist before the Cluster: the Node operator keeps them.
  const packages = defaultPackages(GUEST_VERSION).map((entry) => (entry.name === 'kubelet' ? { ...entry, version: OLD_KUBELET } : entry));
  await meta.apply(JSON.stringify({ apiVersion: 'tessera.dev/v1alpha1', kind: 'ClusterPackageVersion', metadata: { name: 'guest' }, spec: { clusterName: 'guest', packages } }));
  const manifests: string[] = [];
  for (const [zone, hosts] of Object.entries(ZONES)) {
    const created = await meta.tessera(['hosts', 'create', ...hosts, '--zone', zone, '--cluster', 'guest', '-o', 'yaml'], 300_000);
    assert.equal(created.code, 0, created.stderr);
    manifests.push(created.stdout);
  }
  await meta.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata:
  name: guest
spec:
  version: "${GUEST_VERSION}"
  mode: Minimal
`);
  for (const manifest of manifests) await meta.apply(manifest);
  const started = Date.now();
  await eventually('four Machines are Ready on kubelet 1.36.3', async () => {
    const list = await meta.kubectlJson<List<Machine>>('get', 'machines');
    return list.items.length === 4 && list.items.every((machine) => ready(machine.status?.conditions) && kubeletOf(machine) === OLD_KUBELET);
  }, 480_000, 2_000);
  process.stderr.write(`package-rollout: four Machines Ready on kubelet ${OLD_KUBELET} ${((Date.now() - started) / 1000).toFixed(1)} s after they were applied\n`);
  const kubeconfig = Buffer.from(await meta.kubectl('get', 'secret', 'guest-admin-kubeconfig', '-o', 'jsonpath={.data.kubeconfig}'), 'base64').toString();
  await writeFile(guestKubeconfig, kubeconfig, { mode: 0o600 });
  const nodes = await guestJson<List<Node>>('get', 'nodes');
  assert.deepEqual(nodes.items.map((node) => node.status.nodeInfo.kubeletVersion).sort(), HOSTS.map(() => `v${OLD_KUBELET}`));
});

test('kubelet 1.37.2 rolls out canary 1 -> 50% -> 100% with the operator killed three times; paused in wave 1 no new Machine starts; resumed it finishes, each host upgraded once, and the ClusterPackageVersion moves', { timeout: 900_000 }, async () => {
  await meta.apply(`apiVersion: tessera.dev/v1alpha1
kind: PackageRollout
metadata:
  name: kubelet-1-37-2
spec:
  clusterName: guest
  package: {name: kubelet, version: "${GUEST_VERSION}"}
  canary: 1
  waves: ["50%", "100%"]
  maxUnavailable: 1
  verification: {soak: 10s, timeout: 4m}
`);
  const started = Date.now();
  // The operator dies while the canary is being upgraded, and comes back.
  await eventually('the canary is in flight', async () => {
    const current = await rollout('kubelet-1-37-2');
    return current.status?.nodes?.some((node) => node.step === 0 && ['Draining', 'Upgrading', 'Verifying'].includes(node.state));
  }, 400_000, 250);
  await rolloutOperator.kill();
  rolloutOperator.start();
  // Pause while wave 1's Machine is in flight (and kill the operator once more right after).
  await eventually('wave 1 has a Machine in flight', async () => {
    const current = await rollout('kubelet-1-37-2');
    return current.status?.nodes?.some((node) => node.step === 1 && ['Draining', 'Upgrading', 'Verifying'].includes(node.state));
  }, 400_000, 500);
  await meta.kubectl('patch', 'packagerollout', 'kubelet-1-37-2', '--type', 'merge', '-p', '{"spec":{"paused":true}}');
  const pausedAt = Date.now();
  await rolloutOperator.kill();
  rolloutOperator.start();
  // The Machine in flight finishes and wave 1 is verified in the same decision that would start wave 2:
  // seeing wave 1 verified with wave 2 all Pending shows the pause held.
  const paused = await eventually('wave 1 verified while paused', async () => {
    const current = await rollout('kubelet-1-37-2');
    return (current.status?.currentStep ?? 0) >= 2 ? current : undefined;
  }, 300_000, 500);
  assert.equal(paused.status?.phase, 'Paused');
  assert.match(paused.status?.conditions?.find((condition) => condition.type === 'Paused')?.message ?? '', /spec\.paused is true \(set by kubectl-patch/);
  assert.deepEqual(paused.status?.nodes?.filter((node) => node.step === 2).map((node) => node.state), ['Pending', 'Pending']);
  const nodesWhilePaused = await guestJson<List<Node>>('get', 'nodes');
  assert.equal(nodesWhilePaused.items.filter((node) => node.spec.unschedulable).length, 0, 'nothing is cordoned while paused between waves');
  await meta.kubectl('patch', 'packagerollout', 'kubelet-1-37-2', '--type', 'merge', '-p', '{"spec":{"paused":false}}');
  const resumedAt = Date.now();
  // And once more while wave 2 is in flight.
  await eventually('wave 2 has a Machine in flight', async () => {
    const current = await rollout('kubelet-1-37-2');
    return current.status?.phase === 'Succeeded' || current.status?.nodes?.some((node) => node.step === 2 && ['Draining', 'Upgrading', 'Verifying'].includes(node.state));
  }, 300_000, 250);
  await rolloutOperator.kill();
  rolloutOperator.start();
  const done = await eventually('the rollout succeeded', async () => {
    const current = await rollout('kubelet-1-37-2');
    if (current.status?.phase === 'RolledBack' || current.status?.phase === 'Failed') throw new Error(`rollout ended ${current.status.phase}: ${current.status.failure?.message}`);
    return current.status?.phase === 'Succeeded' ? current : undefined;
  }, 600_000, 1_000);
  const seconds = (Date.now() - started - (resumedAt - pausedAt)) / 1000;
  process.stderr.write(`package-rollout: kubelet ${OLD_KUBELET} -> ${GUEST_VERSION} on 4 Machines (canary, 2 waves, soak 10 s each) in ${seconds.toFixed(1)} s, not counting ${((resumedAt - pausedAt) / 1000).toFixed(1)} s paused\n`);

  assert.deepEqual(done.status?.counts, { total: 4, updated: 4, verified: 4, failed: 0, remaining: 0, skipped: 0 });
  assert.deepEqual(done.status?.nodes?.map((node) => [node.machine, node.step, node.fromVersion, node.state]), [['w1', 0, OLD_KUBELET, 'Verified'], ['w3', 1, OLD_KUBELET, 'Verified'], ['w2', 2, OLD_KUBELET, 'Verified'], ['w4', 2, OLD_KUBELET, 'Verified']]);
  const defaults = await meta.kubectlJson<{ spec: { packages: { name: string; version: string }[] } }>('get', 'clusterpackageversion', 'guest');
  assert.equal(defaults.spec.packages.find((entry) => entry.name === 'kubelet')?.version, GUEST_VERSION);
  // Every Machine reports what its host records; the rollout's overrides are gone (the default holds the version now).
  const machines = await eventually('the overrides are released', async () => {
    const list = await meta.kubectlJson<List<Machine>>('get', 'machines');
    return list.items.every((machine) => !machine.spec.packages?.some((entry) => entry.name === 'kubelet')) ? list.items : undefined;
  }, 60_000, 1_000);
  for (const machine of machines) {
    assert.equal(kubeletOf(machine), GUEST_VERSION, machine.metadata.name);
    assert.equal(await hostKubelet(machine.metadata.name), GUEST_VERSION, `${machine.metadata.name} host record`);
  }
  const nodes = await guestJson<List<Node>>('get', 'nodes');
  for (const node of nodes.items) {
    assert.equal(node.status.nodeInfo.kubeletVersion, `v${GUEST_VERSION}`, node.metadata.name);
    assert.ok(ready(node.status.conditions), `${node.metadata.name} Ready`);
    assert.ok(!node.spec.unschedulable, `${node.metadata.name} uncordoned`);
  }
  assert.deepEqual(await installs(GUEST_VERSION), { w1: 1, w2: 1, w3: 1, w4: 1 }, 'each host got the new kubelet once');
  assert.equal(rolloutOperator.kills, 3, 'the rollout operator was killed three times during the rollout');
  assert.deepEqual(rolloutOperator.unexpectedExits, [], 'the rollout operator never exited by itself');
  const reasons = (await eventsOf('PackageRollout', 'kubelet-1-37-2')).map((event) => `${event.reason}${event.reason === 'StepStarted' || event.reason === 'StepVerified' ? ` ${/^(canary|wave \d of \d)/.exec(event.message)?.[0]}` : ''}`);
  // Decisions of separate passes, in order (Events of one pass are sent concurrently).
  // (The last StepVerified and Promoting come from one pass, so either may be first.)
  const order = ['RolloutStarted', 'NodeUpgraded', 'NodeHealthy', 'StepVerified canary', 'Paused', 'StepVerified wave 1 of 2', 'Resumed', 'StepVerified wave 2 of 2', 'Succeeded'];
  assert.ok(reasons.indexOf('Promoting') > reasons.indexOf('Resumed') && reasons.indexOf('Promoting') < reasons.indexOf('Succeeded'), `Promoting after Resumed and before Succeeded: ${reasons.join(', ')}`);
  let at = -1;
  for (const reason of order) {
    const next = reasons.indexOf(reason, at + 1);
    assert.ok(next > at, `Event ${reason} after the ones before it: ${reasons.join(', ')}`);
    at = next;
  }
});

test(`a rollout of ${BROKEN_KUBELET_VERSION} fails verification on the canary, rolls it back, keeps it cordoned and leaves the ClusterPackageVersion unchanged`, { timeout: 600_000 }, async () => {
  await meta.apply(`apiVersion: tessera.dev/v1alpha1
kind: PackageRollout
metadata:
  name: kubelet-broken
spec:
  clusterName: guest
  package: {name: kubelet, version: "${BROKEN_KUBELET_VERSION}"}
  canary: 1
  waves: ["50%", "100%"]
  verification: {soak: 10s, timeout: 60s}
`);
  const started = Date.now();
  const done = await eventually('the rollout rolled back', async () => {
    const current = await rollout('kubelet-broken');
    if (current.status?.phase === 'Succeeded' || current.status?.phase === 'Failed') throw new Error(`rollout ended ${current.status.phase}`);
    return current.status?.phase === 'RolledBack' ? current : undefined;
  }, 420_000, 1_000);
  process.stderr.write(`package-rollout: ${BROKEN_KUBELET_VERSION} failed on the canary and was rolled back ${((Date.now() - started) / 1000).toFixed(1)} s after the rollout was applied: ${done.status?.failure?.message}\n`);
  const failure = done.status?.failure;
  assert.equal(failure?.machine, 'w1');
  assert.equal(failure?.node, 'w1');
  // Which check sees it first depends on timing: the Node operator's restart of the kubelet fails
  // (PackageInstalled), or the kubelet never answers /healthz (PackageHealthy), or the Node never reports it (NodeReady).
  assert.match(failure?.check ?? '', /^(PackageInstalled|PackageHealthy|NodeReady)$/);
  assert.match(failure?.message ?? '', /kubelet/);
  assert.match(done.status?.conditions?.find((condition) => condition.type === 'Progressing')?.message ?? '', /w1 failed (PackageInstalled|PackageHealthy|NodeReady).*ClusterPackageVersion guest is unchanged; w1 stay\(s\) cordoned/);
  assert.deepEqual(done.status?.nodes?.map((node) => [node.machine, node.state, node.failed ?? false]), [['w1', 'RolledBack', true], ['w3', 'Pending', false], ['w2', 'Pending', false], ['w4', 'Pending', false]]);
  // Exactly the canary was touched.
  assert.deepEqual(await installs(BROKEN_KUBELET_VERSION), { w1: 1, w2: 0, w3: 0, w4: 0 });
  const defaults = await meta.kubectlJson<{ spec: { packages: { name: string; version: string }[] } }>('get', 'clusterpackageversion', 'guest');
  assert.equal(defaults.spec.packages.find((entry) => entry.name === 'kubelet')?.version, GUEST_VERSION);
  const machines = await meta.kubectlJson<List<Machine>>('get', 'machines');
  for (const machine of machines.items) {
    assert.equal(kubeletOf(machine), GUEST_VERSION, machine.metadata.name);
    assert.equal(await hostKubelet(machine.metadata.name), GUEST_VERSION, `${machine.metadata.name} host record`);
    assert.ok(!machine.spec.packages?.some((entry) => entry.name === 'kubelet'), `${machine.metadata.name} has no kubelet override left`);
  }
  const nodes = await guestJson<List<Node>>('get', 'nodes');
  for (const node of nodes.items) {
    assert.ok(ready(node.status.conditions), `${node.metadata.name} Ready`);
    assert.equal(node.status.nodeInfo.kubeletVersion, `v${GUEST_VERSION}`, node.metadata.name);
    assert.equal(node.spec.unschedulable ?? false, node.metadata.name === 'w1', `${node.metadata.name} cordoned only if it failed`);
  }
  const reasons = (await eventsOf('PackageRollout', 'kubelet-broken')).map((event) => event.reason);
  for (const reason of ['RolloutStarted', 'NodeStarted', 'VerificationFailed', 'RollingBack', 'NodeRollingBack', 'NodeRolledBack', 'RolledBack']) assert.ok(reasons.includes(reason), `Event ${reason} in ${reasons.join(', ')}`);
});
