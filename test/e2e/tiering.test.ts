// End to end: a guest's control plane sized by its measured load. A Standard guest on the local
// meta cluster is loaded with a few thousand objects; the tiering controller reads the load from
// the guest's own /metrics, moves it up exactly one tier once the score has stayed above its tier
// for the TierPolicy's window (shortened for the test), the Cluster operator rolls the new
// resources out, and the guest answers /readyz through its Service the whole time. It then stays
// on the new tier (Tiered says Steady; the way down needs an hour below the lower tier).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MetaClusterCli, eventually } from '../harness/meta-cluster-cli.ts';
import { GuestClusters, conditionOf, isReady, watchReadyz, type ClusterObject } from '../harness/guest-clusters.ts';
import { ensureBinaries } from '../../src/local/binaries/resolve.ts';
import { credentialsFromKubeconfig } from '../../src/operators/cluster/guest-access.ts';
import { RestClient } from '../../src/controller/rest-client.ts';
import { kubeconfigConnection } from '../../src/pki/kubeconfig.ts';

type Load = { score?: number; inputs?: { objects?: number }; recommendedTier?: string; transitions?: string[] };
type Tiered = ClusterObject & { status?: { tier?: string; load?: Load } };
type ContainerResources = { name: string; resources?: { requests?: Record<string, string> } };
type Deployment = { spec: { replicas: number; template: { spec: { initContainers?: ContainerResources[]; containers: ContainerResources[] } } }; status?: { updatedReplicas?: number; readyReplicas?: number; replicas?: number } };

const meta = await MetaClusterCli.create(9);
after(() => meta.destroy());
const binaries = await ensureBinaries({ components: ['kubectl'] });
const guests = new GuestClusters(meta, binaries.kubectl);

// Two small tiers that differ only in what they request, so the box can run either; objects are
// the only factor, so the score is a tenth of the guest's stored objects.
const small = (cpu: string, memory: string) => ({ requests: { cpu, memory } });
const tier = (name: string, cpu: string, memory: string, maxScore?: number) => ({
  name,
  ...(maxScore === undefined ? {} : { maxScore }),
  etcd: small(cpu, memory),
  apiServer: small(cpu, memory),
  controllerManager: small(cpu, memory),
  scheduler: small(cpu, memory),
  apiServerMaxRequestsInflight: 400,
  apiServerMaxMutatingRequestsInflight: 200,
  etcdVolumeSize: '1Gi',
});
const policy = {
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'TierPolicy',
  metadata: { name: 'default' },
  spec: {
    tiers: [tier('XS', '10m', '32Mi', 100), tier('S', '20m', '48Mi', 1_000_000), tier('L', '40m', '64Mi')],
    defaultTier: 'XS',
    factors: { objects: 0.1, nodes: 0, pods: 0, watchers: 0, requestsPerSecond: 0, etcdDatabaseMegabytes: 0 },
    retiering: { upAfter: '20s', downAfter: '1h', downMarginPercent: 20, maxTransitionsPerHour: 2 },
    scrapeInterval: '5s',
  },
};
const LOAD_OBJECTS = 2_500;

test('the meta cluster starts with the tiering controller and a TierPolicy with short windows', async () => {
  const up = await meta.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  await meta.apply(JSON.stringify(policy));
});

