// The Cluster kind (tessera.dev/v1alpha1): one hosted guest control plane. The TypeBox schema
// below is the single source for the TypeScript types (Static<>), the CRD's OpenAPI schema
// (crd.ts), its printer columns and its CEL rules, so the API server itself rejects bad input
// and changes to immutable fields. withDefaults() fills every default for renderers; the
// defaults the API server can apply on its own are also schema defaults, so `kubectl get`
// shows them.
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_KUBERNETES_VERSION, supportedVersionsText } from './version-catalogue.ts';
import { extraArgValueRule, protectedFlagRules, type ControlPlaneComponentName } from './protected-flags.ts';
import { ClusterLoadSchema, ClusterPlacementSchema, clusterCellField, clusterProfileField, clusterTierField } from './cluster-fleet-fields.ts';

export const clusterResource = {
  group: 'tessera.dev',
  version: 'v1alpha1',
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'Cluster',
  plural: 'clusters',
  singular: 'cluster',
  shortNames: ['tc'],
  categories: ['tessera'],
} as const;

/** A CEL rule as the API server takes it (apiextensions.k8s.io/v1 ValidationRule). */
export type ValidationRule = {
  rule: string;
  message?: string;
  messageExpression?: string;
  /** Where the error points, relative to the node carrying the rule, e.g. `.podCIDR`. */
  fieldPath?: string;
};

const validations = (...rules: ValidationRule[]) => ({ 'x-kubernetes-validations': rules });

// Owned objects are named `<cluster>-<component>[-<suffix>]`; the longest Service name the
// operator may need (`<cluster>-kube-apiserver-headless`, 24 characters of suffix) must stay a
// 63-character DNS-1035 label, so the Cluster's own name is at most 39 and starts with a letter.
export const maxClusterNameLength = 39;
/** A DNS-1035 label: it prefixes Service names. */
export const clusterNamePattern = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
export const clusterNameRules: ValidationRule[] = [
  {
    rule: `self.size() <= ${maxClusterNameLength} && self.matches('${clusterNamePattern}')`,
    message:
      `metadata.name must be at most ${maxClusterNameLength} lowercase letters, digits or '-', start with a letter and end ` +
      'with a letter or digit: owned objects are named <name>-<component> and Service names are limited to 63 characters',
  },
];

// Regular expressions for CEL (RE2). `[.]` instead of `\.` keeps them free of escapes, which
// would otherwise need doubling once inside a CEL string literal.
const releaseVersionPattern = '^[0-9]+[.][0-9]+[.][0-9]+$';
/** Go's time.ParseDuration units; a unit is required on every number ("0s", not "0"). */
export const durationPattern = '^([0-9]+([.][0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$';

/** Go-style duration: "8760h", "30m", "90s", "1h30m". */
export type Duration = string;

function durationSchema(path: string, defaultValue: Duration, description: string) {
  return Type.String({
    description: `${description} A Go duration such as "8760h", "30m" or "90s". Default "${defaultValue}".`,
    default: defaultValue,
    maxLength: 32,
    ...validations({
      rule: `self.matches('${durationPattern}') && duration(self) > duration('0s')`,
      message: `${path} must be a positive Go duration such as "8760h", "30m" or "90s" (units h, m, s, ms, us, ns)`,
    }),
  });
}

const stringMap = (description: string, options: { maxProperties?: number; rules?: ValidationRule[]; valueRules?: ValidationRule[] } = {}) =>
  Type.Record(Type.String(), Type.String({ maxLength: 4096, ...(options.valueRules ? validations(...options.valueRules) : {}) }), {
    description,
    maxProperties: options.maxProperties ?? 64,
    ...(options.rules ? validations(...options.rules) : {}),
  });

const quantityMap = (path: string, description: string) =>
  Type.Record(
    Type.String(),
    Type.String({
      maxLength: 64,
      ...validations({ rule: 'isQuantity(self)', message: `${path} values must be Kubernetes quantities such as "500m", "2" or "4Gi" (quote numbers in YAML)` }),
    }),
    { description, maxProperties: 16 },
  );

/** A core/v1 object embedded as is; the API server keeps its fields without checking them. */
const embeddedObject = (description: string) => Type.Record(Type.String(), Type.Unknown(), { description });

