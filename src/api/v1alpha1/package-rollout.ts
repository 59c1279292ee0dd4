// The PackageRollout kind (tessera.dev/v1alpha1, namespaced, beside its Cluster): a gray release of
// one on-host package version to a guest's Machines (seeds 002, 004). A canary of N Machines
// first, then waves, each verified (Node Ready, the package's own health check, optional declared
// checks, a soak time) before the next starts; at most maxUnavailable Machines, all in one zone,
// out of service at once; on a failed verification it stops, keeps the failed Nodes cordoned and
// rolls every upgraded Machine back in reverse order. On success the Cluster's
// ClusterPackageVersion moves to the new version. Which Machines go in which step is decided once,
// when the rollout starts, and recorded in status.nodes.
import { Type, type Static, type TUnsafe } from '@sinclair/typebox';
import type { fleetObjectMeta} from './fleet-kind.ts';
import { FleetConditionSchema, fleetCrdFileName, fleetCrdYaml, type FleetResource } from './fleet-kind.ts';
import { clusterNamePattern, durationPattern } from './cluster.ts';

export const packageRolloutResource: FleetResource = {
  group: 'tessera.dev',
  version: 'v1alpha1',
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'PackageRollout',
  plural: 'packagerollouts',
  singular: 'packagerollout',
  shortNames: ['prl'],
  scope: 'Namespaced',
};

type Rule = { rule: string; message: string; fieldPath?: string };
const validations = (...rules: Rule[]) => ({ 'x-kubernetes-validations': rules });
const immutable = (path: string, fix: string): Rule => ({ rule: 'self == oldSelf', message: `${path} is immutable: ${fix}` });

/** A count ("3", 3) or a percentage of the selected Machines ("10%"). */
export type CountOrPercent = number | string;

const countOrPercent = (path: string, description: string, defaultValue?: CountOrPercent, ...more: Rule[]): TUnsafe<CountOrPercent> =>
  Type.Unsafe<CountOrPercent>({
    'x-kubernetes-int-or-string': true,
    description: `${description} A count (3) or a percentage of the selected Machines ("10%").${defaultValue !== undefined ? ` Default ${JSON.stringify(defaultValue)}.` : ''}`,
    ...(defaultValue !== undefined ? { default: defaultValue } : {}),
    // Bounds the string form, so the API server can bound the rule's cost.
    maxLength: 4,
    ...validations({
      rule: "type(self) == int ? self >= 0 : self.matches('^(100|[1-9]?[0-9])%$')",
      message: `${path} must be a count such as 1 or a percentage such as "10%" (at most "100%")`,
    }, ...more),
  });

const duration = (path: string, defaultValue: string, description: string) =>
  Type.String({
    description: `${description} A Go duration such as "30s", "2m" or "1h". Default "${defaultValue}".`,
    default: defaultValue,
    maxLength: 32,
    ...validations({ rule: `self.matches('${durationPattern}')`, message: `${path} must be a Go duration such as "30s", "2m" or "1h"` }),
  });

const labelSelectorProperties = {
  matchLabels: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 63 }), { description: 'Machines whose metadata.labels hold all of these.', maxProperties: 32 })),
  matchExpressions: Type.Optional(
    Type.Array(
      Type.Object({
        key: Type.String({ maxLength: 316 }),
        operator: Type.Union([Type.Literal('In'), Type.Literal('NotIn'), Type.Literal('Exists'), Type.Literal('DoesNotExist')]),
        values: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 64 })),
      }),
      { maxItems: 16 },
    ),
  ),
};
export const LabelSelectorSchema = Type.Object(labelSelectorProperties, {
  description: 'Which of the Cluster\'s Machines (a metav1.LabelSelector over Machine labels); default all. Immutable.',
  ...validations(immutable('spec.selector', 'create another PackageRollout')),
});
export type LabelSelector = Static<typeof LabelSelectorSchema>;

