// The fleet's fields of the Cluster kind (spec.placement, spec.profile, spec.tier, status.cell,
// status.load). They live here, beside the Cell, ClusterProfile and TierPolicy kinds they refer
// to, and cluster.ts only plugs them in, so the Cluster schema stays one source for the CRD.
import { Type, type Static } from '@sinclair/typebox';

const validations = (...rules: Array<{ rule: string; message: string; fieldPath?: string }>) => ({ 'x-kubernetes-validations': rules });

/** A DNS-1123 label: Cell, region, zone and profile names. */
export const labelPattern = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** Tier names as written in a TierPolicy: XS, S, M, large-2, ... */
export const tierNamePattern = '^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$';

export const ClusterPlacementSchema = Type.Object(
  {
    region: Type.String({
      description: 'Region the guest runs in; only Cells of this region are considered.',
      maxLength: 63,
      ...validations({ rule: `self.matches('${labelPattern}')`, message: 'spec.placement.region must be a lowercase DNS label such as "local" or "eu-west"' }),
    }),
    cell: Type.Optional(
      Type.String({
        description: 'Pins the guest to this Cell; it is placed there only if it fits (Placed=False says why not).',
        maxLength: 63,
        ...validations({ rule: `self.matches('${labelPattern}')`, message: 'spec.placement.cell must name a Cell (a lowercase DNS label)' }),
      }),
    ),
    zones: Type.Optional(
      Type.Array(Type.String({ maxLength: 63 }), {
        description: 'Zones the control plane must be spread across; the Cell must have every one of them. Default: any 3 zones of the Cell (Standard) or any 1 (Minimal).',
        maxItems: 8,
        ...validations({ rule: 'self.all(zone, self.exists_one(other, other == zone))', message: 'spec.placement.zones must not repeat a zone' }),
      }),
    ),
  },
  {
    description:
      'Makes this a fleet Cluster: in the global cluster, the placement controller assigns it to one Cell (status.cell, condition Placed), copies it there and copies its status back. ' +
      'Region and cell are fixed once placed (moving a guest is a migration, not an edit).',
    ...validations(
      { rule: 'self.region == oldSelf.region', message: 'spec.placement.region is immutable: create a new Cluster in the other region', fieldPath: '.region' },
      { rule: 'has(self.cell) == has(oldSelf.cell) && (!has(self.cell) || self.cell == oldSelf.cell)', message: 'spec.placement.cell is immutable once set: migrating a guest between cells is not supported yet', fieldPath: '.cell' },
    ),
  },
);
export type ClusterPlacement = Static<typeof ClusterPlacementSchema>;

export const clusterProfileField = Type.String({
  description: 'Name of a ClusterProfile whose template fills this spec\'s unset fields; fields set here win. The profile as it was when the Cluster was created is kept (a profile change rolls nothing unless the profile says so).',
  maxLength: 63,
  ...validations({ rule: `self.matches('${labelPattern}')`, message: 'spec.profile must name a ClusterProfile (a lowercase DNS label such as "standard")' }),
});

export const clusterTierField = Type.String({
  description: 'Pins the control-plane size tier (a name from the TierPolicy, e.g. "M"); without it the tiering controller chooses from the measured load. The load is reported either way (status.load).',
  maxLength: 32,
  ...validations({ rule: `self.matches('${tierNamePattern}')`, message: 'spec.tier must be a tier name from the TierPolicy, such as "S" or "M"' }),
});

const count = (description: string) => Type.Integer({ description, minimum: 0, format: 'int64' });
const time = (description: string) => Type.String({ description, format: 'date-time' });

export const LoadInputsSchema = Type.Object(
  {
    objects: Type.Optional(count('Objects stored in etcd, summed over resources (apiserver_resource_objects, before Kubernetes 1.34 apiserver_storage_objects; the API server refreshes it about once a minute).')),
    nodes: Type.Optional(count('Node objects (apiserver_storage_objects{resource="nodes"}).')),
    pods: Type.Optional(count('Pod objects (apiserver_storage_objects{resource="pods"}).')),
    watchers: Type.Optional(count('Long-running requests, mostly watches (apiserver_longrunning_requests).')),
    requestsPerSecond: Type.Optional(Type.Number({ description: 'Requests per second since the previous scrape (apiserver_request_total).', minimum: 0 })),
    etcdDatabaseBytes: Type.Optional(count('etcd database size as the API server reports it (apiserver_storage_size_bytes).')),
  },
  { description: 'What the guest\'s API server reported on /metrics.' },
);
export type LoadInputs = Static<typeof LoadInputsSchema>;

export const ClusterLoadSchema = Type.Object(
  {
    score: Type.Optional(Type.Number({ description: 'Weighted sum of the inputs with the TierPolicy\'s factors.', minimum: 0 })),
    inputs: Type.Optional(LoadInputsSchema),
    observedAt: Type.Optional(time('When the inputs were scraped.')),
    recommendedTier: Type.Optional(Type.String({ description: 'The tier whose range holds the score now (before the windows and limits of re-tiering).' })),
    aboveSince: Type.Optional(time('Since when the score has been above the current tier\'s range (the up window counts from here).')),
    belowSince: Type.Optional(time('Since when the score has been below the current tier\'s range with the down margin (the down window counts from here).')),
    transitions: Type.Optional(Type.Array(time('A tier change.'), { description: 'Tier changes in the last hour, to enforce the TierPolicy\'s limit.', maxItems: 64 })),
  },
  { description: 'The guest\'s measured load, written by the tiering controller.' },
);
export type ClusterLoad = Static<typeof ClusterLoadSchema>;

export const clusterCellField = Type.String({ description: 'The Cell the placement controller assigned this guest to (fleet Clusters in the global cluster).' });