/** `key` names the component in protected-flags.ts; without it (the generic type) no flag is protected. */
function componentProperties(path: string, component: string, key?: ControlPlaneComponentName) {
  return {
    version: Type.Optional(
      Type.String({
        description: `Overrides spec.version for ${component}, as MAJOR.MINOR.PATCH without a leading v.`,
        maxLength: 32,
        ...validations({ rule: `self.matches('${releaseVersionPattern}')`, message: `${path}.version must be MAJOR.MINOR.PATCH without a leading v, e.g. 1.37.2` }),
      }),
    ),
    extraArgs: Type.Optional(
      stringMap(
        `Command-line flags for ${component}, by name without the leading dashes (e.g. {"v": "4"}); they are added to the rendered flags and override a rendered flag of the same name. ` +
          'Flags the platform owns (authentication, authorization, certificates, etcd, wiring; see docs/guest-access.md) are refused, and values must not contain control characters.',
        {
          rules: [
            { rule: "self.all(flag, !flag.startsWith('-'))", message: `${path}.extraArgs keys are flag names without leading dashes, e.g. v: "4" for --v=4` },
            ...(key ? protectedFlagRules(key) : []),
          ],
          ...(key ? { valueRules: [extraArgValueRule(key)] } : {}),
        },
      ),
    ),
    resources: Type.Optional(
      Type.Object(
        {
          requests: Type.Optional(quantityMap(`${path}.resources.requests`, 'Minimum resources per replica, e.g. {"cpu": "250m", "memory": "512Mi"}.')),
          limits: Type.Optional(quantityMap(`${path}.resources.limits`, 'Maximum resources per replica.')),
        },
        { description: `Compute resources of each ${component} container, as in a core/v1 ResourceRequirements.` },
      ),
    ),
  };
}

const componentSpec = (path: string, component: string, key?: ControlPlaneComponentName) =>
  Type.Object(componentProperties(path, component, key), { description: `Overrides for ${component}.` });

export const ComponentSpecSchema = componentSpec('spec.controlPlane.<component>', 'the component');
export type ComponentSpec = Static<typeof ComponentSpecSchema>;

export const EtcdStorageSchema = Type.Object(
  {
    claimTemplate: Type.Optional(
      Type.Object(
        {
          storageClassName: Type.Optional(Type.String({ description: 'StorageClass of each member\'s PersistentVolumeClaim; the meta cluster\'s default class when unset.', maxLength: 253 })),
          size: Type.String({
            description: 'Requested size of each member\'s volume. Default "1Gi".',
            default: '1Gi',
            maxLength: 64,
            ...validations({ rule: 'isQuantity(self)', message: 'spec.controlPlane.etcd.storage.claimTemplate.size must be a quantity such as "1Gi"' }),
          }),
        },
        { description: 'A PersistentVolumeClaim per etcd member, created from this template.' },
      ),
    ),
    volumeSource: Type.Optional(embeddedObject('A core/v1 VolumeSource used for every member\'s data, e.g. {"emptyDir": {}} (data is lost with the pod).')),
  },
  {
    description: 'Where etcd members keep their data: exactly one of claimTemplate or volumeSource. Default claimTemplate {size: "1Gi"}.',
    ...validations({
      rule: 'has(self.claimTemplate) != has(self.volumeSource)',
      message: 'spec.controlPlane.etcd.storage must set exactly one of claimTemplate or volumeSource',
    }),
  },
);
export type EtcdStorage = Static<typeof EtcdStorageSchema>;

const immutableMessage = (path: string) => `${path} is immutable: create a new Cluster to change it`;
const immutable = (path: string): ValidationRule => ({ rule: 'self == oldSelf', message: immutableMessage(path) });
/**
 * `self == oldSelf` on a field runs only when both old and new values exist, so the parent also
 * forbids adding or removing the field after creation.
 */
const presenceImmutable = (parentPath: string, field: string): ValidationRule => ({
  rule: `has(self.${field}) == has(oldSelf.${field})`,
  message: immutableMessage(`${parentPath}.${field}`),
  fieldPath: `.${field}`,
});

function cidrSchema(path: string, defaultValue: string, description: string, extraRules: ValidationRule[] = []) {
  return Type.String({
    description: `${description} Default "${defaultValue}". Immutable.`,
    default: defaultValue,
    maxLength: 64,
    ...validations(
      // isCIDR and cidr() are in the API server's CEL library since Kubernetes 1.31.
      { rule: 'isCIDR(self) && cidr(self) == cidr(self).masked()', message: `${path} must be a CIDR with no host bits set, e.g. ${defaultValue}` },
      immutable(path),
      ...extraRules,
    ),
  });
}

