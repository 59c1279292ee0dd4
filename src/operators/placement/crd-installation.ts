// Installs the Cluster CRD and the fleet's CRDs, rendered from their schemas, into an API server
// and waits until they are served: what tests and benchmarks of the fleet controllers need, and
// nothing of other kinds whose CRDs may be changing beside them.
import { parse } from 'yaml';
import { clusterCrdYaml } from '../../api/v1alpha1/crd.ts';
import { fleetCrdFiles } from '../../api/v1alpha1/fleet-crds.ts';
import { resourcePath, type RestClient } from '../../controller/rest-client.ts';

export async function installFleetCrds(client: RestClient, timeoutMs = 30_000): Promise<void> {
  for (const yaml of [clusterCrdYaml(), ...fleetCrdFiles.map((file) => file.render())]) {
    const crd = parse(yaml) as { metadata: { name: string } };
    const path = resourcePath({ group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: crd.metadata.name });
    await client.apply(path, crd, 'tessera-fleet-crds', true);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(path);
      if (live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} was not established within ${timeoutMs / 1000}s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
