// The Machine kind (tessera.dev/v1alpha1, namespaced, beside its Cluster in the meta cluster): a
// host the Node operator reaches over SSH, brings to the declared on-host package versions and
// joins to the guest as a Node (seed 002). SSH keys stay in the meta cluster: tenants of the
// guest never see them. The host key is required: there is no trust on first use, so a
// reinstalled or impostor host is refused until a person changes spec.ssh.hostKey.
import { Type, type Static } from '@sinclair/typebox';
import { FleetConditionSchema, fleetObjectMeta, type FleetResource } from './fleet-kind.ts';
import { clusterNamePattern } from './cluster.ts';

export const machineResource: FleetResource = {
  group: 'tessera.dev',
  version: 'v1alpha1',
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'Machine',
  plural: 'machines',
  singular: 'machine',
  shortNames: ['tm'],
  scope: 'Namespaced',
};

const validations = (...rules: Array<{ rule: string; message: string; fieldPath?: string }>) => ({ 'x-kubernetes-validations': rules });

/** OpenSSH public key text: "<type> <base64> [comment]". */
export const hostKeyPattern = '^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,3}( .*)?$';
const labelKeyPattern = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';

export const PackageOverrideSchema = Type.Object(
  {
    name: Type.String({ description: 'Package name from the catalogue (`tessera packages list`), e.g. "kubelet", "containerd".', maxLength: 63 }),
    version: Type.Optional(Type.String({ description: 'Version to install instead of the ClusterPackageVersion default.', maxLength: 63 })),
    parameters: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Package parameters (reserved; none are read yet).' })),
  },
  { description: 'A package version that differs from the Cluster default for this Machine.' },
);
export type PackageOverride = Static<typeof PackageOverrideSchema>;

