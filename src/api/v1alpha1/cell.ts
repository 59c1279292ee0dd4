// The Cell kind (tessera.dev/v1alpha1, cluster-scoped, in the global cluster): one meta cluster
// that hosts guest control planes, a failure and capacity boundary (seed 004). The placement
// controller reads its capacity from the cell's own Nodes and keeps `headroomPercent` of it free.
import { Type, type Static } from '@sinclair/typebox';
import { labelPattern } from './cluster-fleet-fields.ts';
import { FleetConditionSchema, fleetObjectMeta, type FleetResource } from './fleet-kind.ts';

export const cellResource: FleetResource = {
  group: 'tessera.dev',
  version: 'v1alpha1',
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'Cell',
  plural: 'cells',
  singular: 'cell',
  shortNames: ['cell'],
  scope: 'Cluster',
};

const validations = (...rules: Array<{ rule: string; message: string; fieldPath?: string }>) => ({ 'x-kubernetes-validations': rules });
const quantity = (path: string, description: string) =>
  Type.String({ description, maxLength: 64, ...validations({ rule: 'isQuantity(self)', message: `${path} must be a Kubernetes quantity such as "64", "256Gi" or "2Ti"` }) });

export const DEFAULT_HEADROOM_PERCENT = 40;
/** The Cell that stands for the global cluster itself (`tessera up`'s meta cluster). */
export const LOCAL_CELL_NAME = 'local';

export const CellSpecSchema = Type.Object(
  {
    region: Type.String({
      description: 'Region of the cell; a Cluster is placed only into cells of its spec.placement.region.',
      maxLength: 63,
      ...validations({ rule: `self.matches('${labelPattern}')`, message: 'spec.region must be a lowercase DNS label such as "local" or "eu-west"' }),
    }),
    zones: Type.Optional(
      Type.Array(Type.String({ maxLength: 63 }), {
        description: 'Zones of the cell. Default: the topology.kubernetes.io/zone labels of its Nodes.',
        maxItems: 16,
      }),
    ),
    kubeconfigSecretRef: Type.Optional(
      Type.Object(
        {
          namespace: Type.String({ description: 'Namespace of the Secret in the global cluster.', maxLength: 63 }),
          name: Type.String({ description: 'Name of the Secret.', maxLength: 253 }),
          key: Type.Optional(Type.String({ description: 'Key holding the kubeconfig. Default "kubeconfig".', default: 'kubeconfig', maxLength: 253 })),
        },
        { description: 'A Secret holding a kubeconfig for the cell\'s API server with the rights of deploy/operator. Unset: the cell is the global cluster itself (guests placed there are not copied).' },
      ),
    ),
    state: Type.Optional(
      Type.Union([Type.Literal('Open'), Type.Literal('Cordoned'), Type.Literal('Draining')], {
        description: 'Open takes new guests; Cordoned takes none; Draining takes none and marks its guests for migration (migration itself is not implemented yet). Default Open.',
        default: 'Open',
      }),
    ),
    headroomPercent: Type.Optional(
      Type.Integer({
        description: `Share of each resource (CPU, memory, pods, storage) kept free: a guest is placed here only if this much is still free afterwards. Default ${DEFAULT_HEADROOM_PERCENT}.`,
        minimum: 0,
        maximum: 95,
        default: DEFAULT_HEADROOM_PERCENT,
      }),
    ),
    capacity: Type.Optional(
      Type.Object(
        {
          cpu: Type.Optional(quantity('spec.capacity.cpu', 'CPU the cell offers, overriding the sum of its Nodes\' allocatable.')),
          memory: Type.Optional(quantity('spec.capacity.memory', 'Memory the cell offers.')),
          pods: Type.Optional(quantity('spec.capacity.pods', 'Pods the cell offers.')),
          storage: Type.Optional(quantity('spec.capacity.storage', 'Volume capacity for etcd members; without it (and without ephemeral-storage on the Nodes) storage is not counted.')),
        },
        { description: 'Overrides of what the cell\'s Nodes report (e.g. a storage pool the Nodes do not show).' },
      ),
    ),
  },
  { description: 'A meta cluster that hosts guest control planes.' },
);
export type CellSpec = Static<typeof CellSpecSchema>;

const resources = (description: string) =>
  Type.Object(
    {
      cpu: Type.Optional(Type.String()),
      memory: Type.Optional(Type.String()),
      pods: Type.Optional(Type.String()),
      storage: Type.Optional(Type.String()),
    },
    { description },
  );

export const CellStatusSchema = Type.Object(
  {
    conditions: Type.Optional(
      Type.Array(FleetConditionSchema, {
        description: 'Reachable (the cell\'s API answers), Schedulable (Open, reachable and with room for at least the smallest tier).',
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64', description: 'metadata.generation last acted on.' })),
    zones: Type.Optional(Type.Array(Type.String(), { description: 'Zones in use: spec.zones, or those of the Nodes.' })),
    capacity: Type.Optional(resources('Allocatable resources: the sum over the cell\'s Ready Nodes, or spec.capacity.')),
    requested: Type.Optional(resources('What the guests placed here request, by their tiers.')),
    freePercent: Type.Optional(Type.Integer({ description: 'The smallest share of any resource still free, in percent.', minimum: 0, maximum: 100 })),
    guests: Type.Optional(Type.Integer({ description: 'Guests placed in this cell.', minimum: 0 })),
  },
  { description: 'What the placement controller observed.' },
);
export type CellStatus = Static<typeof CellStatusSchema>;

export const CellSchema = Type.Object({
  apiVersion: Type.Literal('tessera.dev/v1alpha1'),
  kind: Type.Literal('Cell'),
  metadata: fleetObjectMeta,
  spec: CellSpecSchema,
  status: Type.Optional(CellStatusSchema),
});
export type Cell = Static<typeof CellSchema>;

export const cellPrinterColumns = [
  { name: 'Region', type: 'string', jsonPath: '.spec.region', description: 'Region of the cell.' },
  { name: 'State', type: 'string', jsonPath: '.spec.state', description: 'Open, Cordoned or Draining.' },
  { name: 'Guests', type: 'integer', jsonPath: '.status.guests', description: 'Guests placed here.' },
  { name: 'Free%', type: 'integer', jsonPath: '.status.freePercent', description: 'Smallest share of a resource still free.' },
  { name: 'Reachable', type: 'string', jsonPath: '.status.conditions[?(@.type=="Reachable")].status', description: 'Whether the cell\'s API answers.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

export const cellConditionTypes = ['Reachable', 'Schedulable'] as const;
