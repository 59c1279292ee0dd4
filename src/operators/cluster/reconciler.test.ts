// The reconciler's failure paths and decisions, driven through fakes of the meta API, etcd and
// the guest (fake-apis.ts), with a fixed clock: no cluster needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import type { Cluster, ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { FakeGuest, FakeMetaCluster, fakeEtcd } from './fake-apis.ts';
import { ClusterReconciler, OWN_WRITE_VISIBLE_MS, clusterFinalizer, clusterUpdateMatters, statusWriteHoldMs } from './reconciler.ts';
import { serviceAddressCandidate } from './service-addresses.ts';
import { containerOf } from './running-versions.ts';
import type { EventTarget } from '../../controller/events.ts';

type Recorded = { type: 'Normal' | 'Warning'; reason: string; message: string };
type Condition = { type: string; status: string; reason: string; message: string };

const now = new Date('2026-12-06T12:00:00Z');

function setup(options: { etcdFails?: boolean; egressSelectorConfigFile?: string; serviceCIDR?: string } = {}) {
  const meta = new FakeMetaCluster();
  const guest = new FakeGuest();
  const events: Recorded[] = [];
  const sink = {
    normal: (_target: EventTarget, reason: string, message: string) => events.push({ type: 'Normal', reason, message }),
    warning: (_target: EventTarget, reason: string, message: string) => events.push({ type: 'Warning', reason, message }),
  };
  let counter = 0;
  const reconciler = new ClusterReconciler({
    client: meta.client,
    caches: meta.caches,
    events: sink,
    now: () => now,
    random: (size) => new Uint8Array(size).map(() => (counter++ * 37) % 256),
    etcd: fakeEtcd(meta, { fail: options.etcdFails }),
    guest: () => guest.api,
    resyncPeriodMs: 60_000,
    egressSelectorConfigFile: options.egressSelectorConfigFile,
    // The clock stands still here: every change is written at once (statusWriteHoldMs is tested on its own).
    statusWriteIntervalMs: 0,
    ...(options.serviceCIDR ? { serviceCIDR: async () => options.serviceCIDR } : {}),
  });
  return { meta, guest, events, reconciler };
}

function addCluster(meta: FakeMetaCluster, name: string, spec: Partial<ClusterSpec> = {}, generation = 1): void {
  // The API server fills the network's schema defaults; the fake does not, so they are given here.
  spec = { ...spec, network: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', ...spec.network } };
  meta.put({
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name, namespace: 'team-a', uid: `uid-${name}`, generation, finalizers: [clusterFinalizer] },
    spec: { version: '1.37.2', mode: 'Minimal', ...spec },
  });
}

