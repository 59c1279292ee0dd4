// The TierPolicy kind (tessera.dev/v1alpha1, cluster-scoped, one object named "default"): the
// control-plane size tiers, the load score that picks one, and how fast guests move between
// them. Without the object the built-in defaultTierPolicySpec applies. The tiering controller
// (src/operators/tiering) reads it; the Cluster operator renders resources with tierResources().
import { Type, type Static } from '@sinclair/typebox';
import { durationPattern } from './cluster.ts';
import { tierNamePattern } from './cluster-fleet-fields.ts';
import { FleetConditionSchema, fleetObjectMeta, type FleetResource } from './fleet-kind.ts';

export const tierPolicyResource: FleetResource = {
  group: 'tessera.dev',
  version: 'v1alpha1',
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'TierPolicy',
  plural: 'tierpolicies',
  singular: 'tierpolicy',
  shortNames: ['tiers'],
  scope: 'Cluster',
};
export const TIER_POLICY_NAME = 'default';

const validations = (...rules: Array<{ rule: string; message: string; fieldPath?: string }>) => ({ 'x-kubernetes-validations': rules });
const quantityMap = (path: string) =>
  Type.Record(Type.String(), Type.String({ maxLength: 64, ...validations({ rule: 'isQuantity(self)', message: `${path} values must be quantities such as "500m" or "2Gi"` }) }), { maxProperties: 8 });
const resourceRequirements = (path: string, component: string) =>
  Type.Object(
    { requests: Type.Optional(quantityMap(`${path}.requests`)), limits: Type.Optional(quantityMap(`${path}.limits`)) },
    { description: `Resources of each ${component} container (core/v1 ResourceRequirements).` },
  );
const duration = (path: string, defaultValue: string, description: string) =>
  Type.String({
    description: `${description} Default "${defaultValue}".`,
    default: defaultValue,
    maxLength: 32,
    ...validations({ rule: `self.matches('${durationPattern}')`, message: `${path} must be a Go duration such as "5m" or "1h"` }),
  });

export const TierSchema = Type.Object(
  {
    name: Type.String({ maxLength: 32, ...validations({ rule: `self.matches('${tierNamePattern}')`, message: 'spec.tiers[].name must be letters, digits and "-", e.g. "M"' }) }),
    maxScore: Type.Optional(Type.Number({ description: 'Highest load score this tier serves; the last tier has none (it serves everything above).', minimum: 0 })),
    etcd: resourceRequirements('spec.tiers[].etcd', 'etcd'),
    apiServer: resourceRequirements('spec.tiers[].apiServer', 'kube-apiserver'),
    controllerManager: resourceRequirements('spec.tiers[].controllerManager', 'kube-controller-manager'),
    scheduler: resourceRequirements('spec.tiers[].scheduler', 'kube-scheduler'),
    apiServerMaxRequestsInflight: Type.Integer({ description: 'kube-apiserver --max-requests-inflight.', minimum: 1 }),
    apiServerMaxMutatingRequestsInflight: Type.Integer({ description: 'kube-apiserver --max-mutating-requests-inflight.', minimum: 1 }),
    etcdVolumeSize: Type.String({ description: 'Volume each etcd member needs (placement counts it; the claim size stays the Cluster\'s).', maxLength: 64 }),
  },
  { description: 'One control-plane size.' },
);
export type Tier = Static<typeof TierSchema>;

export const LoadFactorsSchema = Type.Object(
  {
    objects: Type.Number({ description: 'Score per stored object.', minimum: 0 }),
    nodes: Type.Number({ description: 'Score per Node.', minimum: 0 }),
    pods: Type.Number({ description: 'Score per Pod (on top of it being an object).', minimum: 0 }),
    watchers: Type.Number({ description: 'Score per long-running request (watch).', minimum: 0 }),
    requestsPerSecond: Type.Number({ description: 'Score per request per second.', minimum: 0 }),
    etcdDatabaseMegabytes: Type.Number({ description: 'Score per MiB of etcd database.', minimum: 0 }),
  },
  { description: 'score = sum of factor x input.' },
);
export type LoadFactors = Static<typeof LoadFactorsSchema>;

