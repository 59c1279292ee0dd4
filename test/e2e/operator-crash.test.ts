// The Cluster operator, run as its own process under the least-privilege identity of
// deploy/operator, killed (SIGKILL) at random moments over the whole life of its guests:
// creation, an upgrade from 1.36.3 to 1.37.2, and deletion. Every run must converge with exactly
// the objects a guest owns, never run a controller-manager or scheduler newer than the oldest API
// server, and leave nothing behind: no object, PersistentVolume or process. The random moments
// come from a seeded generator; the seed is printed, and TESSERA_CRASH_SEED replays a run.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MetaClusterCli, eventually, processesMentioning } from '../harness/meta-cluster-cli.ts';
import { GuestClusters, conditionOf, containerImage, isReadyAtGeneration, type PodSpecOfImages } from '../harness/guest-clusters.ts';
import { ensureBinaries } from '../../src/local/binaries/resolve.ts';
import { compareVersions, oldestVersion } from '../../src/api/v1alpha1/version-catalogue.ts';

const guestsPerBatch = Number(process.env['TESSERA_CRASH_GUESTS'] ?? 3);
const batches = Number(process.env['TESSERA_CRASH_BATCHES'] ?? 1);
const seed = Number(process.env['TESSERA_CRASH_SEED'] ?? Date.now() % 2 ** 31);
const cluster = await MetaClusterCli.create(7);
cluster.env['TESSERA_EMBEDDED_OPERATORS'] = '0';
after(() => cluster.destroy());
const guests = new GuestClusters(cluster, (await ensureBinaries({ components: ['kubectl'] })).kubectl);
const operatorMain = fileURLToPath(new URL('../../src/operators/main.ts', import.meta.url));

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function seededRandom(initial: number): () => number {
  let state = initial >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const random = seededRandom(seed);

let operator: ChildProcess | undefined;
/** Resolves once the running operator has started its Cluster controller's workers. */
let operatorWorking: Promise<void> = Promise.resolve();
function startOperator(): void {
  // The kubeconfig `tessera up` wrote for the operator's own user, bound to deploy/operator's ClusterRole.
  const child = spawn(process.execPath, [operatorMain, `--kubeconfig=${join(cluster.home, 'operator.kubeconfig')}`, '--no-leader-elect', '--metrics-bind-address=127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TESSERA_LOG_LEVEL: 'info' },
  });
  operator = child;
  // Kills land while the operator works, not while Node loads it: on a loaded box loading took
  // longer than the longest interval between kills, and no pass ever ran.
  // The reader stays attached, so the operator's log never fills the pipe and blocks it.
  operatorWorking = new Promise((resolve) => {
    if (child.stderr) createInterface({ input: child.stderr }).on('line', (line) => line.includes('"Cluster operator started"') && resolve());
    child.once('exit', () => resolve());
  });
}
async function killOperator(): Promise<void> {
  const child = operator;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
after(() => killOperator());

/** Kills and restarts the operator at random moments (1 to 7 s after it started working) until stopped. */
function chaos(): { stop: () => Promise<number> } {
  let running = true;
  let kills = 0;
  const loop = (async () => {
    while (running) {
      await operatorWorking;
      await new Promise((resolve) => setTimeout(resolve, 1000 + random() * 6000));
      if (!running) break;
      await killOperator();
      kills++;
      startOperator();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return kills;
    },
  };
}

type Pod = { metadata: { name: string; uid: string; labels: Record<string, string> }; spec: PodSpecOfImages };
type Named = { metadata: { name: string } };
type List<T> = { items: T[] };

async function owned(name: string): Promise<Record<string, string[]>> {
  const kinds = ['pods', 'persistentvolumeclaims', 'services', 'secrets', 'deployments', 'replicasets'];
  const result: Record<string, string[]> = {};
  for (const kind of kinds) result[kind] = (await cluster.kubectlJson<List<Named>>('get', kind, '-l', `tessera.dev/cluster=${name}`)).items.map((item) => item.metadata.name).sort();
  return result;
}

const versionOf = (image: string | undefined) => image?.slice(image.lastIndexOf(':') + 2);

/** Samples every guest's pods until stopped; records any moment a controller-manager or scheduler ran newer than the oldest API server. */
function skewMonitor(names: string[]): { stop: () => Promise<{ samples: number; violations: string[] }> } {
  let running = true;
  let samples = 0;
  const violations: string[] = [];
  const loop = (async () => {
    while (running) {
      const pods = (await cluster.kubectlJson<List<Pod>>('get', 'pods', '-l', 'tessera.dev/cluster')).items;
      samples++;
      for (const name of names) {
        // Each control-plane pod runs all three; the Services may send a controller-manager to any API server.
        const versions = (container: string) => pods.filter((pod) => pod.metadata.labels['tessera.dev/cluster'] === name && pod.metadata.labels['tessera.dev/component'] === 'control-plane').map((pod) => versionOf(containerImage(pod.spec, container)) ?? '');
        const oldestApiServer = oldestVersion(versions('kube-apiserver'));
        if (!oldestApiServer) continue;
        for (const component of ['kube-controller-manager', 'kube-scheduler']) {
          for (const version of versions(component)) {
            if (compareVersions(version, oldestApiServer) > 0) violations.push(`${new Date().toISOString()} ${name}: ${component} ${version} newer than the oldest API server ${oldestApiServer}`);
          }
        }
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { samples, violations };
    },
  };
}


test('the meta cluster starts without the in-process operator, and writes the operator identity', async () => {
  const up = await cluster.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  await cluster.kubectl('get', 'crd', 'clusters.tessera.dev');
  const whoami = await cluster.tessera(['kubectl', '--', '--kubeconfig', join(cluster.home, 'operator.kubeconfig'), 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
  assert.equal(whoami.stdout.trim(), 'tessera:cluster-operator', whoami.stderr);
});

test(`the operator killed at random moments during create, upgrade and delete converges every time (${batches} x ${guestsPerBatch} guests)`, async (t) => {
  t.diagnostic(`random seed ${seed} (replay with TESSERA_CRASH_SEED=${seed})`);
  // The PKI set of a Minimal guest (one etcd member) plus one extra user's kubeconfig.
  const expectedSecrets = (name: string) =>
    ['admin-kubeconfig', 'apiserver', 'apiserver-etcd-client', 'apiserver-kubelet-client', 'ca', 'controller-manager-kubeconfig', 'etcd-0', 'etcd-ca', 'etcd-operator-client', 'front-proxy-ca', 'front-proxy-client', 'sa', 'scheduler-kubeconfig', 'user-dev-kubeconfig'].map((suffix) => `${name}-${suffix}`).sort();
  let totalKills = 0;
  for (let batch = 0; batch < batches; batch++) {
    const names = Array.from({ length: guestsPerBatch }, (_, i) => `crash-${batch * guestsPerBatch + i}`);
    startOperator();
    const killer = chaos();
    const monitor = skewMonitor(names);
    // Both are stopped on every path (stop is idempotent): a failed wait must not leave them
    // killing the operator and polling for ever, which kept the test file from ending.
    try {
      for (const [index, name] of names.entries()) {
        await cluster.apply(
          `apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${name}}\nspec:\n  version: "1.36.3"\n  mode: Minimal\n` +
            `  network: {podCIDR: 10.${120 + index}.0.0/16, serviceCIDR: 10.${130 + index}.0.0/20}\n  users: [{name: dev, groups: ["tessera:editors"]}]\n`,
        );
      }
      for (const name of names) {
        await guests.waitReady(name, 300_000);
        const objects = await owned(name);
        assert.equal(objects['pods']?.filter((p) => p.startsWith(`${name}-etcd-`)).length, 1, `one etcd member pod: ${objects['pods']}`);
        assert.deepEqual(objects['persistentvolumeclaims'], [`${name}-etcd-0-data`]);
        assert.equal(objects['services']?.length, 4, `${objects['services']}`);
        assert.deepEqual(objects['deployments'], [`${name}-control-plane`]);
        assert.deepEqual(objects['secrets'], expectedSecrets(name));
      }

      for (const name of names) await cluster.kubectl('patch', 'cluster', name, '--type=merge', '-p', '{"spec":{"version":"1.37.2"}}');
      for (const name of names) {
        const upgraded = await guests.waitFor(name, 'upgraded', (object) => isReadyAtGeneration(object) && object.status?.versions?.['scheduler'] === '1.37.2' && conditionOf(object, 'Upgrading')?.status === 'False', 400_000);
        assert.deepEqual(upgraded.status?.versions, { apiServer: '1.37.2', controllerManager: '1.37.2', scheduler: '1.37.2', etcd: '3.7.3' });
      }
      const skew = await monitor.stop();
      assert.ok(skew.samples > 10, `sampled ${skew.samples} times`);
      assert.deepEqual(skew.violations, [], 'no controller-manager or scheduler ever newer than the oldest API server');

      const uids = (await cluster.kubectlJson<List<Pod>>('get', 'pods', '-l', 'tessera.dev/cluster')).items.filter((pod) => names.includes(pod.metadata.labels['tessera.dev/cluster'] ?? '')).map((pod) => pod.metadata.uid);
      for (const name of names) await cluster.kubectl('delete', 'cluster', name, '--wait=false');
      for (const name of names) {
        await eventually(`${name} deleted`, async () => !(await cluster.kubectl('get', 'clusters', '-o', 'name')).includes(`cluster.tessera.dev/${name}\n`), 240_000, 500);
        const leaked = Object.entries(await owned(name)).filter(([, objects]) => objects.length > 0);
        assert.deepEqual(leaked, [], `nothing of ${name} is left`);
      }
      totalKills += await killer.stop();
      await eventually('no PersistentVolume of these guests left', async () => {
        const claims = await cluster.kubectl('get', 'pv', '-o', 'jsonpath={.items[*].spec.claimRef.name}');
        return !names.some((name) => claims.includes(`${name}-etcd-`));
      }, 120_000);
      for (const uid of uids) await eventually(`no process of pod ${uid} left`, async () => (await processesMentioning(uid)).length === 0, 60_000);
    } finally {
      await killer.stop();
      await monitor.stop();
      await killOperator();
    }
  }
  t.diagnostic(`the operator was killed ${totalKills} times`);
  assert.ok(totalKills >= 10, `the operator was killed ${totalKills} times`);
});