const clusterOf = (meta: FakeMetaCluster, name: string) => meta.find<Cluster>('Cluster', 'team-a', name) as Cluster;
const conditionOf = (meta: FakeMetaCluster, name: string, type: string) => (clusterOf(meta, name).status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
/** The image of one container (`shop-<container>`) of the control-plane pods, as the Deployment renders it. */
const containerSpecOf = (meta: FakeMetaCluster, container: string) => containerOf(meta.find<V1Deployment>('Deployment', 'team-a', 'shop-control-plane')?.spec?.template.spec, container);
const imageOf = (meta: FakeMetaCluster, name: string) => containerSpecOf(meta, name.replace(/^shop-/, ''))?.image;

function setSpec(meta: FakeMetaCluster, name: string, spec: Partial<ClusterSpec>): void {
  const cluster = clusterOf(meta, name);
  meta.put({ ...cluster, metadata: { ...cluster.metadata, generation: (cluster.metadata.generation ?? 1) + 1 }, spec: { ...cluster.spec, ...spec } } as never);
}

/** Reconciles and lets the fake kubelet run everything, until the Cluster is Ready (or gives up). */
async function converge(meta: FakeMetaCluster, reconciler: ClusterReconciler, name: string, passes = 8): Promise<void> {
  for (let pass = 0; pass < passes; pass++) {
    await reconciler.reconcile(`team-a/${name}`).catch(() => undefined);
    meta.runEverything(name);
  }
}

test('a Minimal guest converges to Ready with every component condition True, then costs no writes', async () => {
  const { meta, reconciler, guest } = setup();
  addCluster(meta, 'shop');
  await converge(meta, reconciler, 'shop');
  const cluster = clusterOf(meta, 'shop');
  assert.equal(cluster.status?.phase, 'Ready', JSON.stringify(cluster.status?.conditions, null, 1));
  for (const type of ['NetworkValid', 'VersionSupported', 'CertificatesValid', 'EtcdReady', 'APIServerAvailable', 'ControllerManagerAvailable', 'SchedulerAvailable', 'ControlPlaneReady', 'GuestBootstrapped', 'CoreDNSReady', 'KubeProxyReady', 'AddonsReady', 'Ready']) {
    assert.equal(conditionOf(meta, 'shop', type)?.status, 'True', `${type}: ${conditionOf(meta, 'shop', type)?.message}`);
  }
  assert.equal(conditionOf(meta, 'shop', 'Upgrading')?.status, 'False');
  assert.equal(cluster.status?.observedGeneration, 1);
  assert.deepEqual(cluster.status?.versions, { apiServer: '1.37.2', controllerManager: '1.37.2', scheduler: '1.37.2', etcd: '3.7.3' });
  assert.ok(guest.has('deployments', 'kube-system', 'coredns'), 'CoreDNS applied inside the guest');
  const before = meta.writes().length;
  await reconciler.reconcile('team-a/shop');
  assert.deepEqual(meta.writes().slice(before), [], 'a converged guest costs no writes');
});

test("a new guest's API servers are created once every etcd member's process has started, not before: their first dial finds the members", async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'shop');
  await reconciler.reconcile('team-a/shop').catch(() => undefined);
  assert.ok(meta.find('Pod', 'team-a', 'shop-etcd-0'), 'the etcd member pod is created');
  assert.equal(meta.find('Deployment', 'team-a', 'shop-control-plane'), undefined, 'no API server before the member runs');
  assert.match(conditionOf(meta, 'shop', 'EtcdReady')?.message ?? '', /0\/1 members healthy/, 'EtcdReady says the member is starting');
  await reconciler.reconcile('team-a/shop').catch(() => undefined);
  assert.equal(meta.find('Deployment', 'team-a', 'shop-control-plane'), undefined, 'another pass alone changes nothing');
  meta.startPodsOf('etcd');
  await reconciler.reconcile('team-a/shop').catch(() => undefined);
  assert.ok(meta.find('Deployment', 'team-a', 'shop-control-plane'), 'the control plane is created once the member runs, before it is Ready');
  assert.equal(conditionOf(meta, 'shop', 'EtcdReady')?.status, 'False', 'etcd is not Ready yet');
});

test('a network conflict creates nothing and says which field and how to fix it', async () => {
  const { meta, reconciler, events } = setup();
  addCluster(meta, 'first', { network: { vpc: 'vpc-1', podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12' } });
  addCluster(meta, 'second', { network: { vpc: 'vpc-1', podCIDR: '10.244.0.0/16', serviceCIDR: '10.112.0.0/12' } });
  await reconciler.reconcile('team-a/second');
  const network = conditionOf(meta, 'second', 'NetworkValid');
  assert.equal(network?.status, 'False');
  assert.equal(network?.reason, 'NetworkConflict');
  assert.match(network?.message ?? '', /spec\.network\.podCIDR/);
  assert.equal(conditionOf(meta, 'second', 'Ready')?.status, 'False');
  assert.equal(meta.list('Service').length + meta.list('Secret').length + meta.list('Pod').length, 0, 'nothing is created');
  assert.equal(clusterOf(meta, 'second').status?.observedGeneration, 1);
  assert.ok(events.some((event) => event.type === 'Warning' && event.reason === 'NetworkConflict'));
});

test('a certificate error becomes CertificatesValid=False with the field, an Event, and an error for the controller', async () => {
  const { meta, reconciler, events } = setup();
  addCluster(meta, 'shop', { certificates: { validity: 'forever' } });
  await assert.rejects(reconciler.reconcile('team-a/shop'), /spec\.certificates\.validity/);
  const certificates = conditionOf(meta, 'shop', 'CertificatesValid');
  assert.equal(certificates?.status, 'False');
  assert.equal(certificates?.reason, 'CertificateError');
  assert.equal(conditionOf(meta, 'shop', 'EtcdReady')?.reason, 'DependencyNotReady');
  assert.ok(events.some((event) => event.reason === 'ComponentFailed' && /validity/.test(event.message)));
  assert.equal(meta.list('Pod').length, 0, 'no etcd member starts without certificates');
});

test('an addon that fails to apply fails only its own condition, and the error reaches the controller', async () => {
  const { meta, reconciler, guest, events } = setup();
  addCluster(meta, 'shop');
  guest.failApply = (path) => {
    if (path.includes('/daemonsets/')) throw new Error('admission webhook denied the DaemonSet');
  };
  await converge(meta, reconciler, 'shop');
  await assert.rejects(reconciler.reconcile('team-a/shop'), /kube-proxy: .*admission webhook denied/);
  assert.equal(conditionOf(meta, 'shop', 'KubeProxyReady')?.status, 'False');
  assert.equal(conditionOf(meta, 'shop', 'KubeProxyReady')?.reason, 'ApplyFailed');
  assert.equal(conditionOf(meta, 'shop', 'CoreDNSReady')?.status, 'True');
  assert.equal(conditionOf(meta, 'shop', 'AddonsReady')?.status, 'False');
  assert.equal(conditionOf(meta, 'shop', 'Ready')?.status, 'False');
  assert.ok(events.some((event) => event.type === 'Warning' && event.reason === 'ComponentFailed'));
});

test('etcd waits, without touching members, when replacing a lost member would risk quorum', async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'ha', { mode: 'Standard' });
  await converge(meta, reconciler, 'ha');
  assert.equal(conditionOf(meta, 'ha', 'EtcdReady')?.status, 'True');
  // Member 0 lost its pod and its data; member 1 is unhealthy: replacing 0 now could lose quorum.
  meta.objects.delete('Pod/team-a/ha-etcd-0');
  meta.objects.delete('PersistentVolumeClaim/team-a/ha-etcd-0-data');
  const member1 = meta.find<{ status: object }>('Pod', 'team-a', 'ha-etcd-1') as object;
  meta.put({ ...member1, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] } } as never);
  const before = meta.writes().length;
  await reconciler.reconcile('team-a/ha');
  const etcd = conditionOf(meta, 'ha', 'EtcdReady');
  assert.equal(etcd?.status, 'False');
  assert.equal(etcd?.reason, 'QuorumWait');
  assert.match(etcd?.message ?? '', /ha-etcd-0 lost its data; waiting for the other members/);
  assert.ok(!meta.writes().slice(before).some((write) => write.includes('/pods/ha-etcd')), 'no member is created or deleted');
});

