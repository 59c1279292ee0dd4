// End to end: version changes of real guests on the local meta cluster. A Standard guest keeps
// answering /readyz through its Service while it moves from 1.36.3 to 1.37.2 component by
// component; refused versions leave it running; pause holds it at a component boundary; a removed
// user loses the Secret at once and access within the certificate's validity; addons are pruned
// and repaired inside the guest.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MetaClusterCli, eventually } from '../harness/meta-cluster-cli.ts';
import { GuestClusters, conditionOf, isReady, watchReadyz, type ClusterObject } from '../harness/guest-clusters.ts';
import { ensureBinaries } from '../../src/local/binaries/resolve.ts';
import { credentialsFromKubeconfig } from '../../src/operators/cluster/guest-access.ts';


const meta = await MetaClusterCli.create(5);
// A short guest resync, so drift inside a guest is repaired within the test's patience.
meta.env['TESSERA_CLUSTER_RESYNC'] = '15s';
after(() => meta.destroy());
const binaries = await ensureBinaries({ components: ['kubectl'] });
const guests = new GuestClusters(meta, binaries.kubectl);

async function createCluster(name: string, mode: 'Standard' | 'Minimal', version: string, extra = ''): Promise<ClusterObject> {
  const offset = { upgrade: 0, paused: 1, access: 2, addons: 3 }[name] ?? 4;
  await meta.apply(
    `apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${name}}\nspec:\n  version: "${version}"\n  mode: ${mode}\n` +
      `  network: {podCIDR: 10.${100 + offset}.0.0/16, serviceCIDR: 10.${110 + offset}.0.0/20}\n${extra}`,
  );
  return guests.waitReady(name);
}

test('the meta cluster starts with the Cluster operator', async () => {
  const up = await meta.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr + up.stdout);
});

