// The CustomResourceDefinition of the Cluster kind, built from the TypeBox schema in cluster.ts.
// deploy/crds/tessera.dev_clusters.yaml is this object rendered by scripts/generate-crds.ts;
// crd.test.ts fails when the two drift apart.
import { stringify } from 'yaml';
import { toStructuralSchema, type StructuralSchema } from '../structural-schema.ts';
import { clusterNameRules, clusterPrinterColumns, clusterResource, ClusterSpecSchema, ClusterStatusSchema } from './cluster.ts';

export type PrinterColumn = { name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string };

export type CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: StructuralSchema };
      subresources?: { status?: Record<string, never> };
      additionalPrinterColumns?: PrinterColumn[];
    }>;
  };
};

export const clusterCrdName = `${clusterResource.plural}.${clusterResource.group}`;
/** The file under deploy/crds/, named like controller-gen names its output. */
export const clusterCrdFileName = `${clusterResource.group}_${clusterResource.plural}.yaml`;

export function clusterOpenApiSchema(): StructuralSchema {
  return {
    type: 'object',
    description: 'A hosted Kubernetes control plane (a guest cluster) run by Tessera in this meta cluster.',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string', description: 'tessera.dev/v1alpha1' },
      kind: { type: 'string', description: 'Cluster' },
      // Only metadata.name may be constrained in a CRD; the rest of ObjectMeta is the server's.
      metadata: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: 253, 'x-kubernetes-validations': clusterNameRules } },
      },
      spec: toStructuralSchema(ClusterSpecSchema, 'spec'),
      status: toStructuralSchema(ClusterStatusSchema, 'status'),
    },
  };
}

export function buildClusterCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: clusterCrdName, labels: { 'app.kubernetes.io/part-of': 'tessera' } },
    spec: {
      group: clusterResource.group,
      scope: 'Namespaced',
      names: {
        kind: clusterResource.kind,
        listKind: `${clusterResource.kind}List`,
        plural: clusterResource.plural,
        singular: clusterResource.singular,
        shortNames: [...clusterResource.shortNames],
        categories: [...clusterResource.categories],
      },
      versions: [
        {
          name: clusterResource.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: clusterOpenApiSchema() },
          subresources: { status: {} },
          additionalPrinterColumns: clusterPrinterColumns.map((column) => ({ ...column })),
        },
      ],
    },
  };
}

/** The checked-in YAML, byte for byte. */
export function clusterCrdYaml(): string {
  const header = '# Generated from src/api/v1alpha1/cluster.ts by scripts/generate-crds.ts: do not edit, run `npm run crds`.\n';
  return header + stringify(buildClusterCrd(), { lineWidth: 0 });
}