export const TaintSchema = Type.Object({
  key: Type.String({ maxLength: 316, ...validations({ rule: `self.matches('${labelKeyPattern}')`, message: 'spec.taints[].key must be a label key such as "dedicated" or "example.com/gpu"' }) }),
  value: Type.Optional(Type.String({ maxLength: 63 })),
  effect: Type.Union([Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')]),
});

export const MachineSpecSchema = Type.Object(
  {
    clusterName: Type.String({
      description: 'The Cluster (in this namespace) whose guest this Machine joins. Immutable.',
      maxLength: 63,
      ...validations(
        { rule: `self.matches('${clusterNamePattern}')`, message: 'spec.clusterName must name a Cluster in this namespace (a lowercase DNS label)' },
        { rule: 'self == oldSelf', message: 'spec.clusterName is immutable: delete the Machine and create one for the other Cluster' },
      ),
    }),
    address: Type.String({ description: 'Address the operator dials for SSH (IP or DNS name).', minLength: 1, maxLength: 253 }),
    port: Type.Optional(Type.Integer({ description: 'SSH port. Default 22.', minimum: 1, maximum: 65535, default: 22 })),
    hostname: Type.Optional(Type.String({ description: 'The Node name. Default: the host\'s own hostname, read over SSH.', maxLength: 63, ...validations({ rule: `self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')`, message: 'spec.hostname must be a lowercase DNS name (it becomes the Node name)' }) })),
    zone: Type.Optional(Type.String({ description: 'Failure zone; becomes the Node label topology.kubernetes.io/zone.', maxLength: 63 })),
    idc: Type.Optional(Type.String({ description: 'Data centre; becomes the Node label tessera.dev/idc.', maxLength: 63 })),
    ssh: Type.Object(
      {
        user: Type.Optional(Type.String({ description: 'SSH user (root, or one with password-less sudo). Default root.', maxLength: 32, default: 'root' })),
        privateKeySecretRef: Type.Object(
          {
            name: Type.String({ description: 'Secret in this namespace (type kubernetes.io/ssh-auth).', maxLength: 253 }),
            key: Type.Optional(Type.String({ description: 'Key holding the private key. Default "ssh-privatekey".', maxLength: 253, default: 'ssh-privatekey' })),
          },
          { description: 'The private key the operator logs in with.' },
        ),
        hostKey: Type.String({
          description: 'The host\'s SSH public key, as in known_hosts without the host name ("ssh-ed25519 AAAA..."). Required: the operator never trusts a key on first use and runs nothing on a host whose key differs. Changing it is how a reinstalled host is accepted again.',
          maxLength: 16384,
          ...validations({ rule: `self.matches('${hostKeyPattern}')`, message: 'spec.ssh.hostKey must be an OpenSSH public key such as "ssh-ed25519 AAAA..." (ssh-keyscan -t ed25519 HOST prints it after the host name)' }),
        }),
      },
      { description: 'How the operator logs in.' },
    ),
    role: Type.Optional(Type.Union([Type.Literal('worker')], { description: 'What the Node is for; becomes node-role.kubernetes.io/<role>. Only worker today. Default worker.', default: 'worker' })),
    labels: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 63 }), { description: 'Labels the operator keeps on the Node.' })),
    taints: Type.Optional(Type.Array(TaintSchema, { description: 'Taints the operator keeps on the Node.', maxItems: 32 })),
    packages: Type.Optional(
      Type.Array(PackageOverrideSchema, {
        description: 'Package versions for this Machine that differ from the Cluster\'s ClusterPackageVersion.',
        maxItems: 32,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
  },
  { description: 'A host to join to a guest cluster.' },
);
export type MachineSpec = Static<typeof MachineSpecSchema>;

export const InstalledPackageSchema = Type.Object({
  name: Type.String(),
  version: Type.String(),
  archiveSha256: Type.Optional(Type.String({ description: 'Digest of the archive it was installed from.' })),
});
export type InstalledPackage = Static<typeof InstalledPackageSchema>;

export const machinePhases = ['Pending', 'Provisioning', 'Ready', 'NotReady', 'Remediating', 'Failed', 'Deleting'] as const;
export type MachinePhase = (typeof machinePhases)[number];

export const MachineStatusSchema = Type.Object(
  {
    phase: Type.Optional(Type.Union(machinePhases.map((phase) => Type.Literal(phase)), { description: 'Pending (waiting for the guest), Provisioning, Ready, NotReady, Remediating, Failed (needs a person: wrong host key, refused spec, replacement), Deleting.' })),
    conditions: Type.Optional(
      Type.Array(FleetConditionSchema, {
        description: 'HostReachable, HostKeyVerified, PackagesInstalled, NodeJoined, NodeReady, Remediating, and Ready (the summary).',
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    nodeName: Type.Optional(Type.String({ description: 'The guest Node of this Machine.' })),
    nodeIP: Type.Optional(Type.String({ description: 'The host\'s address as the guest sees it (read from the host).' })),
    hostKeyFingerprint: Type.Optional(Type.String({ description: 'SHA256 fingerprint of the verified host key.' })),
    packages: Type.Optional(Type.Array(InstalledPackageSchema, { description: 'What is installed, as read from the host (/var/lib/tessera/packages); never copied from the spec.', maxItems: 64 })),
    lastOperation: Type.Optional(
      Type.Object({
        type: Type.String({ description: 'e.g. Install, Join, Restart, Cleanup.' }),
        description: Type.String(),
        state: Type.Union([Type.Literal('Succeeded'), Type.Literal('Failed')]),
        time: Type.String({ format: 'date-time' }),
        error: Type.Optional(Type.String()),
      }),
    ),
    remediation: Type.Optional(
      Type.Object({
        step: Type.Integer({ minimum: 0, description: '0 restart, 1 reinstall, 2 replacement wanted.' }),
        lastActionTime: Type.String({ format: 'date-time' }),
        reason: Type.String(),
      }),
    ),
  },
  { description: 'What the Node operator observed on the host and in the guest.' },
);
export type MachineStatus = Static<typeof MachineStatusSchema>;

export const MachineSchema = Type.Object({
  apiVersion: Type.Literal('tessera.dev/v1alpha1'),
  kind: Type.Literal('Machine'),
  metadata: Type.Intersect([
    fleetObjectMeta,
    Type.Object({
      namespace: Type.Optional(Type.String()),
      ownerReferences: Type.Optional(Type.Array(Type.Object({ apiVersion: Type.String(), kind: Type.String(), name: Type.String(), uid: Type.String(), controller: Type.Optional(Type.Boolean()), blockOwnerDeletion: Type.Optional(Type.Boolean()) }))),
    }),
  ]),
  spec: MachineSpecSchema,
  status: Type.Optional(MachineStatusSchema),
});
export type Machine = Static<typeof MachineSchema>;

export const machinePrinterColumns = [
  { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterName', description: 'The guest it joins.' },
  { name: 'Address', type: 'string', jsonPath: '.spec.address' },
  { name: 'Zone', type: 'string', jsonPath: '.spec.zone' },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  { name: 'Node', type: 'string', jsonPath: '.status.nodeName' },
  { name: 'Kubelet', type: 'string', jsonPath: '.status.packages[?(@.name=="kubelet")].version', description: 'kubelet version read from the host.' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Last-Operation', type: 'string', jsonPath: '.status.lastOperation.description', priority: 1 },
  { name: 'Error', type: 'string', jsonPath: '.status.lastOperation.error', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** Annotation a person sets to let a Machine go although its host cannot be cleaned (a dead host). */
export const SKIP_HOST_CLEANUP_ANNOTATION = 'tessera.dev/skip-host-cleanup';