const NetworkSchema = Type.Object(
  {
    podCIDR: Type.Optional(cidrSchema('spec.network.podCIDR', '10.244.0.0/16', 'Range the guest\'s pod addresses come from; each node gets a block of it.')),
    serviceCIDR: Type.Optional(
      cidrSchema('spec.network.serviceCIDR', '10.96.0.0/12', 'Range of the guest\'s Service cluster IPs; its first address is the `kubernetes` Service.', [
        {
          // kube-apiserver refuses a service range of more than 2^20 addresses.
          rule: '!isCIDR(self) || cidr(self).prefixLength() >= (cidr(self).ip().family() == 4 ? 12 : 108)',
          message: 'spec.network.serviceCIDR is too large: kube-apiserver allows at most 2^20 Service addresses (IPv4 /12 or longer, IPv6 /108 or longer)',
        },
      ]),
    ),
    nodeCIDRMaskSize: Type.Optional(
      Type.Integer({
        description: 'Prefix length of the pod address block each node gets from podCIDR (24 gives 256 addresses per node). Default 24. Immutable.',
        default: 24,
        minimum: 1,
        maximum: 128,
        ...validations(immutable('spec.network.nodeCIDRMaskSize')),
      }),
    ),
    proxyMode: Type.Optional(
      Type.Union([Type.Literal('iptables'), Type.Literal('ipvs')], {
        description: 'kube-proxy mode in the guest. Default iptables. Immutable.',
        default: 'iptables',
        ...validations(immutable('spec.network.proxyMode')),
      }),
    ),
    plugin: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('flannel'), Type.Literal('calico')], {
        description: 'Network plugin installed in the guest; none leaves pod networking to the nodes. Default none. Immutable.',
        default: 'none',
        ...validations(immutable('spec.network.plugin')),
      }),
    ),
    nodeReachability: Type.Optional(
      Type.Union([Type.Literal('Direct'), Type.Literal('EgressProxy')], {
        description:
          'How the guest\'s API server reaches its nodes, pods and Services (kubectl logs, exec and port-forward, webhooks). ' +
          'Direct: it dials node addresses itself (nodes routable from the cell). EgressProxy: through the egress proxy the cell provides ' +
          '(on the embedded default, the local hosts\' fabric). Unset: EgressProxy when the cell has one, else Direct. ' +
          'An explicit egress-selector-config-file in spec.controlPlane.apiServer.extraArgs takes precedence.',
      }),
    ),
    vpc: Type.Optional(Type.String({ description: 'Name of the VPC this cluster lives in; the planner checks podCIDR against the other clusters in it.', maxLength: 253 })),
    clusterDomain: Type.Optional(
      Type.String({
        description: 'DNS domain of the guest\'s Services (<service>.<namespace>.svc.<clusterDomain>). Default "cluster.local".',
        default: 'cluster.local',
        maxLength: 253,
        ...validations({
          rule: "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
          message: 'spec.network.clusterDomain must be a lowercase DNS name such as cluster.local',
        }),
      }),
    ),
  },
  {
    description: 'The guest\'s networks. The ranges, mask size, proxy mode and plugin are fixed at creation.',
    default: {},
    ...validations(
      presenceImmutable('spec.network', 'podCIDR'),
      presenceImmutable('spec.network', 'serviceCIDR'),
      presenceImmutable('spec.network', 'nodeCIDRMaskSize'),
      presenceImmutable('spec.network', 'proxyMode'),
      presenceImmutable('spec.network', 'plugin'),
      {
        rule: '!has(self.podCIDR) || !has(self.serviceCIDR) || !isCIDR(self.podCIDR) || !isCIDR(self.serviceCIDR) || cidr(self.podCIDR).ip().family() == cidr(self.serviceCIDR).ip().family()',
        message: 'spec.network.podCIDR and spec.network.serviceCIDR must both be IPv4 or both be IPv6',
        fieldPath: '.serviceCIDR',
      },
      {
        rule: '!has(self.podCIDR) || !has(self.serviceCIDR) || !isCIDR(self.podCIDR) || !isCIDR(self.serviceCIDR) || !(cidr(self.podCIDR).containsCIDR(cidr(self.serviceCIDR)) || cidr(self.serviceCIDR).containsCIDR(cidr(self.podCIDR)))',
        message: 'spec.network.serviceCIDR overlaps spec.network.podCIDR: choose ranges that do not overlap',
        messageExpression: "'spec.network.serviceCIDR ' + self.serviceCIDR + ' overlaps spec.network.podCIDR ' + self.podCIDR + ': choose ranges that do not overlap'",
        fieldPath: '.serviceCIDR',
      },
      {
        // kube-controller-manager cuts node blocks from the pod range and refuses more than 2^16 of them.
        rule: '!has(self.podCIDR) || !has(self.nodeCIDRMaskSize) || !isCIDR(self.podCIDR) || (self.nodeCIDRMaskSize > cidr(self.podCIDR).prefixLength() && self.nodeCIDRMaskSize <= cidr(self.podCIDR).prefixLength() + 16 && self.nodeCIDRMaskSize <= (cidr(self.podCIDR).ip().family() == 4 ? 32 : 128))',
        message: 'spec.network.nodeCIDRMaskSize must be longer than the podCIDR prefix by 1 to 16 bits',
        // string(int) has no cost bound the API server can estimate, so only the CIDR is quoted.
        messageExpression: "'spec.network.nodeCIDRMaskSize must be longer than the podCIDR prefix by 1 to 16 bits (podCIDR is ' + self.podCIDR + ')'",
        fieldPath: '.nodeCIDRMaskSize',
      },
    ),
  },
);

