// Writes the CustomResourceDefinitions under deploy/crds/ from the TypeScript API types
// (src/api/). Run through `npm run crds` after changing a kind; crd tests fail until you do.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { clusterCrdFileName, clusterCrdYaml } from '../src/api/v1alpha1/crd.ts';
import { fleetCrdFiles } from '../src/api/v1alpha1/fleet-crds.ts';
import { machineCrdFiles } from '../src/api/v1alpha1/machine-crds.ts';
import { packageRolloutCrdFile } from '../src/api/v1alpha1/package-rollout.ts';

const crds: Array<{ fileName: string; render: () => string }> = [{ fileName: clusterCrdFileName, render: clusterCrdYaml }, ...fleetCrdFiles, ...machineCrdFiles, packageRolloutCrdFile];

const directory = new URL('../deploy/crds/', import.meta.url);
for (const { fileName, render } of crds) {
  const target = new URL(fileName, directory);
  await writeFile(target, render());
  console.log(`wrote ${fileURLToPath(target)}`);
}