export const VerificationCheckSchema = Type.Object(
  {
    name: Type.String({ description: 'Names the check in status and Events.', maxLength: 63, ...validations({ rule: "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')", message: 'spec.verification.checks[].name must be a lowercase DNS label such as "error-rate"' }) }),
    http: Type.Optional(
      Type.Object(
        {
          url: Type.String({ description: 'http(s) URL the operator GETs; "{node}" is replaced by the Node name, so a check can be per Node.', maxLength: 2048, ...validations({ rule: "self.matches('^https?://')", message: 'spec.verification.checks[].http.url must start with http:// or https://' }) }),
          expectStatus: Type.Optional(Type.Integer({ description: 'HTTP status that passes. Default 200.', minimum: 100, maximum: 599, default: 200 })),
          bodyContains: Type.Optional(Type.String({ description: 'Text the response body must contain.', maxLength: 1024 })),
        },
        { description: 'Passes when the URL answers with expectStatus (and bodyContains) within 5 s.' },
      ),
    ),
    prometheus: Type.Optional(
      Type.Object(
        {
          url: Type.String({ description: 'Base URL of a Prometheus-compatible query API (…/api/v1/query is appended).', maxLength: 2048, ...validations({ rule: "self.matches('^https?://')", message: 'spec.verification.checks[].prometheus.url must start with http:// or https://' }) }),
          query: Type.String({ description: 'PromQL instant query; "{node}" is replaced by the Node name. Every returned sample must be within min and max.', maxLength: 4096 }),
          max: Type.Optional(Type.Number({ description: 'Largest value that passes.' })),
          min: Type.Optional(Type.Number({ description: 'Smallest value that passes.' })),
        },
        { description: 'Passes when every sample of the query result is within [min, max].' },
      ),
    ),
  },
  {
    description: 'A declared check: an HTTP probe or a Prometheus query, never a script.',
    ...validations({ rule: 'has(self.http) != has(self.prometheus)', message: 'spec.verification.checks[]: set exactly one of http or prometheus' }),
  },
);
export type VerificationCheck = Static<typeof VerificationCheckSchema>;

export const PackageRolloutSpecSchema = Type.Object(
  {
    clusterName: Type.String({
      description: 'The Cluster (in this namespace) whose Machines are rolled. Immutable.',
      maxLength: 63,
      ...validations({ rule: `self.matches('${clusterNamePattern}')`, message: 'spec.clusterName must name a Cluster in this namespace (a lowercase DNS label)' }, immutable('spec.clusterName', 'create another PackageRollout')),
    }),
    package: Type.Object(
      {
        name: Type.String({ description: 'Package name from the catalogue (`tessera packages list`), e.g. "kubelet".', minLength: 1, maxLength: 63 }),
        version: Type.String({ description: 'The version to roll out; must be in the catalogue.', minLength: 1, maxLength: 63 }),
      },
      { description: 'What to roll out. Immutable: another version is another PackageRollout.', ...validations(immutable('spec.package', 'create another PackageRollout for another package or version')) },
    ),
    selector: Type.Optional(LabelSelectorSchema),
    canary: Type.Optional(countOrPercent('spec.canary', 'Machines upgraded and verified first, alone. Immutable.', 1, immutable('spec.canary', 'create another PackageRollout'))),
    waves: Type.Optional(
      Type.Array(countOrPercent('spec.waves[]', 'Machines upgraded by the end of this wave, counted from the start (cumulative).'), {
        description: 'The waves after the canary, each cumulative ("10%" then "50%" then "100%"); a last wave to 100% is implied. Default ["10%", "50%", "100%"]. Immutable.',
        default: ['10%', '50%', '100%'],
        maxItems: 10,
        ...validations(immutable('spec.waves', 'create another PackageRollout')),
      }),
    ),
    maxUnavailable: Type.Optional(countOrPercent('spec.maxUnavailable', 'Selected Machines out of service at once (being drained, upgraded or not yet verified), counting ones already unhealthy; a percentage rounds down, at least 1. All of them are always in one zone.', '10%')),
    verification: Type.Optional(
      Type.Object(
        {
          soak: duration('spec.verification.soak', '2m', 'How long every Machine of a step must keep passing its checks before the step counts as verified.'),
          timeout: duration('spec.verification.timeout', '10m', 'How long an upgraded Machine may take to pass its checks at all; then it has failed.'),
          checks: Type.Optional(Type.Array(VerificationCheckSchema, { description: 'Checks beyond Node Ready and the package\'s own health check, which always run.', maxItems: 16, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })),
        },
        { description: 'What verifies an upgraded Machine.' },
      ),
    ),
    failurePolicy: Type.Optional(Type.Union([Type.Literal('Rollback'), Type.Literal('Pause')], { description: 'On a failed verification: Rollback (default) rolls every upgraded Machine back; Pause stops and waits for a person (set it to Rollback to roll back).', default: 'Rollback' })),
    drain: Type.Optional(
      Type.Object(
        {
          policy: Type.Optional(Type.Union([Type.Literal('Auto'), Type.Literal('Always'), Type.Literal('Never')], { description: 'Auto (default) drains before packages whose change restarts workloads (container runtime, runc, CNI plugins); a kubelet restart leaves containers running. Upgraded Nodes are always cordoned.', default: 'Auto' })),
          timeout: Type.Optional(duration('spec.drain.timeout', '10m', 'After this long waiting for evictions (PodDisruptionBudgets) the rollout pauses and says why; pods are never deleted by force.')),
        },
        { description: 'Draining a Node before its package changes.' },
      ),
    ),
    paused: Type.Optional(Type.Boolean({ description: 'No new Machine starts while true; Machines already in progress finish. Default false.', default: false })),
  },
  { description: 'A gray release of one package version to a Cluster\'s Machines.' },
);
export type PackageRolloutSpec = Static<typeof PackageRolloutSpecSchema>;