const CertificatesSchema = Type.Object(
  {
    validity: Type.Optional(durationSchema('spec.certificates.validity', '8760h', 'Lifetime of leaf certificates (serving, client, etcd peer).')),
    renewBefore: Type.Optional(durationSchema('spec.certificates.renewBefore', '720h', 'Leaf certificates are renewed this long before they expire; must be shorter than validity.')),
    caValidity: Type.Optional(durationSchema('spec.certificates.caValidity', '87600h', 'Lifetime of the certificate authorities; at least validity.')),
  },
  {
    description: 'Certificate lifetimes and the renewal window of the guest\'s PKI.',
    default: {},
    ...validations(
      {
        rule: `!has(self.renewBefore) || !has(self.validity) || !self.renewBefore.matches('${durationPattern}') || !self.validity.matches('${durationPattern}') || duration(self.renewBefore) < duration(self.validity)`,
        message: 'spec.certificates.renewBefore must be shorter than spec.certificates.validity',
        messageExpression:
          "'spec.certificates.renewBefore (' + self.renewBefore + ') must be shorter than spec.certificates.validity (' + self.validity + '): set a shorter renewBefore (default 720h) or a longer validity'",
        fieldPath: '.renewBefore',
      },
      {
        rule: `!has(self.caValidity) || !has(self.validity) || !self.caValidity.matches('${durationPattern}') || !self.validity.matches('${durationPattern}') || duration(self.validity) <= duration(self.caValidity)`,
        message: 'spec.certificates.validity must not be longer than spec.certificates.caValidity',
        messageExpression:
          "'spec.certificates.validity (' + self.validity + ') must not be longer than spec.certificates.caValidity (' + self.caValidity + '): a certificate cannot outlive its CA'",
        fieldPath: '.validity',
      },
    ),
  },
);

/** CoreDNS of the 1.12 line, the one kubeadm pairs with recent Kubernetes minors. */
export const DEFAULT_COREDNS_VERSION = '1.12.1';

const maxUsers = 64;
/** Groups Kubernetes itself assigns meaning to (system:masters, system:nodes, ...); never given to extra users. */
export const RESERVED_GROUP_PREFIX = 'system:';
/** Extra users' client certificates are short-lived, so removing a user ends access soon. */
export const DEFAULT_USER_CERTIFICATE_VALIDITY: Duration = '24h';
const UserSchema = Type.Object({
  name: Type.String({
    description: 'User name: the CN of the user\'s client certificate and part of the name of the Secret holding the user\'s kubeconfig.',
    maxLength: 63,
    ...validations({
      rule: "self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')",
      message: 'spec.users[].name must be lowercase letters, digits, \'-\' or \'.\', starting and ending with a letter or digit',
    }),
  }),
  groups: Type.Optional(
    Type.Array(
      Type.String({
        maxLength: 253,
        ...validations({
          rule: `!self.startsWith('${RESERVED_GROUP_PREFIX}')`,
          message:
            `spec.users[].groups must not start with "${RESERVED_GROUP_PREFIX}": Kubernetes grants those groups (system:masters bypasses RBAC) and a certificate ` +
            'cannot be revoked, so no RBAC change could take the access back; use a group such as tessera:admins, which RBAC binds',
          messageExpression:
            `'spec.users[].groups: ' + self + ' must not start with "${RESERVED_GROUP_PREFIX}": Kubernetes grants those groups (system:masters bypasses RBAC) and a certificate ` +
            "cannot be revoked, so no RBAC change could take the access back; use a group such as tessera:admins, which RBAC binds'",
        }),
      }),
      {
        description: `Groups of the user (the O of the certificate), which RBAC in the guest binds roles to, e.g. ["tessera:viewers"]. Groups starting with "${RESERVED_GROUP_PREFIX}" are refused.`,
        maxItems: 32,
      },
    ),
  ),
  validity: Type.Optional(
    durationSchema(
      'spec.users[].validity',
      DEFAULT_USER_CERTIFICATE_VALIDITY,
      'Lifetime of this user\'s client certificate. The operator renews it while the user is listed, once a third of the lifetime is left (or spec.certificates.renewBefore, if shorter); ' +
        'after the user is removed from the list the kubeconfig Secret is deleted, and a copy already handed out works until the certificate expires (certificates cannot be revoked), so this is the longest time access can outlive removal.',
    ),
  ),
}, { description: 'An extra user of the guest.' });

const AddonSchema = Type.Object({
  name: Type.Union([Type.Literal('coredns'), Type.Literal('kube-proxy')], { description: 'Which addon.' }),
  version: Type.Optional(
    Type.String({
      description: `Addon version; default for coredns ${DEFAULT_COREDNS_VERSION}, for kube-proxy spec.version.`,
      maxLength: 32,
      ...validations({ rule: `self.matches('${releaseVersionPattern}')`, message: 'spec.addons[].version must be MAJOR.MINOR.PATCH without a leading v, e.g. 1.12.1' }),
    }),
  ),
  enabled: Type.Optional(Type.Boolean({ description: 'Whether the addon is installed and kept converged in the guest. Default true.', default: true })),
}, { description: 'An addon rendered from its template at the given version.' });