test('a guest whose API stops answering is Degraded, with the reason from APIServerAvailable', async () => {
  const { meta, reconciler, guest } = setup();
  addCluster(meta, 'shop');
  await converge(meta, reconciler, 'shop');
  assert.equal(clusterOf(meta, 'shop').status?.phase, 'Ready');
  guest.ready = false;
  await reconciler.reconcile('team-a/shop');
  assert.equal(clusterOf(meta, 'shop').status?.phase, 'Degraded');
  assert.equal(conditionOf(meta, 'shop', 'Ready')?.reason, 'ReadyzFailing');
  assert.equal(conditionOf(meta, 'shop', 'GuestBootstrapped')?.reason, 'DependencyNotReady');
});

test('an unknown version or a minor downgrade is refused naming spec.version, and the guest keeps its version', async () => {
  for (const [version, reason] of [
    ['9.9.9', 'UnsupportedVersion'],
    ['1.36.3', 'MinorDowngrade'],
  ] as const) {
    const { meta, reconciler, events } = setup();
    addCluster(meta, 'shop');
    await converge(meta, reconciler, 'shop');
    setSpec(meta, 'shop', { version });
    await reconciler.reconcile('team-a/shop');
    const supported = conditionOf(meta, 'shop', 'VersionSupported');
    assert.equal(supported?.status, 'False');
    assert.equal(supported?.reason, reason);
    assert.match(supported?.message ?? '', new RegExp(`spec\\.version ${version.replaceAll('.', '\\.')}`));
    const cluster = clusterOf(meta, 'shop');
    assert.equal(cluster.status?.observedGeneration, cluster.metadata.generation, 'observedGeneration moves');
    assert.equal(cluster.status?.phase, 'Ready', 'the guest stays Ready on its version');
    assert.equal(imageOf(meta, 'shop-kube-apiserver'), 'registry.k8s.io/kube-apiserver:v1.37.2');
    assert.ok(events.some((event) => event.type === 'Warning' && event.reason === 'VersionRefused'));
  }
});

test('a new Cluster at an unsupported version creates nothing and waits in Pending', async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'shop', { version: '1.35.0' });
  await reconciler.reconcile('team-a/shop');
  assert.equal(clusterOf(meta, 'shop').status?.phase, 'Pending');
  assert.match(conditionOf(meta, 'shop', 'VersionSupported')?.message ?? '', /use one of 1\.37\.2, 1\.36\.3/);
  assert.equal(meta.list('Service').length, 0);
});