/** Terminal phases, and the ones in between. "Wave k of n" carries its numbers. */
export const ROLLOUT_PHASE_PATTERN = '^(Pending|Canary|Verifying|Wave [0-9]+ of [0-9]+|Paused|Succeeded|RollingBack|RolledBack|Failed)$';
export const TERMINAL_PHASES: readonly string[] = ['Succeeded', 'RolledBack', 'Failed'];

export const nodeRolloutStates = ['Pending', 'Skipped', 'Draining', 'Upgrading', 'Verifying', 'Soaking', 'Verified', 'Failed', 'RollingBack', 'RolledBack'] as const;
export type NodeRolloutState = (typeof nodeRolloutStates)[number];

export const NodeRolloutSchema = Type.Object({
  machine: Type.String({ description: 'The Machine.' }),
  node: Type.Optional(Type.String({ description: 'Its guest Node.' })),
  zone: Type.Optional(Type.String()),
  step: Type.Integer({ minimum: 0, description: '0 the canary, k wave k.' }),
  order: Type.Optional(Type.Integer({ minimum: 1, description: 'The sequence in which Machines were started (rollback goes in reverse).' })),
  fromVersion: Type.Optional(Type.String({ description: 'The version the host reported when the Machine started.' })),
  toVersion: Type.String(),
  hostVersion: Type.Optional(Type.String({ description: 'The version the host reports now (Machine status.packages, read over SSH).' })),
  state: Type.Union(nodeRolloutStates.map((state) => Type.Literal(state)), { description: 'Pending, Skipped, Draining, Upgrading, Verifying, Soaking (checks pass, waiting for the step\'s soak), Verified, Failed, RollingBack, RolledBack.' }),
  time: Type.String({ format: 'date-time', description: 'When the state last changed.' }),
  startTime: Type.Optional(Type.String({ format: 'date-time', description: 'When the package was set for this Machine.' })),
  cordoned: Type.Optional(Type.Boolean({ description: 'The rollout cordoned the Node (and uncordons it, unless it failed).' })),
  failed: Type.Optional(Type.Boolean({ description: 'The Machine failed verification: its Node stays cordoned after the rollback.' })),
  message: Type.Optional(Type.String({ description: 'Why it waits, was skipped or failed.', maxLength: 2048 })),
});
export type NodeRollout = Static<typeof NodeRolloutSchema>;