export const ClusterSpecSchema = Type.Object(
  {
    version: Type.String({
      description:
        `Kubernetes version of the guest control plane, as MAJOR.MINOR.PATCH without a leading v, e.g. "${DEFAULT_KUBERNETES_VERSION}". Supported: ${supportedVersionsText()} ` +
        '(the operator refuses others with the condition VersionSupported, as it does minor downgrades and skipped minors). Changing it upgrades the guest one component at a time.',
      maxLength: 32,
      // Only the form is checked here: which releases are supported is the operator's catalogue,
      // which moves with the operator, and a refusal there leaves the running guest untouched.
      ...validations({ rule: `self.matches('${releaseVersionPattern}')`, message: 'spec.version must be MAJOR.MINOR.PATCH without a leading v, e.g. 1.37.2' }),
    }),
    paused: Type.Optional(
      Type.Boolean({
        description:
          'Holds version changes at the next component boundary: a component whose upgrade has not started does not start; one already rolling finishes. ' +
          'Certificate renewal and repair continue. Default false.',
        default: false,
      }),
    ),
    mode: Type.Optional(
      Type.Union([Type.Literal('Standard'), Type.Literal('Minimal')], {
        description: 'Standard runs 3 etcd members and 3 replicas of every control-plane component; Minimal runs 1 of each. Default Standard.',
        default: 'Standard',
      }),
    ),
    clusterType: Type.Optional(
      Type.Union([Type.Literal('Managed'), Type.Literal('Dedicated'), Type.Literal('Serverless')], {
        description: 'Managed: control plane hosted by Tessera; Dedicated: on the user\'s own Machines; Serverless: no user nodes. Default Managed. Immutable.',
        default: 'Managed',
        ...validations(immutable('spec.clusterType')),
      }),
    ),
    controlPlane: Type.Optional(
      Type.Object(
        {
          placement: Type.Optional(
            Type.Object(
              {
                nodeSelector: Type.Optional(stringMap('Labels a meta-cluster node must carry to run this guest\'s control plane.')),
                tolerations: Type.Optional(Type.Array(embeddedObject('A core/v1 Toleration.'), { description: 'Taints of meta-cluster nodes the control plane tolerates (core/v1 Tolerations).', maxItems: 32 })),
                spreadAcrossZones: Type.Optional(Type.Boolean({ description: 'Spread replicas and etcd members across the meta cluster\'s zones. Default true.', default: true })),
              },
              { description: 'Where the control plane\'s pods run in the meta cluster.' },
            ),
          ),
          apiServer: Type.Optional(componentSpec('spec.controlPlane.apiServer', 'kube-apiserver', 'apiServer')),
          controllerManager: Type.Optional(componentSpec('spec.controlPlane.controllerManager', 'kube-controller-manager', 'controllerManager')),
          scheduler: Type.Optional(componentSpec('spec.controlPlane.scheduler', 'kube-scheduler', 'scheduler')),
          etcd: Type.Optional(
            Type.Object(
              { ...componentProperties('spec.controlPlane.etcd', 'etcd', 'etcd'), storage: Type.Optional(EtcdStorageSchema) },
              { description: 'Overrides for etcd, and where its members keep their data.' },
            ),
          ),
        },
        { description: 'Placement of the control plane and per-component overrides.' },
      ),
    ),
    network: Type.Optional(NetworkSchema),
    certificates: Type.Optional(CertificatesSchema),
    users: Type.Optional(
      Type.Array(UserSchema, {
        description: 'Extra users; each gets a kubeconfig, signed with the user\'s groups, in a Secret in the Cluster\'s namespace.',
        maxItems: maxUsers,
        ...validations({
          rule: 'self.all(user, self.exists_one(other, other.name == user.name))',
          message: 'spec.users: user names must be unique',
          messageExpression: "'spec.users: the name ' + self.map(user, user.name).filter(name, !self.exists_one(other, other.name == name))[0] + ' appears more than once; user names must be unique'",
        }),
      }),
    ),
    addons: Type.Optional(
      Type.Array(AddonSchema, {
        description: 'Addons installed in the guest. Both coredns and kube-proxy are enabled unless listed with enabled: false; an entry overrides the default of the same name.',
        maxItems: 8,
        ...validations({ rule: 'self.all(addon, self.exists_one(other, other.name == addon.name))', message: 'spec.addons: each addon may be listed once' }),
      }),
    ),
    // Fleet fields (cluster-fleet-fields.ts): placement into a Cell, a ClusterProfile, a pinned tier.
    placement: Type.Optional(ClusterPlacementSchema),
    profile: Type.Optional(clusterProfileField),
    tier: Type.Optional(clusterTierField),
  },
  {
    description: 'The desired guest cluster.',
    ...validations(presenceImmutable('spec', 'clusterType')),
  },
);
export type ClusterSpec = Static<typeof ClusterSpecSchema>;

/**
 * The condition types the operator sets besides Ready, in the order a guest comes up; the
 * constants the operator uses are in src/operators/cluster/status.ts, whose test checks that
 * every one of them is documented here.
 */
export const clusterConditionTypes = [
  'NetworkValid',
  'SpecValid',
  'VersionSupported',
  'CertificatesValid',
  'EtcdReady',
  'APIServerAvailable',
  'ControllerManagerAvailable',
  'SchedulerAvailable',
  'ControlPlaneReady',
  'GuestBootstrapped',
  'CoreDNSReady',
  'KubeProxyReady',
  'AddonsReady',
  'Upgrading',
] as const;