export const TierPolicySpecSchema = Type.Object(
  {
    tiers: Type.Array(TierSchema, { description: 'Tiers from smallest to largest, by ascending maxScore; the last has no maxScore.', minItems: 1, maxItems: 16 }),
    defaultTier: Type.String({ description: 'Tier of a new guest before its load is measured.', maxLength: 32 }),
    factors: LoadFactorsSchema,
    retiering: Type.Object(
      {
        upAfter: duration('spec.retiering.upAfter', '5m', 'The score must stay above the tier this long before the guest moves up one tier.'),
        downAfter: duration('spec.retiering.downAfter', '1h', 'The score must stay below the tier below (with the margin) this long before the guest moves down one tier.'),
        downMarginPercent: Type.Integer({ description: 'Hysteresis: moving down needs the score this far below the lower tier\'s maxScore. Default 20.', minimum: 0, maximum: 90, default: 20 }),
        maxTransitionsPerHour: Type.Integer({ description: 'At most this many tier changes per guest per hour. Default 2.', minimum: 1, maximum: 60, default: 2 }),
      },
      { description: 'How fast guests move between tiers.' },
    ),
    scrapeInterval: duration('spec.scrapeInterval', '30s', 'How often each guest\'s API server metrics are read.'),
  },
  {
    description: 'Tiers and the load score.',
    ...validations(
      { rule: 'self.tiers.all(t, self.tiers.exists_one(o, o.name == t.name))', message: 'spec.tiers: tier names must be unique' },
      { rule: 'self.tiers.exists(t, t.name == self.defaultTier)', message: 'spec.defaultTier must name one of spec.tiers' },
      { rule: '!has(self.tiers[self.tiers.size() - 1].maxScore)', message: 'spec.tiers: the last tier must have no maxScore (it serves every higher score)' },
      {
        rule: 'self.tiers.size() < 2 || self.tiers.all(t, t == self.tiers[self.tiers.size() - 1] || has(t.maxScore))',
        message: 'spec.tiers: every tier but the last needs a maxScore',
      },
    ),
  },
);
export type TierPolicySpec = Static<typeof TierPolicySpecSchema>;

export const TierPolicyStatusSchema = Type.Object(
  {
    conditions: Type.Optional(Type.Array(FleetConditionSchema, { maxItems: 8, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
  },
  { description: 'Valid: whether the tiering controller accepted the policy.' },
);

export const TierPolicySchema = Type.Object({
  apiVersion: Type.Literal('tessera.dev/v1alpha1'),
  kind: Type.Literal('TierPolicy'),
  metadata: fleetObjectMeta,
  spec: TierPolicySpecSchema,
  status: Type.Optional(TierPolicyStatusSchema),
});
export type TierPolicy = Static<typeof TierPolicySchema>;

export const tierPolicyPrinterColumns = [
  { name: 'Default', type: 'string', jsonPath: '.spec.defaultTier', description: 'Tier of new guests.' },
  { name: 'UpAfter', type: 'string', jsonPath: '.spec.retiering.upAfter' },
  { name: 'DownAfter', type: 'string', jsonPath: '.spec.retiering.downAfter' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

const component = (cpu: string, memory: string) => ({ requests: { cpu, memory }, limits: { memory: doubled(memory) } });
function doubled(memory: string): string {
  const match = /^(\d+)(Mi|Gi)$/.exec(memory);
  return match ? `${Number(match[1]) * 2}${match[2]}` : memory;
}

/**
 * The built-in policy. Scores: an idle guest (a few hundred objects, a few dozen watches) scores
 * about 60-120; XS ends at 200, so a few thousand objects or ten nodes move a guest to S.
 */
export const defaultTierPolicySpec: TierPolicySpec = {
  tiers: [
    { name: 'XS', maxScore: 200, etcd: component('100m', '256Mi'), apiServer: component('200m', '512Mi'), controllerManager: component('100m', '128Mi'), scheduler: component('50m', '64Mi'), apiServerMaxRequestsInflight: 200, apiServerMaxMutatingRequestsInflight: 100, etcdVolumeSize: '1Gi' },
    { name: 'S', maxScore: 2000, etcd: component('250m', '512Mi'), apiServer: component('500m', '1Gi'), controllerManager: component('200m', '256Mi'), scheduler: component('100m', '128Mi'), apiServerMaxRequestsInflight: 400, apiServerMaxMutatingRequestsInflight: 200, etcdVolumeSize: '2Gi' },
    { name: 'M', maxScore: 20000, etcd: component('1', '2Gi'), apiServer: component('2', '4Gi'), controllerManager: component('500m', '1Gi'), scheduler: component('250m', '512Mi'), apiServerMaxRequestsInflight: 800, apiServerMaxMutatingRequestsInflight: 400, etcdVolumeSize: '8Gi' },
    { name: 'L', maxScore: 100000, etcd: component('2', '8Gi'), apiServer: component('4', '16Gi'), controllerManager: component('1', '2Gi'), scheduler: component('500m', '1Gi'), apiServerMaxRequestsInflight: 1600, apiServerMaxMutatingRequestsInflight: 800, etcdVolumeSize: '20Gi' },
    { name: 'XL', etcd: component('4', '16Gi'), apiServer: component('8', '32Gi'), controllerManager: component('2', '4Gi'), scheduler: component('1', '2Gi'), apiServerMaxRequestsInflight: 3200, apiServerMaxMutatingRequestsInflight: 1600, etcdVolumeSize: '50Gi' },
  ],
  defaultTier: 'XS',
  factors: { objects: 0.05, nodes: 5, pods: 0.2, watchers: 1, requestsPerSecond: 2, etcdDatabaseMegabytes: 1 },
  retiering: { upAfter: '5m', downAfter: '1h', downMarginPercent: 20, maxTransitionsPerHour: 2 },
  scrapeInterval: '30s',
};
