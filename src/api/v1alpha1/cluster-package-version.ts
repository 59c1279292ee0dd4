// The ClusterPackageVersion kind (tessera.dev/v1alpha1, namespaced, one per Cluster and named
// after it): the default version of each on-host package for a guest's Machines. The Node
// operator creates it with the catalogue's defaults for the guest's Kubernetes version; a
// Machine may override single packages. The last revisions are kept in status for rollbacks.
import { Type, type Static } from '@sinclair/typebox';
import { FleetConditionSchema, fleetObjectMeta, type FleetResource } from './fleet-kind.ts';

export const clusterPackageVersionResource: FleetResource = {
  group: 'tessera.dev',
  version: 'v1alpha1',
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'ClusterPackageVersion',
  plural: 'clusterpackageversions',
  singular: 'clusterpackageversion',
  shortNames: ['cpv'],
  scope: 'Namespaced',
};

/** How many earlier package sets status.revisions keeps (at least 3). */
export const KEPT_PACKAGE_REVISIONS = 5;

export const PackageVersionSchema = Type.Object({
  name: Type.String({ description: 'Package name from the catalogue.', maxLength: 63 }),
  version: Type.String({ description: 'Version from the catalogue.', maxLength: 63 }),
});
export type PackageVersion = Static<typeof PackageVersionSchema>;

export const ClusterPackageVersionSpecSchema = Type.Object(
  {
    clusterName: Type.String({
      description: 'The Cluster these defaults are for; the object has the same name. Immutable.',
      maxLength: 63,
      'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'spec.clusterName is immutable' }],
    }),
    packages: Type.Array(PackageVersionSchema, {
      description: 'The default version of each package for the Cluster\'s Machines.',
      maxItems: 32,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
  },
  { description: 'Default on-host package versions of a guest cluster.' },
);
export type ClusterPackageVersionSpec = Static<typeof ClusterPackageVersionSpecSchema>;

export const ClusterPackageVersionStatusSchema = Type.Object(
  {
    conditions: Type.Optional(Type.Array(FleetConditionSchema, { description: 'Valid: every package and version is in the catalogue and within the skew policy.', maxItems: 8, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    revisions: Type.Optional(
      Type.Array(
        Type.Object({
          revision: Type.Integer({ minimum: 1 }),
          generation: Type.Integer({ minimum: 0, format: 'int64' }),
          time: Type.String({ format: 'date-time' }),
          packages: Type.Array(PackageVersionSchema),
        }),
        { description: `The package sets this object has held, newest first (the last ${KEPT_PACKAGE_REVISIONS}).`, maxItems: KEPT_PACKAGE_REVISIONS },
      ),
    ),
  },
  { description: 'Validity and history.' },
);
export type ClusterPackageVersionStatus = Static<typeof ClusterPackageVersionStatusSchema>;

export const ClusterPackageVersionSchema = Type.Object({
  apiVersion: Type.Literal('tessera.dev/v1alpha1'),
  kind: Type.Literal('ClusterPackageVersion'),
  metadata: Type.Intersect([fleetObjectMeta, Type.Object({ namespace: Type.Optional(Type.String()) })]),
  spec: ClusterPackageVersionSpecSchema,
  status: Type.Optional(ClusterPackageVersionStatusSchema),
});
export type ClusterPackageVersion = Static<typeof ClusterPackageVersionSchema>;

export const clusterPackageVersionPrinterColumns = [
  { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterName' },
  { name: 'Kubelet', type: 'string', jsonPath: '.spec.packages[?(@.name=="kubelet")].version' },
  { name: 'Containerd', type: 'string', jsonPath: '.spec.packages[?(@.name=="containerd")].version' },
  { name: 'Valid', type: 'string', jsonPath: '.status.conditions[?(@.type=="Valid")].status' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