const timestamp = (description: string) => Type.String({ description, format: 'date-time' });

export const ClusterConditionSchema = Type.Object(
  {
    type: Type.String({ description: `${clusterConditionTypes.join(', ')} or the summary Ready.`, maxLength: 316 }),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')], { description: 'True, False or Unknown.' }),
    reason: Type.String({ description: 'A CamelCase word for why the condition has this status.', maxLength: 1024 }),
    message: Type.String({ description: 'What a person should know, including how to fix a problem.', maxLength: 32768 }),
    lastTransitionTime: timestamp('When status last changed.'),
    observedGeneration: Type.Optional(Type.Integer({ description: 'metadata.generation the condition was computed from.', minimum: 0, format: 'int64' })),
  },
  { description: 'A condition in the standard metav1.Condition shape.' },
);
export type ClusterCondition = Static<typeof ClusterConditionSchema>;

export const ClusterStatusSchema = Type.Object(
  {
    phase: Type.Optional(
      Type.Union(
        [Type.Literal('Pending'), Type.Literal('Provisioning'), Type.Literal('Ready'), Type.Literal('Degraded'), Type.Literal('Upgrading'), Type.Literal('Deleting')],
        { description: 'A one-word summary for people; conditions are the truth.' },
      ),
    ),
    conditions: Type.Optional(
      Type.Array(ClusterConditionSchema, {
        description: `Conditions: ${clusterConditionTypes.join(', ')}, and the summary Ready (from all but Upgrading and VersionSupported).`,
        maxItems: 32,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    observedGeneration: Type.Optional(Type.Integer({ description: 'metadata.generation the operator last acted on.', minimum: 0, format: 'int64' })),
    endpoint: Type.Optional(Type.String({ description: 'URL of the guest\'s API, https://<apiserver service>:6443.' })),
    versions: Type.Optional(
      Type.Object(
        {
          apiServer: Type.Optional(Type.String({ description: 'Version every kube-apiserver replica runs.' })),
          controllerManager: Type.Optional(Type.String({ description: 'Version every kube-controller-manager replica runs.' })),
          scheduler: Type.Optional(Type.String({ description: 'Version every kube-scheduler replica runs.' })),
          etcd: Type.Optional(Type.String({ description: 'Version every etcd member runs.' })),
        },
        { description: 'Version each component runs now (during an upgrade they differ from the spec).' },
      ),
    ),
    etcdMembers: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ description: 'Member name, also its Pod and headless Service name.' }),
            id: Type.Optional(Type.String({ description: 'etcd member ID in hex.' })),
            ready: Type.Boolean({ description: 'Whether the member is healthy and in the cluster.' }),
          },
          { description: 'One etcd member.' },
        ),
        { description: 'The etcd members and their health.', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
      ),
    ),
    certificates: Type.Optional(
      Type.Object(
        {
          notAfter: Type.Optional(timestamp('Earliest expiry among the platform\'s leaf certificates and kubeconfigs (extra users\' short-lived certificates are not counted).')),
          caNotAfter: Type.Optional(timestamp('Earliest expiry among the certificate authorities.')),
          renewAt: Type.Optional(timestamp('When the next certificate (a leaf, a kubeconfig or an extra user\'s short-lived certificate) will be renewed.')),
        },
        { description: 'Certificate expiry.' },
      ),
    ),
    tier: Type.Optional(Type.String({ description: 'Master size tier the guest is placed in.' })),
    cell: Type.Optional(clusterCellField),
    load: Type.Optional(ClusterLoadSchema),
    adminKubeconfigSecret: Type.Optional(Type.String({ description: 'Name of a Secret in the Cluster\'s namespace whose key `kubeconfig` holds the admin kubeconfig.' })),
  },
  { description: 'What the operator observed.' },
);
export type ClusterStatus = Static<typeof ClusterStatusSchema>;

const ObjectMetaSchema = Type.Object({
  name: Type.String(),
  namespace: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  resourceVersion: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  finalizers: Type.Optional(Type.Array(Type.String())),
  deletionTimestamp: Type.Optional(Type.String()),
});

export const ClusterSchema = Type.Object({
  apiVersion: Type.Literal(clusterResource.apiVersion),
  kind: Type.Literal(clusterResource.kind),
  metadata: ObjectMetaSchema,
  spec: ClusterSpecSchema,
  status: Type.Optional(ClusterStatusSchema),
});
export type Cluster = Static<typeof ClusterSchema>;

