// The Cluster operator killed (SIGKILL) at random moments while it creates and deletes guests:
// every run must converge, with exactly the objects a guest owns, and leave nothing behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MetaClusterCli, eventually } from '../harness/meta-cluster-cli.ts';

const runs = Number(process.env['TESSERA_CRASH_RUNS'] ?? 20);
const cluster = await MetaClusterCli.create(7);
cluster.env['TESSERA_EMBEDDED_OPERATORS'] = '0';
after(() => cluster.destroy());
const operatorMain = fileURLToPath(new URL('../../src/operators/main.ts', import.meta.url));

let operator: ChildProcess | undefined;
function startOperator(): void {
  operator = spawn(process.execPath, [operatorMain, `--kubeconfig=${join(cluster.home, 'kubeconfig')}`, '--no-leader-elect', '--metrics-bind-address=127.0.0.1:0'], { stdio: 'ignore', env: { ...process.env, TESSERA_LOG_LEVEL: 'error' } });
}
async function killOperator(): Promise<void> {
  const child = operator;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
after(() => killOperator());

// A random moment within the first `windowMs` of an action.
const randomDelay = (windowMs: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * windowMs));

type Named = { metadata: { name: string; ownerReferences?: { uid: string }[] } };
type List = { items: Named[] };

async function owned(name: string): Promise<Record<string, string[]>> {
  const kinds = ['pods', 'persistentvolumeclaims', 'services', 'secrets', 'deployments', 'replicasets'];
  const result: Record<string, string[]> = {};
  for (const kind of kinds) result[kind] = (await cluster.kubectlJson<List>('get', kind, '-l', `tessera.dev/cluster=${name}`)).items.map((item) => item.metadata.name).sort();
  return result;
}

test('the meta cluster starts without the in-process operator', async () => {
  const up = await cluster.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  await cluster.kubectl('get', 'crd', 'clusters.tessera.dev');
});

test(`the operator killed at random moments during create and delete converges every time (${runs} runs)`, async () => {
  // The PKI set of a Minimal guest (one etcd member) plus one extra user's kubeconfig.
  const expectedSecrets = (name: string) =>
    ['admin-kubeconfig', 'apiserver', 'apiserver-etcd-client', 'apiserver-kubelet-client', 'ca', 'controller-manager-kubeconfig', 'etcd-0', 'etcd-ca', 'etcd-operator-client', 'front-proxy-ca', 'front-proxy-client', 'sa', 'scheduler-kubeconfig', 'user-dev-kubeconfig'].map((suffix) => `${name}-${suffix}`).sort();
  // Runs go in batches of concurrent guests, so each crash lands in several reconciles at once.
  const batchSize = 4;
  for (let first = 0; first < runs; first += batchSize) {
    const names = Array.from({ length: Math.min(batchSize, runs - first) }, (_, i) => `crash-${first + i}`);
    startOperator();
    for (const name of names) {
      const file = join(cluster.home, `${name}.yaml`);
      await writeFile(file, `apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${name}}\nspec:\n  version: "1.37.2"\n  mode: Minimal\n  users: [{name: dev, groups: ["tessera:editors"]}]\n`);
      await cluster.kubectl('apply', '-f', file);
    }
    // Two crashes during creation, each at a random moment, the operator restarted after each.
    for (let crash = 0; crash < 2; crash++) {
      await randomDelay(5000);
      await killOperator();
      startOperator();
    }
    for (const name of names) {
      await eventually(`${name} Ready`, async () => {
        const object = await cluster.kubectlJson<{ status?: { conditions?: { type: string; status: string }[] } }>('get', 'cluster', name);
        return object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      }, 240_000, 500);
      const objects = await owned(name);
      assert.equal(objects['pods']?.filter((p) => p.startsWith(`${name}-etcd-`)).length, 1, `one etcd member pod: ${objects['pods']}`);
      assert.deepEqual(objects['persistentvolumeclaims'], [`${name}-etcd-0-data`]);
      assert.equal(objects['services']?.length, 4, `${objects['services']}`);
      assert.deepEqual(objects['deployments'], [`${name}-kube-apiserver`, `${name}-kube-controller-manager`, `${name}-kube-scheduler`]);
      assert.equal(objects['replicasets']?.length, 3, `one ReplicaSet per Deployment: ${objects['replicasets']}`);
      assert.deepEqual(objects['secrets'], expectedSecrets(name));
    }

    // A crash during deletion.
    for (const name of names) await cluster.kubectl('delete', 'cluster', name, '--wait=false');
    await randomDelay(3000);
    await killOperator();
    startOperator();
    for (const name of names) {
      await eventually(`${name} deleted`, async () => !(await cluster.kubectl('get', 'clusters', '-o', 'name')).includes(`cluster.tessera.dev/${name}\n`), 180_000, 500);
      const leaked = Object.entries(await owned(name)).filter(([, objects]) => objects.length > 0);
      assert.deepEqual(leaked, [], `nothing of ${name} is left`);
    }
    await killOperator();
  }
});