test('an upgrade moves the API server first and the controller-manager and scheduler only once every API server runs the new version', async () => {
  const { meta, reconciler, events } = setup();
  addCluster(meta, 'shop', { version: '1.36.3' });
  await converge(meta, reconciler, 'shop');
  assert.equal(clusterOf(meta, 'shop').status?.versions?.apiServer, '1.36.3');
  setSpec(meta, 'shop', { version: '1.37.2' });
  await reconciler.reconcile('team-a/shop');
  assert.equal(imageOf(meta, 'shop-kube-apiserver'), 'registry.k8s.io/kube-apiserver:v1.37.2');
  assert.equal(imageOf(meta, 'shop-kube-controller-manager'), 'registry.k8s.io/kube-controller-manager:v1.36.3', 'held while the API servers roll');
  assert.equal(imageOf(meta, 'shop-kube-scheduler'), 'registry.k8s.io/kube-scheduler:v1.36.3');
  const upgrading = conditionOf(meta, 'shop', 'Upgrading');
  assert.equal(upgrading?.status, 'True');
  assert.match(upgrading?.message ?? '', /kube-apiserver 1\.36\.3 -> 1\.37\.2 \(step 2 of 5\)/);
  assert.equal(clusterOf(meta, 'shop').status?.phase, 'Upgrading');
  assert.equal(clusterOf(meta, 'shop').status?.versions?.apiServer, '1.36.3', 'versions come from the running pods');
  meta.runEverything('shop');
  await reconciler.reconcile('team-a/shop');
  assert.equal(imageOf(meta, 'shop-kube-controller-manager'), 'registry.k8s.io/kube-controller-manager:v1.37.2');
  meta.runEverything('shop');
  await converge(meta, reconciler, 'shop', 3);
  assert.equal(conditionOf(meta, 'shop', 'Upgrading')?.status, 'False');
  assert.deepEqual(clusterOf(meta, 'shop').status?.versions, { apiServer: '1.37.2', controllerManager: '1.37.2', scheduler: '1.37.2', etcd: '3.7.3' });
  const upgradeEvents = events.filter((event) => /^Upgrade/.test(event.reason));
  assert.match(upgradeEvents[0]?.message ?? '', /^upgrading to Kubernetes 1\.37\.2 from 1\.36\.3: etcd stays at 3\.7\.3 \(step 1 of 5\)/);
  const order = upgradeEvents.filter((event) => event.reason === 'UpgradeStep').map((event) => event.message.split(' ')[1]);
  assert.deepEqual(order, ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  assert.ok(events.some((event) => event.reason === 'UpgradeCompleted'));
});

test('spec.paused holds the next step and says so; unpausing continues', async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'shop', { version: '1.36.3' });
  await converge(meta, reconciler, 'shop');
  setSpec(meta, 'shop', { version: '1.37.2' });
  await reconciler.reconcile('team-a/shop');
  setSpec(meta, 'shop', { paused: true } as Partial<ClusterSpec>);
  meta.runEverything('shop');
  await reconciler.reconcile('team-a/shop');
  meta.runEverything('shop');
  await reconciler.reconcile('team-a/shop');
  assert.equal(imageOf(meta, 'shop-kube-controller-manager'), 'registry.k8s.io/kube-controller-manager:v1.36.3');
  const upgrading = conditionOf(meta, 'shop', 'Upgrading');
  assert.equal(upgrading?.reason, 'Paused');
  assert.match(upgrading?.message ?? '', /paused before kube-controller-manager/);
  setSpec(meta, 'shop', { paused: false } as Partial<ClusterSpec>);
  await reconciler.reconcile('team-a/shop');
  assert.equal(imageOf(meta, 'shop-kube-controller-manager'), 'registry.k8s.io/kube-controller-manager:v1.37.2');
});

test('removing a user deletes the user kubeconfig Secret at once', async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'shop', { users: [{ name: 'alice', groups: ['tessera:viewers'] }] });
  await converge(meta, reconciler, 'shop');
  assert.ok(meta.find<V1Secret>('Secret', 'team-a', 'shop-user-alice-kubeconfig'));
  setSpec(meta, 'shop', { users: [] });
  await reconciler.reconcile('team-a/shop');
  assert.equal(meta.find<V1Secret>('Secret', 'team-a', 'shop-user-alice-kubeconfig'), undefined);
});

test('disabling an addon removes its objects from the guest', async () => {
  const { meta, reconciler, guest } = setup();
  addCluster(meta, 'shop');
  await converge(meta, reconciler, 'shop');
  assert.ok(guest.has('daemonsets', 'kube-system', 'kube-proxy'));
  setSpec(meta, 'shop', { addons: [{ name: 'kube-proxy', enabled: false }] });
  await reconciler.reconcile('team-a/shop');
  assert.ok(!guest.has('daemonsets', 'kube-system', 'kube-proxy'));
  assert.ok(!guest.has('configmaps', 'kube-system', 'kube-proxy'));
  assert.equal(conditionOf(meta, 'shop', 'KubeProxyReady')?.reason, 'Disabled');
  assert.ok(guest.has('deployments', 'kube-system', 'coredns'));
});