/** Printer columns of `kubectl get clusters`. */
export const clusterPrinterColumns = [
  { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'Desired Kubernetes version.' },
  { name: 'Mode', type: 'string', jsonPath: '.spec.mode', description: 'Standard (3 of each) or Minimal (1 of each).' },
  { name: 'Type', type: 'string', jsonPath: '.spec.clusterType', description: 'Managed, Dedicated or Serverless.', priority: 1 },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Summary of the guest\'s state.' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Status of the Ready condition.' },
  { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', description: 'URL of the guest\'s API.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  // Wide columns (-o wide): also what `tessera fleet` reads as a server-side Table, a tenth of
  // the bytes of the objects at 10,000 guests (src/operators/placement/fleet-view.ts).
  { name: 'Namespace', type: 'string', jsonPath: '.metadata.namespace', description: 'Namespace of the Cluster object.', priority: 1 },
  { name: 'Cell', type: 'string', jsonPath: '.status.cell', description: 'Cell the guest runs in (fleet).', priority: 1 },
  { name: 'Region', type: 'string', jsonPath: '.spec.placement.region', description: 'Region asked for in spec.placement.', priority: 1 },
  { name: 'Placed', type: 'string', jsonPath: '.status.conditions[?(@.type=="Placed")].status', description: 'Status of the Placed condition.', priority: 1 },
  { name: 'Running', type: 'string', jsonPath: '.status.versions.apiServer', description: 'Version the API servers run.', priority: 1 },
  { name: 'Tier', type: 'string', jsonPath: '.status.tier', description: 'Control-plane size in effect.', priority: 1 },
  { name: 'Pinned', type: 'string', jsonPath: '.spec.tier', description: 'Tier pinned in spec.tier.', priority: 1 },
  { name: 'Load', type: 'number', jsonPath: '.status.load.score', description: 'Measured load score.', priority: 1 },
  { name: 'Certificates', type: 'string', jsonPath: '.status.certificates.notAfter', description: 'When the serving certificates expire.', priority: 1 },
] as const;

// --- Defaults -------------------------------------------------------------------------------

export const clusterDefaults = {
  mode: 'Standard',
  clusterType: 'Managed',
  spreadAcrossZones: true,
  etcdClaimSize: '1Gi',
  network: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodeCIDRMaskSize: 24, proxyMode: 'iptables', plugin: 'none', clusterDomain: 'cluster.local' },
  certificates: { validity: '8760h', renewBefore: '720h', caValidity: '87600h' },
} as const;

type ClusterNetwork = NonNullable<ClusterSpec['network']>;
type ControlPlane = NonNullable<ClusterSpec['controlPlane']>;
type Placement = NonNullable<ControlPlane['placement']>;
type Addon = NonNullable<ClusterSpec['addons']>[number];

export type DefaultedComponentSpec = {
  /** spec.version unless overridden (etcd: see DefaultedEtcdSpec). */
  version: string;
  extraArgs: Record<string, string>;
  resources?: ComponentSpec['resources'];
};

export type DefaultedEtcdStorage =
  | { claimTemplate: { storageClassName?: string; size: string }; volumeSource?: undefined }
  | { volumeSource: Record<string, unknown>; claimTemplate?: undefined };

export type DefaultedEtcdSpec = Omit<DefaultedComponentSpec, 'version'> & {
  /** Only when overridden: etcd's default version goes with spec.version and is resolved by the operator. */
  version?: string;
  storage: DefaultedEtcdStorage;
};

export type DefaultedUser = { name: string; groups: string[]; validity: Duration };

export type DefaultedClusterSpec = {
  version: string;
  paused: boolean;
  mode: NonNullable<ClusterSpec['mode']>;
  clusterType: NonNullable<ClusterSpec['clusterType']>;
  controlPlane: {
    placement: { nodeSelector: Record<string, string>; tolerations: Array<Record<string, unknown>>; spreadAcrossZones: boolean };
    apiServer: DefaultedComponentSpec;
    controllerManager: DefaultedComponentSpec;
    scheduler: DefaultedComponentSpec;
    etcd: DefaultedEtcdSpec;
  };
  network: {
    podCIDR: string;
    serviceCIDR: string;
    nodeCIDRMaskSize: number;
    proxyMode: NonNullable<ClusterNetwork['proxyMode']>;
    plugin: NonNullable<ClusterNetwork['plugin']>;
    vpc?: string;
    clusterDomain: string;
    /** Only when set: unset means the operator's choice for its cell (see NodeReachability in the operator). */
    nodeReachability?: NonNullable<ClusterNetwork['nodeReachability']>;
  };
  certificates: { validity: Duration; renewBefore: Duration; caValidity: Duration };
  users: DefaultedUser[];
  /** Always coredns then kube-proxy, each with a version and enabled set. */
  addons: Array<{ name: Addon['name']; version: string; enabled: boolean }>;
};

function defaultComponent(component: ComponentSpec | undefined, version: string): DefaultedComponentSpec {
  const defaulted: DefaultedComponentSpec = { version: component?.version ?? version, extraArgs: { ...component?.extraArgs } };
  if (component?.resources) defaulted.resources = structuredClone(component.resources);
  return defaulted;
}

