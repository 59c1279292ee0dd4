import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Machine } from '../../api/v1alpha1/machine.ts';
import { FakeGuest, FakeHost, FakeMeta, fakeConnector, fakeOptions, keyOf, machineFor, readyCluster } from './fake-host.ts';
import { MachineReconciler } from './reconciler.ts';
import { fingerprintOf } from './host-access.ts';
import { DEFAULT_REMEDIATION } from './remediation-policy.ts';

const now = () => new Date('2026-12-06T12:00:00Z');

function setup(hostNames: string[] = ['w1']) {
  const meta = new FakeMeta();
  meta.clusters.set('default/shop', readyCluster());
  const hosts: Record<string, FakeHost> = {};
  const guest = new FakeGuest();
  for (const [index, name] of hostNames.entries()) {
    const address = `127.200.0.${index + 1}`;
    const host = new FakeHost(name);
    host.onKubeletStart = () => guest.register(name);
    hosts[address] = host;
    meta.secrets.set(`default/${name}-ssh-key`, { 'ssh-privatekey': 'PRIVATE KEY' });
    meta.machines.set(`default/${name}`, machineFor(name, address, host.hostKey));
  }
  const connect = fakeConnector(hosts);
  const options = fakeOptions(meta, connect, guest, now);
  const reconciler = new MachineReconciler(options, (key) => meta.machines.get(key));
  const condition = (name: string, type: string) => meta.machines.get(`default/${name}`)?.status?.conditions?.find((entry) => entry.type === type);
  return { meta, hosts, guest, connect, options, reconciler, condition, host: (name: string) => Object.values(hosts).find((host) => host.hostname === name)! };
}

test('a new Machine gets the Cluster default packages in dependency order, joins with the bootstrap token and becomes Ready', async () => {
  const { reconciler, meta, condition, host, guest } = setup();
  await reconciler.reconcile('default/w1');
  await reconciler.reconcile('default/w1');
  const machine = meta.machines.get('default/w1') as Machine;
  assert.equal(machine.status?.phase, 'Ready', JSON.stringify(machine.status?.conditions));
  for (const type of ['HostReachable', 'HostKeyVerified', 'PackagesInstalled', 'NodeJoined', 'NodeReady', 'Ready']) assert.equal(condition('w1', type)?.status, 'True', type);
  assert.deepEqual(host('w1').uploads.map((path) => path.replace('/var/lib/tessera/uploads/', '')), ['runc-1.5.3.tar.gz', 'cni-plugins-1.10.0.tar.gz', 'containerd-2.4.2.tar.gz', 'pause-3.10.2.tar.gz', 'kubelet-1.37.2.tar.gz', 'kube-proxy-1.37.2.tar.gz', 'coredns-1.14.6.tar.gz', 'demo-1.0.tar.gz']);
  assert.equal(machine.status?.packages?.find((entry) => entry.name === 'kubelet')?.version, '1.37.2');
  assert.equal(machine.status?.nodeName, 'w1');
  assert.ok(host('w1').changes.some((script) => script.includes('token: tok000.0123456789abcdef')), 'the kubelet bootstraps with a token issued for this Machine');
  assert.deepEqual(guest.tokens.get('w1-uid'), [], 'the token is deleted once the Node is Ready');
  assert.equal(guest.nodes.get('w1')?.metadata?.labels?.['node-role.kubernetes.io/worker'], '');
  assert.equal(guest.nodes.get('w1')?.metadata?.annotations?.['tessera.dev/machine'], 'default/w1');
  assert.equal(meta.packageVersions.get('default/shop')?.spec.packages.find((entry) => entry.name === 'kubelet')?.version, '1.37.2');
});

test('only this Machine\'s kubelet CSRs are approved: its own token\'s client request, not a stranger\'s claim on its name, not another node\'s', async () => {
  const { reconciler, guest, host } = setup();
  const request = (commonName: string) => execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-subj', `/O=system:nodes/CN=${commonName}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const csr = (name: string, username: string, commonName: string) => ({ name, signerName: 'kubernetes.io/kube-apiserver-client-kubelet', username, groups: ['system:bootstrappers'], usages: ['digital signature', 'client auth'], requestPem: request(commonName) });
  host('w1').onKubeletStart = () => {
    const id = guest.tokens.get('w1-uid')?.[0]?.id ?? '';
    guest.csrs.push(csr('own', `system:bootstrap:${id}`, 'system:node:w1'), csr('stranger', 'system:bootstrap:zzz999', 'system:node:w1'), csr('hand-joined', 'system:bootstrap:yyy888', 'system:node:other'));
  };
  await reconciler.reconcile('default/w1');
  assert.deepEqual(guest.decisions.map((decision) => [decision.name, decision.verdict.verdict]), [['own', 'approve'], ['stranger', 'deny']]);
});