export const PackageRolloutStatusSchema = Type.Object(
  {
    phase: Type.Optional(Type.String({ description: 'Pending, Canary, Verifying, "Wave k of n", Paused, Succeeded, RollingBack, RolledBack, Failed.', pattern: ROLLOUT_PHASE_PATTERN })),
    conditions: Type.Optional(Type.Array(FleetConditionSchema, { description: 'Accepted, Progressing, Paused, Verified.', maxItems: 8, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    steps: Type.Optional(Type.Integer({ minimum: 0, description: 'Steps in the plan: the canary and the waves.' })),
    currentStep: Type.Optional(Type.Integer({ minimum: 0, description: '0 the canary, k wave k.' })),
    stepHealthySince: Type.Optional(Type.String({ format: 'date-time', description: 'When every Machine of the current step first passed its checks: the soak runs from here.' })),
    counts: Type.Optional(
      Type.Object({
        total: Type.Integer({ minimum: 0 }),
        updated: Type.Integer({ minimum: 0, description: 'Machines whose host reports the target version.' }),
        verified: Type.Integer({ minimum: 0 }),
        failed: Type.Integer({ minimum: 0 }),
        remaining: Type.Integer({ minimum: 0, description: 'Machines not started yet.' }),
        skipped: Type.Integer({ minimum: 0 }),
      }),
    ),
    startTime: Type.Optional(Type.String({ format: 'date-time' })),
    completionTime: Type.Optional(Type.String({ format: 'date-time' })),
    failure: Type.Optional(
      Type.Object({
        machine: Type.String(),
        node: Type.Optional(Type.String()),
        check: Type.String({ description: 'The check that failed, e.g. NodeReady, PackageHealthy, PackageInstalled or a declared check\'s name.' }),
        message: Type.String({ maxLength: 4096 }),
        time: Type.String({ format: 'date-time' }),
      }, { description: 'The first failed verification.' }),
    ),
    packageVersionGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64', description: 'The ClusterPackageVersion generation this rollout wrote on success.' })),
    nodes: Type.Optional(Type.Array(NodeRolloutSchema, { description: 'Per Machine progress, in plan order.', maxItems: 5000, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['machine'] })),
  },
  { description: 'Progress, recorded before each action so a restarted operator resumes from it.' },
);
export type PackageRolloutStatus = Static<typeof PackageRolloutStatusSchema>;

export type PackageRollout = {
  apiVersion: 'tessera.dev/v1alpha1';
  kind: 'PackageRollout';
  metadata: Static<typeof fleetObjectMeta> & { namespace?: string; managedFields?: { manager?: string; operation?: string; time?: string; subresource?: string; fieldsV1?: unknown }[] };
  spec: PackageRolloutSpec;
  status?: PackageRolloutStatus;
};

export const packageRolloutPrinterColumns = [
  { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterName' },
  { name: 'Package', type: 'string', jsonPath: '.spec.package.name' },
  { name: 'Version', type: 'string', jsonPath: '.spec.package.version' },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  { name: 'Updated', type: 'integer', jsonPath: '.status.counts.updated' },
  { name: 'Verified', type: 'integer', jsonPath: '.status.counts.verified' },
  { name: 'Failed', type: 'integer', jsonPath: '.status.counts.failed' },
  { name: 'Total', type: 'integer', jsonPath: '.status.counts.total' },
  { name: 'Failure', type: 'string', jsonPath: '.status.failure.message', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** The CRD file scripts/generate-crds.ts writes to deploy/crds. */
export const packageRolloutCrdFile = {
  fileName: fleetCrdFileName(packageRolloutResource),
  render: (): string =>
    fleetCrdYaml(
      { resource: packageRolloutResource, description: 'A gray release of one on-host package version to a Cluster\'s Machines: canary, verified waves, pause, automatic rollback.', spec: PackageRolloutSpecSchema, status: PackageRolloutStatusSchema, printerColumns: packageRolloutPrinterColumns },
      'src/api/v1alpha1/package-rollout.ts',
    ),
};