test('a Standard guest upgraded from 1.36.3 to 1.37.2 answers /readyz throughout, in the safe order, visibly', async () => {
  const ready = await createCluster('upgrade', 'Standard', '1.36.3');
  assert.deepEqual(ready.status?.versions, { apiServer: '1.36.3', controllerManager: '1.36.3', scheduler: '1.36.3', etcd: '3.7.3' });
  const credentials = credentialsFromKubeconfig(await guests.secretData(ready.status?.adminKubeconfigSecret ?? '', 'kubeconfig'));

  const readyz = watchReadyz(ready.status?.endpoint ?? '', credentials);

  await guests.patch('upgrade', { spec: { version: '1.37.2' } });
  const upgrading = await guests.waitFor('upgrade', 'Upgrading with progress', (object) => conditionOf(object, 'Upgrading')?.status === 'True', 60_000);
  assert.match(conditionOf(upgrading, 'Upgrading')?.message ?? '', /upgrading kube-apiserver 1\.36\.3 -> 1\.37\.2 \(step 2 of 5\)/);
  assert.equal(upgrading.status?.phase, 'Upgrading');
  // While the API servers roll, the controller-manager and scheduler stay on the old version.
  assert.equal(await guests.controlPlaneImage('upgrade', 'kube-controller-manager'), 'registry.k8s.io/kube-controller-manager:v1.36.3');

  const done = await guests.waitFor('upgrade', 'upgraded and Ready', (object) => conditionOf(object, 'Upgrading')?.status === 'False' && isReady(object) && object.status?.versions?.['scheduler'] === '1.37.2', 600_000);
  const { probes, failures } = await readyz.stop();
  assert.ok(probes > 20, `probed ${probes} times`);
  assert.deepEqual(failures, [], 'the guest answered /readyz through its Service for the whole upgrade');
  assert.deepEqual(done.status?.versions, { apiServer: '1.37.2', controllerManager: '1.37.2', scheduler: '1.37.2', etcd: '3.7.3' });
  for (const component of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    assert.deepEqual(await guests.controlPlanePodImages('upgrade', component), Array(3).fill(`registry.k8s.io/${component}:v1.37.2`), `${component} pods run 1.37.2`);
  }

  const events = await guests.events('upgrade');
  const started = events.findIndex((event) => event.reason === 'UpgradeStarted');
  assert.ok(started >= 0, JSON.stringify(events));
  assert.match(events[started]?.message ?? '', /etcd stays at 3\.7\.3 \(step 1 of 5\)/);
  const steps = events.filter((event) => event.reason === 'UpgradeStep').map((event) => event.message.split(' ')[1]);
  assert.deepEqual(steps, ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  assert.ok(events.some((event) => event.reason === 'UpgradeCompleted'));
});

test('1.34.0 and 9.9.9 on a 1.37.2 guest are refused naming spec.version; the guest stays Ready on 1.37.2', async () => {
  const name = 'upgrade';
  await guests.waitReady(name);
  for (const [version, reason] of [
    ['1.34.0', 'UnsupportedVersion'],
    ['9.9.9', 'UnsupportedVersion'],
    ['1.36.3', 'MinorDowngrade'],
  ] as const) {
    await guests.patch(name, { spec: { version } });
    const refused = await guests.waitFor(name, `${version} refused`, (object) => object.status?.observedGeneration === object.metadata.generation && conditionOf(object, 'VersionSupported')?.status === 'False', 60_000);
    const condition = conditionOf(refused, 'VersionSupported');
    assert.equal(condition?.reason, reason);
    assert.match(condition?.message ?? '', new RegExp(`spec\\.version ${version.replaceAll('.', '\\.')}`));
    assert.ok(isReady(refused), 'still Ready');
    assert.equal(refused.status?.versions?.['apiServer'], '1.37.2');
    assert.equal(await guests.controlPlaneImage(name, 'kube-apiserver'), 'registry.k8s.io/kube-apiserver:v1.37.2');
  }
  await guests.patch(name, { spec: { version: '1.37.2' } });
  const back = await guests.waitFor(name, 'version accepted again', (object) => object.status?.observedGeneration === object.metadata.generation && conditionOf(object, 'VersionSupported')?.status === 'True', 60_000);
  assert.ok(isReady(back));
});

test('pausing mid-upgrade stops at a component boundary; unpausing finishes it', async () => {
  await createCluster('paused', 'Minimal', '1.36.3');
  await guests.patch('paused', { spec: { version: '1.37.2' } });
  await guests.waitFor('paused', 'API server step started', (object) => /kube-apiserver/.test(conditionOf(object, 'Upgrading')?.message ?? ''), 60_000);
  await guests.patch('paused', { spec: { paused: true } });
  const held = await guests.waitFor('paused', 'held at a boundary', (object) => conditionOf(object, 'Upgrading')?.reason === 'Paused' && object.status?.observedGeneration === object.metadata.generation, 180_000);
  const message = conditionOf(held, 'Upgrading')?.message ?? '';
  assert.match(message, /paused before kube-(controller-manager|scheduler) .*spec\.paused is true/);
  // The step before the boundary is finished, the one after it has not started.
  assert.equal(await guests.controlPlaneImage('paused', 'kube-apiserver'), 'registry.k8s.io/kube-apiserver:v1.37.2');
  assert.deepEqual(await guests.controlPlanePodImages('paused', 'kube-apiserver'), ['registry.k8s.io/kube-apiserver:v1.37.2']);
  assert.equal(await guests.controlPlaneImage('paused', 'kube-scheduler'), 'registry.k8s.io/kube-scheduler:v1.36.3');
  assert.ok((await guests.events('paused')).some((event) => event.reason === 'UpgradePaused'));
  await guests.patch('paused', { spec: { paused: false } });
  const done = await guests.waitFor('paused', 'upgrade finished', (object) => conditionOf(object, 'Upgrading')?.status === 'False' && object.status?.versions?.['scheduler'] === '1.37.2' && isReady(object), 300_000);
  assert.equal(done.status?.versions?.['controllerManager'], '1.37.2');
});

test("a removed user's Secret is deleted at once, and the user's kubeconfig stops working once its validity passes", async () => {
  const ready = await createCluster('access', 'Minimal', '1.37.2', '  users:\n    - {name: temp, groups: ["tessera:viewers"], validity: 2m}\n    - {name: stays, groups: ["tessera:viewers"]}\n');
  const kubeconfig = await guests.kubeconfig('access-user-temp-kubeconfig');
  await eventually('the temporary user can read', async () => (await guests.kubectl(kubeconfig, 'get', 'namespaces')).code === 0, 60_000);
  await guests.patch('access', { spec: { users: [{ name: 'stays', groups: ['tessera:viewers'] }] } });
  await eventually('the Secret is gone', async () => !(await meta.kubectl('get', 'secrets', '-o', 'name')).includes('secret/access-user-temp-kubeconfig\n'), 30_000);
  assert.ok((await meta.kubectl('get', 'secrets', '-o', 'name')).includes('secret/access-user-stays-kubeconfig\n'), 'the other user keeps access');
  // The certificate cannot be revoked: it expires within its validity (2 minutes).
  const refused = await eventually('the removed user is refused', async () => {
    const result = await guests.kubectl(kubeconfig, 'get', 'namespaces');
    return result.code !== 0 ? result : undefined;
  }, 180_000, 2000);
  assert.match(refused.stderr, /Unauthorized|must be logged in|certificate/i);
  // The admin kubeconfig keeps working.
  const admin = await guests.kubeconfig(ready.status?.adminKubeconfigSecret ?? '');
  assert.equal((await guests.kubectl(admin, 'get', 'namespaces')).code, 0);
});

test('a disabled addon leaves the guest; a deleted CoreDNS Deployment is back within one resync', async () => {
  const ready = await createCluster('addons', 'Minimal', '1.37.2');
  const admin = await guests.kubeconfig(ready.status?.adminKubeconfigSecret ?? '');
  assert.equal((await guests.kubectl(admin, '-n', 'kube-system', 'get', 'daemonset', 'kube-proxy')).code, 0);
  await guests.patch('addons', { spec: { addons: [{ name: 'kube-proxy', enabled: false }] } });
  await eventually('kube-proxy objects gone from the guest', async () => {
    const left = await guests.kubectl(admin, '-n', 'kube-system', 'get', 'daemonset,configmap,serviceaccount', '-l', 'tessera.dev/addon=kube-proxy', '-o', 'name');
    return left.code === 0 && left.stdout.trim() === '';
  }, 60_000);
  const disabled = await guests.waitFor('addons', 'KubeProxyReady Disabled', (object) => conditionOf(object, 'KubeProxyReady')?.reason === 'Disabled', 60_000);
  assert.ok(isReady(disabled));

  assert.equal((await guests.kubectl(admin, '-n', 'kube-system', 'delete', 'deployment', 'coredns')).code, 0);
  const deletedAt = Date.now();
  await eventually('CoreDNS recreated in the guest', async () => (await guests.kubectl(admin, '-n', 'kube-system', 'get', 'deployment', 'coredns')).code === 0, 60_000, 1000);
  // One resync is 15 s here, plus a requeue of at most the same.
  assert.ok(Date.now() - deletedAt < 45_000, `back after ${Date.now() - deletedAt} ms`);
});