test('a converged Machine costs one read-only probe per pass and no status write', async () => {
  const { reconciler, meta, host } = setup();
  await reconciler.reconcile('default/w1');
  await reconciler.reconcile('default/w1');
  const changes = host('w1').changes.length;
  const writes = meta.statusWrites;
  const result = await reconciler.reconcile('default/w1');
  assert.equal(host('w1').changes.length, changes, 'nothing was run on the host but the probe');
  assert.equal(meta.statusWrites, writes);
  assert.equal(result.requeueAfter, 30_000);
});

test('an unreachable host: HostReachable False with the reason, nothing else attempted, retried later', async () => {
  const { reconciler, meta, condition, host } = setup();
  host('w1').reachable = false;
  const result = await reconciler.reconcile('default/w1');
  assert.equal(condition('w1', 'HostReachable')?.status, 'False');
  assert.equal(condition('w1', 'HostReachable')?.reason, 'Unreachable');
  assert.match(condition('w1', 'HostReachable')?.message ?? '', /ECONNREFUSED/);
  assert.equal(condition('w1', 'HostKeyVerified')?.status, 'Unknown');
  assert.equal(condition('w1', 'PackagesInstalled'), undefined);
  assert.equal(meta.machines.get('default/w1')?.status?.phase, 'Provisioning');
  assert.equal(result.requeueAfter, 15_000);
});

test('a host presenting another key than spec.ssh.hostKey: HostKeyVerified False with both fingerprints, a Warning, and no command run', async () => {
  const { reconciler, meta, condition, host, options } = setup();
  host('w1').hostKey = keyOf('reinstalled');
  await reconciler.reconcile('default/w1');
  assert.equal(condition('w1', 'HostKeyVerified')?.status, 'False');
  assert.equal(condition('w1', 'HostKeyVerified')?.message, `expected ${fingerprintOf(keyOf('w1'))} (spec.ssh.hostKey), the host presented ${fingerprintOf(keyOf('reinstalled'))}; nothing was run on it`);
  assert.deepEqual(host('w1').commands, []);
  assert.deepEqual(host('w1').uploads, []);
  assert.equal(meta.machines.get('default/w1')?.status?.phase, 'Failed');
  assert.ok(options.recorded.some((event) => event.type === 'Warning' && event.reason === 'HostKeyMismatch'));
});

test('a package that fails to install: PackagesInstalled False with the host\'s error, the operation recorded, no kubelet started, retried with backoff', async () => {
  const { reconciler, meta, condition, host, options } = setup();
  host('w1').failInstallOf = 'containerd';
  const result = await reconciler.reconcile('default/w1');
  assert.deepEqual(result, { requeue: true });
  assert.equal(condition('w1', 'PackagesInstalled')?.reason, 'InstallFailed');
  assert.match(condition('w1', 'PackagesInstalled')?.message ?? '', /install containerd 2\.4\.2 failed on the host \(exit 1\): sha256sum: WARNING/);
  const status = meta.machines.get('default/w1')?.status;
  assert.equal(status?.lastOperation?.state, 'Failed');
  assert.equal(status?.lastOperation?.description, 'install containerd 2.4.2');
  assert.deepEqual(status?.packages?.map((entry) => entry.name), ['cni-plugins', 'runc'], 'status.packages is what the host has, not what was asked for');
  assert.equal(host('w1').services.kubelet, 'missing');
  assert.ok(options.recorded.some((event) => event.type === 'Warning' && event.reason === 'InstallFailed'));
});

