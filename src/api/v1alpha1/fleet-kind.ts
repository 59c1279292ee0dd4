// What the fleet kinds (Cell, ClusterProfile, TierPolicy) share: resource names, the condition
// and metadata schemas, and their CustomResourceDefinitions, built from their TypeBox schemas
// the same way crd.ts builds the Cluster's (scripts/generate-crds.ts writes them to deploy/crds;
// fleet-kind.test.ts fails when they drift).
import { Type, type TSchema } from '@sinclair/typebox';
import { stringify } from 'yaml';
import { toStructuralSchema } from '../structural-schema.ts';
import type { CustomResourceDefinition, PrinterColumn } from './crd.ts';

export type FleetResource = {
  group: 'tessera.dev';
  version: 'v1alpha1';
  apiVersion: 'tessera.dev/v1alpha1';
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Cluster' | 'Namespaced';
};

export const FleetConditionSchema = Type.Object(
  {
    type: Type.String({ maxLength: 316 }),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
    reason: Type.String({ maxLength: 1024 }),
    message: Type.String({ maxLength: 32768 }),
    lastTransitionTime: Type.String({ format: 'date-time' }),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
  },
  { description: 'A condition in the standard metav1.Condition shape.' },
);

export const fleetObjectMeta = Type.Object({
  name: Type.String(),
  uid: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  resourceVersion: Type.Optional(Type.String()),
  creationTimestamp: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  finalizers: Type.Optional(Type.Array(Type.String())),
  deletionTimestamp: Type.Optional(Type.String()),
});

export type FleetKindDefinition = {
  resource: FleetResource;
  description: string;
  spec: TSchema;
  status: TSchema;
  printerColumns: PrinterColumn[];
  /** CEL rules on metadata.name, e.g. a singleton's fixed name. */
  nameRules?: Array<{ rule: string; message: string }>;
};

export function fleetCrdFileName(resource: FleetResource): string {
  return `${resource.group}_${resource.plural}.yaml`;
}

export function buildFleetCrd(definition: FleetKindDefinition): CustomResourceDefinition {
  const { resource } = definition;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${resource.plural}.${resource.group}`, labels: { 'app.kubernetes.io/part-of': 'tessera' } },
    spec: {
      group: resource.group,
      scope: resource.scope,
      names: { kind: resource.kind, listKind: `${resource.kind}List`, plural: resource.plural, singular: resource.singular, shortNames: [...resource.shortNames], categories: ['tessera'] },
      versions: [
        {
          name: resource.version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: definition.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: definition.nameRules ? { type: 'object', properties: { name: { type: 'string', 'x-kubernetes-validations': definition.nameRules } } } : { type: 'object' },
                spec: toStructuralSchema(definition.spec, 'spec'),
                status: toStructuralSchema(definition.status, 'status'),
              },
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns.map((column) => ({ ...column })),
        },
      ],
    },
  };
}

export function fleetCrdYaml(definition: FleetKindDefinition, source: string): string {
  const header = `# Generated from ${source} by scripts/generate-crds.ts: do not edit, run \`npm run crds\`.\n`;
  return header + stringify(buildFleetCrd(definition), { lineWidth: 0 });
}