test('a guest that stays unready is looked at less and less often, and at once again when it changes', async () => {
  const { meta, reconciler, guest } = setup();
  addCluster(meta, 'shop');
  await converge(meta, reconciler, 'shop');
  // Another controller's condition on the Cluster (the Node operator's) is no progress of this one.
  const cluster = clusterOf(meta, 'shop');
  const machines = { type: 'MachinesHealthy', status: 'True', reason: 'AllHealthy', message: '0 Machines', lastTransitionTime: now.toISOString() };
  meta.put({ ...cluster, status: { ...cluster.status, conditions: [...(cluster.status?.conditions ?? []), machines] } } as never);
  guest.ready = false;
  const delays: number[] = [];
  for (let pass = 0; pass < 8; pass++) delays.push((await reconciler.reconcile('team-a/shop'))?.requeueAfter ?? -1);
  assert.deepEqual(delays.slice(1), [2000, 4000, 8000, 16000, 32000, 60000, 60000], `delays ${delays}`);
  guest.ready = true;
  const recovered = await reconciler.reconcile('team-a/shop');
  assert.equal(clusterOf(meta, 'shop').status?.phase, 'Ready');
  assert.equal(recovered?.requeueAfter, 60_000, 'a settled guest waits for its resync');
});

test('deleting a Cluster removes what it owns, API servers without a grace period and etcd with one, then the finalizer', async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'shop');
  await converge(meta, reconciler, 'shop');
  const cluster = clusterOf(meta, 'shop');
  meta.put({ ...cluster, metadata: { ...cluster.metadata, deletionTimestamp: now.toISOString() } } as never);
  const from = meta.requests.length;
  await reconciler.reconcile('team-a/shop');
  const deletes = meta.requests.slice(from).filter((request) => request.startsWith('DELETE'));
  assert.ok(deletes.some((request) => request.includes('/deployments')));
  assert.equal(meta.list('Pod').length + meta.list('Secret').length + meta.list('Service').length + meta.list('PersistentVolumeClaim').length, 0);
  await reconciler.reconcile('team-a/shop');
  assert.deepEqual(clusterOf(meta, 'shop').metadata.finalizers, [], 'the finalizer goes once nothing is left');
});

test('deleting a Cluster takes its Machines out first, while the guest still runs, and says it waits for them', async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'shop');
  await converge(meta, reconciler, 'shop');
  meta.put({ apiVersion: 'tessera.dev/v1alpha1', kind: 'Machine', metadata: { name: 'w1', namespace: 'team-a' }, spec: { clusterName: 'shop' } } as never);
  meta.put({ apiVersion: 'tessera.dev/v1alpha1', kind: 'Machine', metadata: { name: 'other', namespace: 'team-a' }, spec: { clusterName: 'another' } } as never);
  const cluster = clusterOf(meta, 'shop');
  meta.put({ ...cluster, metadata: { ...cluster.metadata, deletionTimestamp: now.toISOString() } } as never);
  const from = meta.requests.length;
  await reconciler.reconcile('team-a/shop');
  const deletes = meta.requests.slice(from).filter((request) => request.startsWith('DELETE'));
  assert.deepEqual(deletes, ['DELETE /apis/tessera.dev/v1alpha1/namespaces/team-a/machines/w1'], 'only its own Machine, and nothing of the control plane yet');
  const ready = conditionOf(meta, 'shop', 'Ready');
  assert.equal(ready?.reason, 'WaitingForMachines');
  assert.match(ready?.message ?? '', /waiting for Machine\(s\) w1/);
  assert.equal(clusterOf(meta, 'shop').status?.phase, 'Deleting');
  await reconciler.reconcile('team-a/shop');
  assert.ok(meta.requests.slice(from).some((request) => request.startsWith('DELETE') && request.includes('/deployments')), 'once the Machines are gone the control plane goes');
});

test('a protected flag that slipped past the API server is never rendered, and SpecValid says so', async () => {
  const { meta, reconciler, events } = setup();
  addCluster(meta, 'shop', { controlPlane: { apiServer: { extraArgs: { 'authorization-mode': 'AlwaysAllow' } } } });
  await converge(meta, reconciler, 'shop', 3);
  const args = containerSpecOf(meta, 'kube-apiserver')?.args ?? [];
  assert.ok(args.includes('--authorization-mode=Node,RBAC'), args.join(' '));
  assert.ok(!args.some((arg) => arg.includes('AlwaysAllow')));
  const specValid = conditionOf(meta, 'shop', 'SpecValid');
  assert.equal(specValid?.status, 'False');
  assert.equal(specValid?.reason, 'ProtectedFlag');
  assert.match(specValid?.message ?? '', /spec\.controlPlane\.apiServer\.extraArgs\.authorization-mode/);
  assert.ok(events.some((event) => event.type === 'Warning' && event.reason === 'ProtectedFlag'));
});