test('an override naming a version the catalogue lacks, or a kubelet newer than the API server, is refused naming the field', async () => {
  const { reconciler, meta, condition, host } = setup();
  const machine = meta.machines.get('default/w1') as Machine;
  meta.machines.set('default/w1', { ...machine, spec: { ...machine.spec, packages: [{ name: 'containerd', version: '9.9.9' }] } });
  await reconciler.reconcile('default/w1');
  assert.equal(condition('w1', 'PackagesInstalled')?.reason, 'Refused');
  assert.match(condition('w1', 'PackagesInstalled')?.message ?? '', /^spec\.packages\[0\]\.version: package containerd has no version "9\.9\.9"/);
  assert.deepEqual(host('w1').uploads, []);
  meta.clusters.set('default/shop', readyCluster('shop', '1.36.3'));
  meta.machines.set('default/w1', { ...machine, spec: { ...machine.spec, packages: [{ name: 'kubelet', version: '1.37.2' }] } });
  meta.packageVersions.clear();
  await reconciler.reconcile('default/w1');
  assert.match(condition('w1', 'PackagesInstalled')?.message ?? '', /spec\.packages\[0\]\.version: kubelet 1\.37\.2 is newer than the guest's API server 1\.36\.3/);
});

test('a stopped kubelet is restarted with an Event and Remediating True, then Remediating False once healthy', async () => {
  const { reconciler, meta, condition, host, options } = setup(['w1', 'w2']);
  for (const name of ['w1', 'w2']) for (let pass = 0; pass < 2; pass++) await reconciler.reconcile(`default/${name}`);
  host('w1').services.kubelet = 'down';
  await reconciler.reconcile('default/w1');
  assert.ok(host('w1').changes.some((script) => script.includes('sv restart /etc/service/kubelet')));
  assert.equal(condition('w1', 'Remediating')?.status, 'True');
  assert.equal(condition('w1', 'Remediating')?.reason, 'ServiceRestarted');
  assert.ok(options.recorded.some((event) => event.reason === 'ServiceRestarted' && event.machine === 'w1'));
  await reconciler.reconcile('default/w1');
  assert.equal(condition('w1', 'Remediating')?.status, 'False');
  assert.equal(meta.machines.get('default/w1')?.status?.remediation, undefined);
  assert.equal(meta.machines.get('default/w1')?.status?.phase, 'Ready');
});

test('a Machine a package rollout is changing is not repaired: the rollout\'s verification decides', async () => {
  const { reconciler, meta, condition, host } = setup(['w1', 'w2']);
  for (const name of ['w1', 'w2']) for (let pass = 0; pass < 2; pass++) await reconciler.reconcile(`default/${name}`);
  meta.rollouts.set('w1', 'PackageRollout canary (kubelet 1.37.2-tessera.broken, Verifying)');
  host('w1').services.kubelet = 'down';
  const before = host('w1').changes.length;
  await reconciler.reconcile('default/w1');
  assert.equal(host('w1').changes.length, before, 'no restart or reinstall while the rollout owns the host');
  assert.equal(condition('w1', 'Remediating')?.reason, 'HeldByRollout');
  assert.match(condition('w1', 'Remediating')?.message ?? '', /PackageRollout canary .* its verification decides/);
});

test('no remediation while two of three Machines of the Cluster are unhealthy: the condition says why and nothing runs', async () => {
  const { reconciler, condition, host, options, meta } = setup(['w1', 'w2', 'w3']);
  for (const name of ['w1', 'w2', 'w3']) for (let pass = 0; pass < 2; pass++) await reconciler.reconcile(`default/${name}`);
  host('w2').reachable = false;
  await reconciler.reconcile('default/w2');
  host('w1').services.kubelet = 'down';
  const before = host('w1').changes.length;
  await reconciler.reconcile('default/w1');
  assert.equal(host('w1').changes.length, before, 'no repair was attempted');
  assert.equal(condition('w1', 'Remediating')?.reason, 'HeldTooManyUnhealthy');
  assert.match(condition('w1', 'Remediating')?.message ?? '', /kubelet service is down: 2 of 3 Machines of the Cluster are unhealthy/);
  assert.ok(options.recorded.some((event) => event.reason === 'RemediationHeld'));
  assert.equal(DEFAULT_REMEDIATION.maxUnhealthyPercent, 55);
  assert.equal(condition('w2', 'Remediating')?.reason, 'WaitingForHost', 'alone, the powered-off host waits for its host');
  await reconciler.reconcile('default/w2');
  assert.equal(condition('w2', 'Remediating')?.reason, 'HeldTooManyUnhealthy', 'with w1 down too, the unreachable host says it is held');
  assert.match(condition('w2', 'Remediating')?.message ?? '', /^the host does not answer SSH .*2 of 3 Machines/);
  const machinesHealthy = meta.clusterConditions.get('default/shop')?.find((entry) => entry.type === 'MachinesHealthy');
  assert.equal(machinesHealthy?.status, 'False');
  assert.equal(machinesHealthy?.reason, 'HeldTooManyUnhealthy');
  assert.match(machinesHealthy?.message ?? '', /2 of 3 Machines unhealthy \(w1, w2\), more than 55%/);
  host('w2').reachable = true;
  host('w1').services.kubelet = 'run';
  for (const name of ['w2', 'w1']) await reconciler.reconcile(`default/${name}`);
  assert.equal(meta.clusterConditions.get('default/shop')?.find((entry) => entry.type === 'MachinesHealthy')?.reason, 'AllHealthy');
});

test('deleting a Machine cordons and deletes its Node, cleans the host over SSH, then releases the finalizer', async () => {
  const { reconciler, meta, host, guest } = setup();
  await reconciler.reconcile('default/w1');
  await reconciler.reconcile('default/w1');
  const machine = meta.machines.get('default/w1') as Machine;
  meta.machines.set('default/w1', { ...machine, metadata: { ...machine.metadata, deletionTimestamp: '2026-12-06T12:00:00Z' } });
  await reconciler.reconcile('default/w1');
  assert.deepEqual(guest.deleted, ['w1']);
  assert.ok(host('w1').changes.some((script) => script.includes('rm -rf /opt/tessera')));
  assert.equal(host('w1').packages.size, 0);
  assert.deepEqual(meta.finalizerRemoved, ['w1']);
});

test('deleting a Machine whose host key never matched releases it without logging in', async () => {
  const { reconciler, meta, host, connect } = setup();
  host('w1').hostKey = keyOf('impostor');
  await reconciler.reconcile('default/w1');
  const connections = connect.connections;
  const machine = meta.machines.get('default/w1') as Machine;
  meta.machines.set('default/w1', { ...machine, metadata: { ...machine.metadata, deletionTimestamp: '2026-12-06T12:00:00Z' } });
  await reconciler.reconcile('default/w1');
  assert.equal(connect.connections, connections);
  assert.deepEqual(meta.finalizerRemoved, ['w1']);
});

test('deletion drains the Node through the Eviction API, skipping DaemonSet pods, and waits on a PodDisruptionBudget without forcing', async () => {
  const { reconciler, meta, host, guest } = setup();
  await reconciler.reconcile('default/w1');
  await reconciler.reconcile('default/w1');
  const pod = (name: string, owner?: string) => ({ metadata: { name, namespace: 'default', ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner, name: 'x', uid: 'u' }] } : {}) }, spec: { nodeName: 'w1', containers: [] }, status: { phase: 'Running' } });
  guest.pods = [pod('web-1', 'ReplicaSet'), pod('db-0', 'StatefulSet'), pod('kube-proxy-abc', 'DaemonSet')];
  guest.protectedPods.add('default/db-0');
  const machine = meta.machines.get('default/w1') as Machine;
  meta.machines.set('default/w1', { ...machine, metadata: { ...machine.metadata, deletionTimestamp: '2026-12-06T12:00:00Z' } });
  const waiting = await reconciler.reconcile('default/w1');
  assert.equal(waiting.requeueAfter, 5_000);
  assert.deepEqual(guest.evictions, ['default/web-1']);
  assert.equal(guest.nodes.get('w1')?.spec?.unschedulable, true, 'cordoned first');
  assert.deepEqual(guest.deleted, [], 'the Node stays while a pod is protected');
  assert.equal(host('w1').changes.some((script) => script.includes('rm -rf /opt/tessera')), false, 'the host is not touched while draining');
  assert.match(meta.machines.get('default/w1')?.status?.lastOperation?.error ?? '', /draining w1: evictions refused by a PodDisruptionBudget: default\/db-0/);
  guest.protectedPods.clear();
  await reconciler.reconcile('default/w1');
  assert.deepEqual(guest.evictions, ['default/web-1', 'default/db-0']);
  assert.deepEqual(guest.deleted, [], 'evicted pods are waited for');
  await reconciler.reconcile('default/w1');
  assert.deepEqual(guest.deleted, ['w1']);
  assert.deepEqual(meta.finalizerRemoved, ['w1']);
  assert.ok(guest.pods.some((entry) => entry.metadata?.name === 'kube-proxy-abc'), 'DaemonSet pods are not evicted');
});

test('a Machine is owned by its Cluster, so deleting the Cluster deletes (and cleans) its Machines', async () => {
  const { reconciler, meta } = setup();
  await reconciler.reconcile('default/w1');
  assert.deepEqual(meta.owners, ['w1->shop']);
  await reconciler.reconcile('default/w1');
  assert.deepEqual(meta.owners, ['w1->shop'], 'set once');
});

test('a containerd whose CRI plugin did not load is restarted before the kubelet is started against it', async () => {
  const { reconciler, host } = setup();
  await reconciler.reconcile('default/w1');
  const fresh = host('w1');
  fresh.criServing = false;
  fresh.services.kubelet = 'missing';
  fresh.kubeletJoined = false;
  fresh.commands = [];
  await reconciler.reconcile('default/w1');
  assert.ok(fresh.changes.some((script) => script.includes('sv restart /etc/service/containerd')), 'containerd restarted');
});
