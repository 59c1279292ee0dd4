// The ClusterProfile kind (tessera.dev/v1alpha1, cluster-scoped): a template of Cluster spec
// fields (mode, version, network, certificates, addons, tier, placement, ...) that a Cluster
// names in spec.profile; the Cluster's own fields win. A profile change reaches existing guests
// only with updatePolicy Rollout (Kamaji #1046: an operator-side template change must not roll
// every control plane); otherwise the guests that would change are listed in status.
import { Type, type Static } from '@sinclair/typebox';
import { FleetConditionSchema, fleetObjectMeta, type FleetResource } from './fleet-kind.ts';

export const clusterProfileResource: FleetResource = {
  group: 'tessera.dev',
  version: 'v1alpha1',
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'ClusterProfile',
  plural: 'clusterprofiles',
  singular: 'clusterprofile',
  shortNames: ['profile'],
  scope: 'Cluster',
};

export const ClusterProfileSpecSchema = Type.Object(
  {
    description: Type.Optional(Type.String({ description: 'What the profile is for.', maxLength: 1024 })),
    template: Type.Record(Type.String(), Type.Unknown(), {
      description:
        'Any part of a Cluster spec (mode, version, network, certificates, users, addons, controlPlane, tier, placement). Checked against the Cluster schema by the profile controller (condition Valid names the field).',
    }),
    updatePolicy: Type.Optional(
      Type.Union([Type.Literal('OnCreate'), Type.Literal('Rollout')], {
        description: 'OnCreate: a guest keeps the template it was created with, and changes are listed in status.pendingClusters. Rollout: changes reach every guest using the profile. Default OnCreate.',
        default: 'OnCreate',
      }),
    ),
  },
  { description: 'Defaults for Clusters that name this profile.' },
);
export type ClusterProfileSpec = Static<typeof ClusterProfileSpecSchema>;

export const ClusterProfileStatusSchema = Type.Object(
  {
    conditions: Type.Optional(Type.Array(FleetConditionSchema, { maxItems: 8, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    clusters: Type.Optional(Type.Integer({ description: 'Clusters naming this profile.', minimum: 0 })),
    pendingClusters: Type.Optional(
      Type.Array(Type.String(), { description: 'Clusters (namespace/name) still on an older template, which a change would roll; the first 100.', maxItems: 100 }),
    ),
    pendingCount: Type.Optional(Type.Integer({ description: 'How many Clusters are on an older template.', minimum: 0 })),
  },
  { description: 'What the profile controller observed.' },
);

export const ClusterProfileSchema = Type.Object({
  apiVersion: Type.Literal('tessera.dev/v1alpha1'),
  kind: Type.Literal('ClusterProfile'),
  metadata: fleetObjectMeta,
  spec: ClusterProfileSpecSchema,
  status: Type.Optional(ClusterProfileStatusSchema),
});
export type ClusterProfile = Static<typeof ClusterProfileSchema>;

export const clusterProfilePrinterColumns = [
  { name: 'Policy', type: 'string', jsonPath: '.spec.updatePolicy' },
  { name: 'Clusters', type: 'integer', jsonPath: '.status.clusters' },
  { name: 'Pending', type: 'integer', jsonPath: '.status.pendingCount', description: 'Clusters on an older template.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