test('node reachability: the cell\'s egress proxy by default, and a Cluster asking for one in a cell without it is told why', async () => {
  const withProxy = setup({ egressSelectorConfigFile: '/cell/egress.yaml' });
  addCluster(withProxy.meta, 'shop');
  await converge(withProxy.meta, withProxy.reconciler, 'shop', 3);
  const args = containerSpecOf(withProxy.meta, 'kube-apiserver')?.args ?? [];
  assert.ok(args.includes('--egress-selector-config-file=/etc/kubernetes/egress-selector/egress-selector.yaml'), args.join(' '));
  assert.equal(conditionOf(withProxy.meta, 'shop', 'SpecValid')?.status, 'True');

  const without = setup();
  addCluster(without.meta, 'shop', { network: { nodeReachability: 'EgressProxy' } });
  await converge(without.meta, without.reconciler, 'shop', 3);
  const specValid = conditionOf(without.meta, 'shop', 'SpecValid');
  assert.equal(specValid?.status, 'False');
  assert.equal(specValid?.reason, 'NodeReachabilityUnavailable');
  assert.ok(without.meta.find<V1Deployment>('Deployment', 'team-a', 'shop-control-plane'), 'the control plane still runs, dialling nodes directly');
  assert.equal(without.events.filter((event) => event.reason === 'NodeReachabilityUnavailable').length, 1, 'one Event, not one per pass');
});

test("status fields other managers own (the tier, the load) never make a converged guest write", async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'shop');
  await converge(meta, reconciler, 'shop');
  const cluster = clusterOf(meta, 'shop');
  meta.put({ ...cluster, status: { ...cluster.status, tier: 'XS' } } as never);
  const before = meta.writes().length;
  await reconciler.reconcile('team-a/shop');
  assert.deepEqual(meta.writes().slice(before), []);
});

test('a fleet Cluster is provisioned only by the cell it is placed in', async () => {
  const { meta, reconciler } = setup();
  meta.put({ apiVersion: 'tessera.dev/v1alpha1', kind: 'Cell', metadata: { name: 'remote', namespace: '' }, spec: { region: 'local', kubeconfigSecretRef: { name: 'remote-kubeconfig' } } });
  meta.put({ apiVersion: 'tessera.dev/v1alpha1', kind: 'Cell', metadata: { name: 'local', namespace: '' }, spec: { region: 'local' } });
  addCluster(meta, 'unplaced', { placement: { region: 'local' } } as Partial<ClusterSpec>);
  addCluster(meta, 'elsewhere', { placement: { region: 'local' } } as Partial<ClusterSpec>);
  addCluster(meta, 'here', { placement: { region: 'local' } } as Partial<ClusterSpec>);
  for (const [name, cell] of [['elsewhere', 'remote'], ['here', 'local']] as const) {
    const cluster = clusterOf(meta, name);
    meta.put({ ...cluster, status: { cell } } as never);
  }
  for (const name of ['unplaced', 'elsewhere', 'here']) await reconciler.reconcile(`team-a/${name}`);
  const servicesOf = (name: string) => meta.list<{ metadata: { labels?: Record<string, string> } }>('Service').filter((service) => service.metadata.labels?.['tessera.dev/cluster'] === name).length;
  assert.equal(servicesOf('unplaced'), 0, 'not before placement');
  assert.equal(servicesOf('elsewhere'), 0, 'the remote cell runs its copy');
  assert.equal(servicesOf('here'), 4);
});

test("conditions other controllers own (Placed, Tiered) are left to them", async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'shop');
  await converge(meta, reconciler, 'shop');
  const cluster = clusterOf(meta, 'shop');
  const placed = { type: 'Placed', status: 'True', reason: 'Placed', message: 'cell local', lastTransitionTime: now.toISOString() };
  meta.put({ ...cluster, status: { ...cluster.status, conditions: [...(cluster.status?.conditions ?? []), placed] } } as never);
  const before = meta.writes().length;
  await reconciler.reconcile('team-a/shop');
  assert.deepEqual(meta.writes().slice(before), [], 'a foreign condition causes no write');
});