test('a Standard guest loaded with a few thousand objects moves up one tier in the window, answers /readyz throughout, and stays', async () => {
  await meta.apply(`apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: loaded}\nspec:\n  version: "1.37.2"\n  mode: Standard\n  network: {podCIDR: 10.120.0.0/16, serviceCIDR: 10.121.0.0/20}\n`);
  const ready = (await guests.waitFor('loaded', 'Ready on tier XS', (object) => isReady(object) && (object as Tiered).status?.tier === 'XS', 300_000)) as Tiered;
  const kubeconfig = await guests.secretData(ready.status?.adminKubeconfigSecret ?? '', 'kubeconfig');
  const credentials = credentialsFromKubeconfig(kubeconfig);

  // The guest answers /readyz through its Service from before the load until the new tier runs.
  const readyz = watchReadyz(ready.status?.endpoint ?? '', credentials);
  let watched: { probes: number; failures: string[] } | undefined;
  try {
    // The load: ConfigMaps, twenty at a time.
    const guest = new RestClient(kubeconfigConnection(kubeconfig));
    const loading = Date.now();
    for (let index = 0; index < LOAD_OBJECTS; index += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, offset) => guest.create('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `load-${index + offset}` }, data: { index: String(index + offset) } })));
    }
    console.log(`tiering: ${LOAD_OBJECTS} ConfigMaps created in ${((Date.now() - loading) / 1000).toFixed(1)} s`);

    const movedUp = (await guests.waitFor('loaded', 'moved up to tier S', (object) => (object as Tiered).status?.tier === 'S', 360_000)) as Tiered;
    const upAt = Date.now();
    const load = movedUp.status?.load;
    // The API server recounts its stored objects about once a minute, so on a slow box the tier can
    // move on a count taken part way through the load: past XS's 1000 objects, not all 2500.
    const objects = load?.inputs?.objects ?? 0;
    assert.ok(objects > 1_000 && objects <= LOAD_OBJECTS + 1_000, `the score's inputs are in status: ${JSON.stringify(load)}`);
    assert.equal(load?.score, Math.round(objects * 10 * 0.1) / 10, `score ${load?.score} is a tenth of the ${objects} objects`);
    assert.ok((load?.score ?? 0) > 100, `score ${load?.score} is above XS's 100`);
    assert.equal(load?.recommendedTier, 'S', 'one tier up: the score is inside S');
    const changes = (await guests.events('loaded')).filter((event) => event.reason === 'TierChanged');
    assert.equal(changes.length, 1, JSON.stringify(changes));
    assert.match(changes[0]?.message ?? '', /moved one step to S$/);
    console.log(`tiering: moved up to S ${((upAt - loading) / 1000).toFixed(0)} s after the load began (score ${load?.score}): ${changes[0]?.message}`);

    // The Cluster operator rolls the new requests out, one pod at a time.
    const rolled = async () => {
      const deployment = await meta.kubectlJson<Deployment>('get', 'deployment', 'loaded-control-plane');
      const requests = deployment.spec.template.spec.initContainers?.find((container) => container.name === 'kube-apiserver')?.resources?.requests;
      const done = requests?.['cpu'] === '20m' && deployment.status?.updatedReplicas === deployment.spec.replicas && deployment.status?.readyReplicas === deployment.spec.replicas && deployment.status?.replicas === deployment.spec.replicas;
      return done ? true : undefined;
    };
    await eventually('the API servers roll to tier S', rolled, 300_000, 1000);
    const steady = (await guests.waitFor('loaded', 'Ready and Tiered Steady on S', (object) => conditionOf(object, 'Tiered')?.reason === 'Steady' && isReady(object), 300_000)) as Tiered;
    watched = await readyz.stop();
    console.log(`tiering: rolled to S and Steady ${((Date.now() - upAt) / 1000).toFixed(0)} s after the change; ${watched.probes} /readyz probes, ${watched.failures.length} failed`);
    if (watched.failures.length > 0) console.log(`tiering: what the meta cluster recorded around the failed probes:\n${await guests.timeline('loaded')}`);
    assert.ok(watched.probes > 20, `probed ${watched.probes} times`);
    assert.deepEqual(watched.failures, [], 'the guest answered /readyz through its Service through the tier change');
    assert.equal(steady.status?.tier, 'S', 'it stays on S');
    assert.equal(steady.status?.load?.transitions?.length, 1, 'exactly one tier change');
  } finally {
    // A failed assertion must not leave the watcher probing after the meta cluster is gone.
    if (!watched) await readyz.stop();
  }
});