function defaultEtcdStorage(storage: EtcdStorage | undefined): DefaultedEtcdStorage {
  if (storage?.claimTemplate && storage.volumeSource) {
    throw new Error('spec.controlPlane.etcd.storage must set exactly one of claimTemplate or volumeSource, not both');
  }
  if (storage?.volumeSource) return { volumeSource: structuredClone(storage.volumeSource) };
  const claimTemplate: { storageClassName?: string; size: string } = { size: storage?.claimTemplate?.size ?? clusterDefaults.etcdClaimSize };
  if (storage?.claimTemplate?.storageClassName !== undefined) claimTemplate.storageClassName = storage.claimTemplate.storageClassName;
  return { claimTemplate };
}

function defaultPlacement(placement: Placement | undefined): DefaultedClusterSpec['controlPlane']['placement'] {
  return {
    nodeSelector: { ...placement?.nodeSelector },
    tolerations: structuredClone(placement?.tolerations ?? []),
    spreadAcrossZones: placement?.spreadAcrossZones ?? clusterDefaults.spreadAcrossZones,
  };
}

function defaultAddons(addons: Addon[] | undefined, version: string): DefaultedClusterSpec['addons'] {
  const defaultVersions: Record<Addon['name'], string> = { coredns: DEFAULT_COREDNS_VERSION, 'kube-proxy': version };
  return (['coredns', 'kube-proxy'] as const).map((name) => {
    const given = addons?.find((addon) => addon.name === name);
    return { name, version: given?.version ?? defaultVersions[name], enabled: given?.enabled ?? true };
  });
}

/** The spec with every default filled in; a new object, sharing nothing with `spec`. */
export function withDefaults(spec: ClusterSpec): DefaultedClusterSpec {
  const network: ClusterNetwork = spec.network ?? {};
  const certificates = spec.certificates ?? {};
  const etcd = spec.controlPlane?.etcd;
  const etcdSpec: DefaultedEtcdSpec = { extraArgs: { ...etcd?.extraArgs }, storage: defaultEtcdStorage(etcd?.storage) };
  if (etcd?.version !== undefined) etcdSpec.version = etcd.version;
  if (etcd?.resources) etcdSpec.resources = structuredClone(etcd.resources);
  const defaultedNetwork: DefaultedClusterSpec['network'] = {
    podCIDR: network.podCIDR ?? clusterDefaults.network.podCIDR,
    serviceCIDR: network.serviceCIDR ?? clusterDefaults.network.serviceCIDR,
    nodeCIDRMaskSize: network.nodeCIDRMaskSize ?? clusterDefaults.network.nodeCIDRMaskSize,
    proxyMode: network.proxyMode ?? clusterDefaults.network.proxyMode,
    plugin: network.plugin ?? clusterDefaults.network.plugin,
    clusterDomain: network.clusterDomain ?? clusterDefaults.network.clusterDomain,
  };
  if (network.vpc !== undefined) defaultedNetwork.vpc = network.vpc;
  if (network.nodeReachability !== undefined) defaultedNetwork.nodeReachability = network.nodeReachability;
  return {
    version: spec.version,
    paused: spec.paused ?? false,
    mode: spec.mode ?? clusterDefaults.mode,
    clusterType: spec.clusterType ?? clusterDefaults.clusterType,
    controlPlane: {
      placement: defaultPlacement(spec.controlPlane?.placement),
      apiServer: defaultComponent(spec.controlPlane?.apiServer, spec.version),
      controllerManager: defaultComponent(spec.controlPlane?.controllerManager, spec.version),
      scheduler: defaultComponent(spec.controlPlane?.scheduler, spec.version),
      etcd: etcdSpec,
    },
    network: defaultedNetwork,
    certificates: {
      validity: certificates.validity ?? clusterDefaults.certificates.validity,
      renewBefore: certificates.renewBefore ?? clusterDefaults.certificates.renewBefore,
      caValidity: certificates.caValidity ?? clusterDefaults.certificates.caValidity,
    },
    users: (spec.users ?? []).map((user) => ({ name: user.name, groups: [...(user.groups ?? [])], validity: user.validity ?? DEFAULT_USER_CERTIFICATE_VALIDITY })),
    addons: defaultAddons(spec.addons, spec.version),
  };
}

// --- Durations ------------------------------------------------------------------------------

const millisecondsPerUnit: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu; Go accepts both
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const durationShape = new RegExp(durationPattern);
const durationPart = /([0-9]+(?:[.][0-9]+)?)(ns|us|µs|μs|ms|s|m|h)/g;

/**
 * Milliseconds in a Go-style duration ("8760h", "1h30m", "90s", "250ms"), the same grammar the
 * CRD accepts. Throws naming the value and the expected form.
 */
export function parseDuration(value: Duration): number {
  if (typeof value !== 'string' || !durationShape.test(value)) {
    throw new Error(`invalid duration ${JSON.stringify(value)}: expected a Go duration such as "8760h", "30m", "90s" or "1h30m" (units h, m, s, ms, us, ns)`);
  }
  let total = 0;
  for (const [, amount, unit] of value.matchAll(durationPart)) total += Number(amount) * (millisecondsPerUnit[unit ?? ''] ?? Number.NaN);
  return total;
}