test('a Cluster update wakes the operator only when it changes what a pass reads', () => {
  const base = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'shop', namespace: 'team-a', uid: 'u', generation: 1 }, spec: { version: '1.37.2' }, status: { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: now.toISOString() }] } } as unknown as Cluster;
  const withStatus = (status: object) => ({ ...base, metadata: { ...base.metadata, resourceVersion: '2' }, status: { ...base.status, ...status } }) as Cluster;
  // Another controller's writes: the measured load, its own conditions.
  assert.equal(clusterUpdateMatters(base, withStatus({ load: { score: 80 } })), false);
  assert.equal(clusterUpdateMatters(base, withStatus({ conditions: [...(base.status?.conditions ?? []), { type: 'Tiered', status: 'True', reason: 'Measured', message: '', lastTransitionTime: now.toISOString() }] })), false);
  // What a pass reads.
  assert.equal(clusterUpdateMatters(base, withStatus({ tier: 'S' })), true);
  assert.equal(clusterUpdateMatters(base, withStatus({ phase: 'Degraded' })), true, 'its own status, changed by someone else, is repaired');
  assert.equal(clusterUpdateMatters(base, { ...base, metadata: { ...base.metadata, generation: 2 }, spec: { ...base.spec, version: '1.37.3' } } as Cluster), true);
  assert.equal(clusterUpdateMatters(base, { ...base, metadata: { ...base.metadata, deletionTimestamp: now.toISOString() } } as Cluster), true);
});

test('ClusterIPs are picked from the meta cluster\'s Service range, and a taken one gives way to the next pick', async () => {
  const { meta, reconciler } = setup({ serviceCIDR: '10.200.0.0/16' });
  const pick = (service: string, attempt: number) => serviceAddressCandidate('10.200.0.0/16', `team-a/${service}`, attempt);
  // Another Service already holds the API server Service's first pick.
  meta.put({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'someone-else', namespace: 'other' }, spec: { clusterIP: pick('shop-kube-apiserver', 0) } } as never);
  addCluster(meta, 'shop');
  await converge(meta, reconciler, 'shop');
  assert.equal(clusterOf(meta, 'shop').status?.phase, 'Ready', JSON.stringify(clusterOf(meta, 'shop').status?.conditions, null, 1));
  const clusterIP = (name: string) => (meta.find<{ spec?: { clusterIP?: string } }>('Service', 'team-a', name) as { spec?: { clusterIP?: string } } | undefined)?.spec?.clusterIP;
  assert.equal(clusterIP('shop-etcd-client'), pick('shop-etcd-client', 0));
  assert.equal(clusterIP('shop-kube-apiserver'), pick('shop-kube-apiserver', 1));
  assert.equal(clusterOf(meta, 'shop').status?.endpoint, `https://${pick('shop-kube-apiserver', 1)}:6443`);
  // The serving certificate names the address the Service got.
  const serving = meta.find<V1Secret>('Secret', 'team-a', 'shop-apiserver');
  const certificate = new X509Certificate(Buffer.from(serving?.data?.['tls.crt'] ?? '', 'base64'));
  assert.match(certificate.subjectAltName ?? '', new RegExp(`IP Address:${(pick('shop-kube-apiserver', 1) ?? '').replaceAll('.', '\\.')}\\b`));
});

test('while a guest provisions, a status changing only messages, reasons or versions waits for the interval; anything else is written at once', () => {
  const condition = (type: string, status: string, message: string, reason = 'Waiting') => ({ type, status, reason, message, lastTransitionTime: '2026-12-06T12:00:00Z', observedGeneration: 1 });
  const current = { phase: 'Provisioning', observedGeneration: 1, conditions: [condition('EtcdReady', 'False', '0/1 members healthy'), condition('Tiered', 'Unknown', 'not measured')], versions: {} } as never;
  const next = (changes: Record<string, unknown>) => ({ phase: 'Provisioning', observedGeneration: 1, conditions: [condition('EtcdReady', 'False', '0/1 members healthy')], versions: {}, ...changes }) as never;
  const hold = (lastWriteAt: number | undefined, status: never) => statusWriteHoldMs({ lastWriteAt, now: 10_000, intervalMs: 2000, current, next: status });
  // Messages and versions wait for what is left of the interval.
  assert.equal(hold(9_500, next({ conditions: [condition('EtcdReady', 'False', '1/1 members healthy')] })), 1500);
  assert.equal(hold(9_500, next({ versions: { etcd: '3.7.3' } })), 1500);
  // Nothing waits once the interval has passed, or when nothing was written yet.
  assert.equal(hold(8_000, next({ conditions: [condition('EtcdReady', 'False', '1/1 members healthy')] })), 0);
  assert.equal(hold(undefined, next({ versions: { etcd: '3.7.3' } })), 0);
  // A new reason of a condition that still does not hold waits too.
  assert.equal(hold(9_500, next({ conditions: [condition('EtcdReady', 'False', '0/1 members healthy', 'QuorumWait')] })), 1500);
  // A condition that flips, a new reason of one that holds, a new phase, a new generation: at once.
  assert.equal(hold(9_500, next({ conditions: [condition('EtcdReady', 'True', '1/1 members healthy', 'MembersHealthy')] })), 0);
  const upgrading = (reason: string) => ({ phase: 'Upgrading', observedGeneration: 1, conditions: [condition('Upgrading', 'True', 'upgrading', reason)], versions: {} }) as never;
  assert.equal(statusWriteHoldMs({ lastWriteAt: 9_500, now: 10_000, intervalMs: 2000, current: upgrading('InProgress'), next: upgrading('Paused') }), 0);
  assert.equal(hold(9_500, next({ phase: 'Ready' })), 0);
  assert.equal(hold(9_500, next({ observedGeneration: 2 })), 0);
  // No change at all is not held either (nothing is written).
  assert.equal(hold(9_500, next({})), 0);
});

