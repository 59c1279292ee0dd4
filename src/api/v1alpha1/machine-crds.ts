// The Node operator's kinds' CustomResourceDefinitions (Machine, ClusterPackageVersion), built
// like the fleet kinds' and rendered into deploy/crds by scripts/generate-crds.ts.
import { fleetCrdFileName, fleetCrdYaml, type FleetKindDefinition } from './fleet-kind.ts';
import { MachineSpecSchema, MachineStatusSchema, machinePrinterColumns, machineResource } from './machine.ts';
import { ClusterPackageVersionSpecSchema, ClusterPackageVersionStatusSchema, clusterPackageVersionPrinterColumns, clusterPackageVersionResource } from './cluster-package-version.ts';

export const machineKinds: Array<{ definition: FleetKindDefinition; source: string }> = [
  {
    source: 'src/api/v1alpha1/machine.ts',
    definition: { resource: machineResource, description: 'A host the Node operator joins to a guest cluster over SSH.', spec: MachineSpecSchema, status: MachineStatusSchema, printerColumns: machinePrinterColumns },
  },
  {
    source: 'src/api/v1alpha1/cluster-package-version.ts',
    definition: { resource: clusterPackageVersionResource, description: 'Default on-host package versions of a guest cluster; one per Cluster, named after it.', spec: ClusterPackageVersionSpecSchema, status: ClusterPackageVersionStatusSchema, printerColumns: clusterPackageVersionPrinterColumns },
  },
];

export const machineCrdFiles: Array<{ fileName: string; render: () => string }> = machineKinds.map(({ definition, source }) => ({
  fileName: fleetCrdFileName(definition.resource),
  render: () => fleetCrdYaml(definition, source),
}));
