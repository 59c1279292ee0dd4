// Benchmark (issue 11): `tessera fleet -o json` over 10,000 Clusters on a real API server.
// The guests are read as the API server's Table of the Cluster printer columns; the baseline,
// measured in the same run against the same objects, is what the view cost before: listing the
// Clusters as objects (with their managedFields), in-process, so the CLI's own process start is
// on the measured side only. Every Cluster carries a status like the operators write (15
// conditions under their field managers, versions, tier, cell).
// Last line: {"bench":"fleet-view","clusters":N,"fleetSeconds":F,"objectListSeconds":O,"tableListSeconds":T,"ratio":R}
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startTestApiServer } from '../test/harness/api-server.ts';
import { clusterConditionTypes } from '../src/api/v1alpha1/cluster.ts';

const CLUSTERS = Number(process.env['FLEET_VIEW_CLUSTERS'] ?? 10_000);
const SAMPLES = 3;
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const api = await startTestApiServer();
try {
  for (const file of ['tessera.dev_clusters.yaml', 'tessera.dev_cells.yaml']) {
    const crd = parse(await readFile(new URL(`../deploy/crds/${file}`, import.meta.url), 'utf8')) as { metadata: { name: string } };
    await api.client.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    for (let attempt = 0; ; attempt++) {
      const live = await api.client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      if (live.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True')) break;
      if (attempt > 300) throw new Error(`CRD ${crd.metadata.name} not Established`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  // Established is not yet served: the watch cache answers 429 while it initialises.
  for (let attempt = 0; ; attempt++) {
    try {
      await api.client.get('/apis/tessera.dev/v1alpha1/cells');
      break;
    } catch (error) {
      if (attempt > 300) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const base = '/apis/tessera.dev/v1alpha1/namespaces/default/clusters';
  const conditions = [...clusterConditionTypes, 'Ready'].map((type) => ({ type, status: 'True', reason: 'AsExpected', message: `${type}: a message as long as the operator's usually are, naming what it saw`, lastTransitionTime: '2026-12-06T12:00:00Z', observedGeneration: 1 }));
  const create = async (index: number) => {
    const name = `guest-${index}`;
    await api.client.apply(`${base}/${name}`, { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name }, spec: { version: '1.37.2', mode: index % 3 === 0 ? 'Standard' : 'Minimal', placement: { region: `region-${index % 5}` } } }, 'bench');
    await api.client.apply(`${base}/${name}/status`, { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name }, status: { phase: 'Ready', cell: `cell-${index % 50}`, endpoint: `https://${name}.example:6443`, versions: { apiServer: '1.37.2', etcd: '3.7.3' }, conditions } }, 'tessera-cluster-operator-status');
    await api.client.apply(`${base}/${name}/status`, { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name }, status: { tier: 'S', load: { score: index % 100 } } }, 'tessera-tiering-controller');
  };
  const creating = performance.now();
  for (let index = 0; index < CLUSTERS; index += 50) await Promise.all(Array.from({ length: Math.min(50, CLUSTERS - index) }, (_, offset) => create(index + offset)));
  console.log(`fleet view: ${CLUSTERS} Clusters created in ${((performance.now() - creating) / 1000).toFixed(1)} s`);

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const timed = async (action: () => Promise<unknown>) => {
    const samples: number[] = [];
    for (let sample = 0; sample < SAMPLES; sample++) {
      const started = performance.now();
      await action();
      samples.push((performance.now() - started) / 1000);
    }
    return median(samples);
  };
  const objectListSeconds = await timed(() => api.client.get('/apis/tessera.dev/v1alpha1/clusters'));
  const tableListSeconds = await timed(() => api.client.request('GET', '/apis/tessera.dev/v1alpha1/clusters', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io', query: { includeObject: 'None' } }));
  let guests = 0;
  const fleetSeconds = await timed(
    () =>
      new Promise<void>((resolve, reject) =>
        execFile(process.execPath, [cli, 'fleet', '-o', 'json', '--kubeconfig', api.kubeconfigPath], { maxBuffer: 256 * 2 ** 20 }, (error, stdout) => {
          if (error) return reject(error);
          guests = (JSON.parse(stdout) as { guests: unknown[] }).guests.length;
          resolve();
        }),
      ),
  );
  if (guests !== CLUSTERS) throw new Error(`tessera fleet showed ${guests} guests, not ${CLUSTERS}`);
  console.log(`  tessera fleet -o json (a new process, median of ${SAMPLES}): ${fleetSeconds.toFixed(2)} s for ${guests} guests`);
  console.log(`  in-process lists: as objects ${objectListSeconds.toFixed(2)} s (the view's cost before), as a Table ${tableListSeconds.toFixed(2)} s`);
  console.log(JSON.stringify({ bench: 'fleet-view', clusters: CLUSTERS, fleetSeconds: Math.round(fleetSeconds * 100) / 100, objectListSeconds: Math.round(objectListSeconds * 100) / 100, tableListSeconds: Math.round(tableListSeconds * 100) / 100, ratio: Math.round((fleetSeconds / objectListSeconds) * 100) / 100 }));
} finally {
  await api.stop();
}