test('a status the operator just wrote is not written again while the cache has not shown it yet; after a few seconds the cache is believed', async () => {
  const meta = new FakeMetaCluster();
  const guest = new FakeGuest();
  let clock = now.getTime();
  const reconciler = new ClusterReconciler({
    client: meta.client,
    caches: meta.caches,
    events: { normal: () => {}, warning: () => {} },
    now: () => new Date(clock),
    etcd: fakeEtcd(meta, {}),
    guest: () => guest.api,
    resyncPeriodMs: 60_000,
  });
  addCluster(meta, 'shop');
  await reconciler.reconcile('team-a/shop').catch(() => undefined);
  const written = clusterOf(meta, 'shop');
  assert.ok(written.status?.phase, 'the first pass wrote status');
  // The cache lags: it shows the Cluster as it was before that write.
  const stale = () => meta.put({ ...written, status: undefined } as never);
  stale();
  const statusWrites = () => meta.writes().filter((request) => request.includes('/clusters/shop/status')).length;
  const before = statusWrites();
  clock += 1000;
  await reconciler.reconcile('team-a/shop').catch(() => undefined);
  assert.equal(statusWrites(), before, 'the same status is not written again a second after');
  // Nor when the pass computes its conditions: a condition the write flipped does not flip again with a new time.
  stale();
  clock += 1000;
  await reconciler.reconcile('team-a/shop').catch(() => undefined);
  assert.equal(statusWrites(), before, 'nor two seconds after');
  // Long after, a cache still without it means the stored status really differs: written again.
  stale();
  clock += OWN_WRITE_VISIBLE_MS;
  await reconciler.reconcile('team-a/shop').catch(() => undefined);
  assert.equal(statusWrites(), before + 1);
});

test("a guest from an older operator keeps its per-component Deployments and its Services' pods until a control-plane pod serves", async () => {
  const { meta, reconciler } = setup();
  addCluster(meta, 'shop');
  for (const component of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    const labels = { 'tessera.dev/cluster': 'shop', 'app.kubernetes.io/managed-by': 'tessera', 'tessera.dev/component': component };
    meta.put({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `shop-${component}`, namespace: 'team-a', labels }, spec: { replicas: 1, template: { metadata: { labels }, spec: { containers: [{ name: component, image: `registry.k8s.io/${component}:v1.37.2` }] } } } } as never);
  }
  const selectorOf = (name: string) => meta.find<{ spec: { selector: Record<string, string> } }>('Service', 'team-a', name)?.spec.selector['tessera.dev/component'];
  const legacyLeft = () => ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].filter((component) => meta.find('Deployment', 'team-a', `shop-${component}`));
  // The control plane is rendered (the guest's etcd member runs, as it did under the older
  // operator), but none of its pods runs yet.
  await reconciler.reconcile('team-a/shop').catch(() => undefined);
  meta.startPodsOf('etcd');
  for (let pass = 0; pass < 4; pass++) await reconciler.reconcile('team-a/shop').catch(() => undefined);
  assert.ok(meta.find('Deployment', 'team-a', 'shop-control-plane'), 'the control-plane Deployment is created');
  assert.equal(selectorOf('shop-kube-apiserver'), 'kube-apiserver', 'the Service keeps the old API servers');
  assert.equal(selectorOf('shop-kube-apiserver-internal'), 'kube-apiserver');
  assert.deepEqual(legacyLeft(), ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  await converge(meta, reconciler, 'shop', 4);
  assert.equal(selectorOf('shop-kube-apiserver'), 'control-plane', 'once a control-plane pod serves, the Services select it');
  assert.equal(selectorOf('shop-kube-apiserver-internal'), 'control-plane');
  assert.deepEqual(legacyLeft(), [], 'and the old Deployments are pruned');
});
