// The fleet kinds' CustomResourceDefinitions: one entry per kind, rendered into deploy/crds by
// scripts/generate-crds.ts.
import { CellSpecSchema, CellStatusSchema, cellPrinterColumns, cellResource } from './cell.ts';
import { ClusterProfileSpecSchema, ClusterProfileStatusSchema, clusterProfilePrinterColumns, clusterProfileResource } from './cluster-profile.ts';
import { TIER_POLICY_NAME, TierPolicySpecSchema, TierPolicyStatusSchema, tierPolicyPrinterColumns, tierPolicyResource } from './tier-policy.ts';
import { fleetCrdFileName, fleetCrdYaml, type FleetKindDefinition } from './fleet-kind.ts';

export const fleetKinds: Array<{ definition: FleetKindDefinition; source: string }> = [
  {
    source: 'src/api/v1alpha1/cell.ts',
    definition: { resource: cellResource, description: 'A meta cluster (cell) that hosts guest control planes, with its region, zones and capacity.', spec: CellSpecSchema, status: CellStatusSchema, printerColumns: cellPrinterColumns },
  },
  {
    source: 'src/api/v1alpha1/cluster-profile.ts',
    definition: { resource: clusterProfileResource, description: 'Defaults for Clusters that name this profile in spec.profile.', spec: ClusterProfileSpecSchema, status: ClusterProfileStatusSchema, printerColumns: clusterProfilePrinterColumns },
  },
  {
    source: 'src/api/v1alpha1/tier-policy.ts',
    definition: {
      resource: tierPolicyResource,
      description: 'Control-plane size tiers, the load score that chooses one, and the re-tiering windows. One object, named "default".',
      spec: TierPolicySpecSchema,
      status: TierPolicyStatusSchema,
      printerColumns: tierPolicyPrinterColumns,
      nameRules: [{ rule: `self == '${TIER_POLICY_NAME}'`, message: `metadata.name must be "${TIER_POLICY_NAME}": there is one TierPolicy` }],
    },
  },
];

export const fleetCrdFiles: Array<{ fileName: string; render: () => string }> = fleetKinds.map(({ definition, source }) => ({
  fileName: fleetCrdFileName(definition.resource),
  render: () => fleetCrdYaml(definition, source),
}));
