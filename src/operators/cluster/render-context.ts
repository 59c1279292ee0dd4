// The input every control-plane renderer takes, and what they all derive from it the same way:
// images, object metadata, command lines with extraArgs, placement and spreading, probes. Pure:
// no I/O, no clock; the reconciler gathers the context (the Cluster, its defaulted spec, the
// Service IP, the certificate checksum, the etcd member list) and the renderers only read it.
import type {
  V1Container,
  V1EnvVar,
  V1ObjectMeta,
  V1OwnerReference,
  V1Probe,
  V1ResourceRequirements,
  V1Toleration,
  V1TopologySpreadConstraint,
  V1Volume,
  V1VolumeProjection,
} from '@kubernetes/client-node';
import {
  CERTIFICATES_CHECKSUM_ANNOTATION,
  DEFAULT_META_CLUSTER_DOMAIN,
  apiServerInternalServiceName,
  componentSelector,
  ownedLabels,
  type ControlPlaneComponent,
  type OwnedComponent,
} from './names.ts';
import { clusterNamePattern, maxClusterNameLength, type Cluster, type ComponentSpec, type DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { newControllerRef } from '../../controller/owner-references.ts';
import { catalogueEntry, supportedVersionsText } from '../../api/v1alpha1/version-catalogue.ts';

// --- The context --------------------------------------------------------------------------------

/** One etcd member the operator wants to exist, and how its process must start. */
export type DesiredEtcdMember = {
  /** `<c>-etcd-<index>`. */
  name: string;
  index: number;
  /** `new` while bootstrapping the cluster; `existing` for a member added to a running one. */
  state: 'new' | 'existing';
};

export type ComponentImages = { etcd: string; apiServer: string; controllerManager: string; scheduler: string };

export type RenderContext = {
  cluster: Cluster;
  spec: DefaultedClusterSpec;
  /** Where the owned objects live: the Cluster's namespace. */
  namespace: string;
  images: ComponentImages;
  /** ClusterIP of `<c>-kube-apiserver` once allocated; rendered back so the Service keeps it. */
  apiServerServiceIP?: string;
  /**
   * The API server's Services still select the pods of an older operator's `<c>-kube-apiserver`
   * Deployment: until a control-plane pod serves, so moving a guest to one Deployment never
   * leaves its Services without a ready API server.
   */
  legacyApiServerPods?: boolean;
  /** SHA-256 of the PKI Secrets' data (pki/certificate-secrets.ts checksumOf). */
  certificateChecksum: string;
  /** Every member of the etcd cluster as it should be, the new one included while adding. */
  etcdMembers: DesiredEtcdMember[];
  /** DNS domain of the meta cluster (not the guest's); default `cluster.local`. */
  metaClusterDomain?: string;
  /** The cell's egress selector file the API server mounts (node-reachability.ts); absent: none. */
  egressSelectorConfigFile?: string;
};

export const DEFAULT_IMAGE_REGISTRY = 'registry.k8s.io';
/** spec.controlPlane.etcd.version, else the etcd the version catalogue pairs with spec.version. */
export function etcdVersionFor(spec: DefaultedClusterSpec): string {
  if (spec.controlPlane.etcd.version !== undefined) return spec.controlPlane.etcd.version.replace(/^v/, '');
  const entry = catalogueEntry(spec.version.replace(/^v/, ''));
  if (entry === undefined) {
    throw new Error(`spec.version ${spec.version}: no etcd version is catalogued for it; use one of ${supportedVersionsText()} or set spec.controlPlane.etcd.version`);
  }
  return entry.etcd;
}

/**
 * Images at the cluster's version or a component's own `version`. Kubernetes images are tagged
 * `v<version>`, etcd images `<version>-<build>` (`3.7.3-0`).
 */
export function componentImages(spec: DefaultedClusterSpec, registry: string = DEFAULT_IMAGE_REGISTRY): ComponentImages {
  const { controlPlane } = spec;
  const kubernetes = (repository: string, version: string) => `${registry}/${repository}:v${version.replace(/^v/, '')}`;
  const etcdVersion = etcdVersionFor(spec);
  return {
    etcd: `${registry}/etcd:${/-\d+$/.test(etcdVersion) ? etcdVersion : `${etcdVersion}-0`}`,
    apiServer: kubernetes('kube-apiserver', controlPlane.apiServer.version),
    controllerManager: kubernetes('kube-controller-manager', controlPlane.controllerManager.version),
    scheduler: kubernetes('kube-scheduler', controlPlane.scheduler.version),
  };
}

export type RenderContextInput = {
  cluster: Cluster;
  spec: DefaultedClusterSpec;
  certificateChecksum: string;
  etcdMembers: DesiredEtcdMember[];
  apiServerServiceIP?: string;
  imageRegistry?: string;
  metaClusterDomain?: string;
  egressSelectorConfigFile?: string;
};

/** Checks the Cluster's identity and fills namespace and images. */
export function renderContext(input: RenderContextInput): RenderContext {
  const { metadata } = input.cluster;
  const where = `Cluster ${metadata.namespace ?? '<no namespace>'}/${metadata.name}`;
  // The API server enforces the same rule (clusterNameRules); objects read from elsewhere may not have passed it.
  if (!new RegExp(clusterNamePattern).test(metadata.name) || metadata.name.length > maxClusterNameLength) {
    throw new Error(
      `${where}: metadata.name must be a DNS label of at most ${maxClusterNameLength} characters ` +
        `(lower-case letters, digits, '-', starting with a letter), because it prefixes Service names such as ${apiServerInternalServiceName(metadata.name)}`,
    );
  }
  if (!metadata.namespace) throw new Error(`${where}: metadata.namespace is required; the control plane lives in the Cluster's namespace`);
  if (!metadata.uid) throw new Error(`${where}: metadata.uid is required (owner references, etcd cluster token); render from the object read from the API server`);
  if (!input.certificateChecksum) throw new Error(`${where}: certificateChecksum is empty; pass checksumOf() of the PKI Secrets`);
  if (input.etcdMembers.length === 0) throw new Error(`${where}: etcdMembers is empty; pass initialEtcdMembers() when bootstrapping`);
  return {
    cluster: input.cluster,
    spec: input.spec,
    namespace: metadata.namespace,
    images: componentImages(input.spec, input.imageRegistry),
    apiServerServiceIP: input.apiServerServiceIP,
    certificateChecksum: input.certificateChecksum,
    etcdMembers: input.etcdMembers,
    metaClusterDomain: input.metaClusterDomain,
    egressSelectorConfigFile: input.egressSelectorConfigFile,
  };
}

export function metaClusterDomain(context: RenderContext): string {
  return context.metaClusterDomain ?? DEFAULT_META_CLUSTER_DOMAIN;
}

/** Standard runs three of every control-plane component, Minimal one. */
export function replicasFor(mode: DefaultedClusterSpec['mode']): number {
  return mode === 'Minimal' ? 1 : 3;
}

// --- Metadata ----------------------------------------------------------------------------------

/** The Cluster as controlling owner: deleting it collects everything it owns. */
export function clusterOwnerReference(cluster: Cluster): V1OwnerReference {
  return newControllerRef(cluster);
}

/** Name, namespace, owned labels and the owner reference of one owned object. */
export function ownedObjectMeta(context: RenderContext, name: string, component: OwnedComponent): V1ObjectMeta {
  return {
    name,
    namespace: context.namespace,
    labels: ownedLabels(context.cluster.metadata.name, component),
    ownerReferences: [clusterOwnerReference(context.cluster)],
  };
}

/** Metadata of a component's pods: its labels, and the checksum that rolls them on renewal. */
export function podMetadata(context: RenderContext, component: ControlPlaneComponent): V1ObjectMeta {
  return {
    labels: ownedLabels(context.cluster.metadata.name, component),
    annotations: { [CERTIFICATES_CHECKSUM_ANNOTATION]: context.certificateChecksum },
  };
}

// --- Command lines -----------------------------------------------------------------------------

/** A rendered flag, `[name, value]` for `--name=value`. */
export type Flag = readonly [name: string, value: string];

/**
 * `--name=value` arguments: the rendered flags in order, an extraArgs entry replacing the value
 * of a rendered flag with the same name in place (never a second copy: for most flags the last
 * one wins silently, for list flags both would apply), and extraArgs of other names after them,
 * sorted, so the command line is stable.
 */
export function commandLine(flags: readonly Flag[], extraArgs: Record<string, string> | undefined, field: string): string[] {
  const overrides = new Map<string, string>();
  for (const [key, value] of Object.entries(extraArgs ?? {})) {
    const name = key.replace(/^-{1,2}/, '');
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      throw new Error(`${field}: key ${JSON.stringify(key)} is not a flag name; write it without a value, e.g. "v" or "max-requests-inflight"`);
    }
    if (overrides.has(name)) throw new Error(`${field}: flag ${JSON.stringify(name)} is given twice (with and without dashes); keep one`);
    overrides.set(name, value);
  }
  const rendered = flags.map(([name, value]) => {
    const override = overrides.get(name);
    overrides.delete(name);
    return `--${name}=${override ?? value}`;
  });
  const added = [...overrides.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => `--${name}=${value}`);
  return [...rendered, ...added];
}

/**
 * The pod's own IP. Components bind to it and nothing else: on the local process runtime every
 * pod shares the host's network namespace with a loopback IP of its own, so 0.0.0.0 or
 * 127.0.0.1 would collide between pods; on a real cluster it is simply the pod's address.
 */
export const POD_IP_ENV: V1EnvVar = { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } };
export const POD_IP = '$(POD_IP)';

// --- Scheduling --------------------------------------------------------------------------------

export const ZONE_TOPOLOGY_KEY = 'topology.kubernetes.io/zone';
export const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';

/** nodeSelector and tolerations from spec.controlPlane.placement, absent when not set. */
export function controlPlanePlacement(context: RenderContext): { nodeSelector?: Record<string, string>; tolerations?: V1Toleration[] } {
  const { nodeSelector, tolerations } = context.spec.controlPlane.placement;
  return {
    ...(nodeSelector && Object.keys(nodeSelector).length > 0 ? { nodeSelector: { ...nodeSelector } } : {}),
    ...(tolerations && tolerations.length > 0 ? { tolerations: tolerations.map((toleration) => ({ ...toleration }) as V1Toleration) } : {}),
  };
}

/**
 * Spread a component's pods across zones (at most one more in any zone than in the emptiest;
 * required when spreadAcrossZones, else preferred) and, preferably, across nodes. Fewer zones
 * than replicas still schedules: the skew stays within one. Zones whose nodes are all tainted
 * (down, cordoned) do not count, so a replacement is not held back by a dead zone.
 * `perRevision` (Deployments) spreads each ReplicaSet's pods on their own, so a rolling update
 * spreads the new pods rather than counting the old ones.
 */
export function spreadConstraints(context: RenderContext, component: ControlPlaneComponent, perRevision: boolean): V1TopologySpreadConstraint[] {
  const labelSelector = { matchLabels: componentSelector(context.cluster.metadata.name, component) };
  const revision = perRevision ? { matchLabelKeys: ['pod-template-hash'] } : {};
  return [
    {
      topologyKey: ZONE_TOPOLOGY_KEY,
      maxSkew: 1,
      whenUnsatisfiable: context.spec.controlPlane.placement.spreadAcrossZones ? 'DoNotSchedule' : 'ScheduleAnyway',
      labelSelector,
      ...revision,
      nodeTaintsPolicy: 'Honor',
    },
    { topologyKey: HOSTNAME_TOPOLOGY_KEY, maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway', labelSelector, ...revision, nodeTaintsPolicy: 'Honor' },
  ];
}

/** The component's requests and limits from the spec, or `fallback` when the spec sets none. */
export function resourcesFor(component: { resources?: ComponentSpec['resources'] }, fallback: V1ResourceRequirements): V1ResourceRequirements {
  const resources = component.resources;
  if (!resources || (!resources.requests && !resources.limits)) return structuredClone(fallback);
  return {
    ...(resources.requests ? { requests: { ...resources.requests } } : {}),
    ...(resources.limits ? { limits: { ...resources.limits } } : {}),
  };
}

// --- Probes ------------------------------------------------------------------------------------

export type ProbeTiming = { periodSeconds: number; failureThreshold: number; timeoutSeconds: number; initialDelaySeconds?: number };

/**
 * kubeadm's timings, except that startup probes poll every second without an initial delay (a
 * component that is up is seen at once) and allow five minutes (etcd waiting for its peers).
 * Liveness and readiness probes only begin once the startup probe has passed.
 */
export const PROBE_TIMINGS = {
  startup: { periodSeconds: 1, failureThreshold: 300, timeoutSeconds: 15 },
  readiness: { periodSeconds: 1, failureThreshold: 3, timeoutSeconds: 15 },
  liveness: { periodSeconds: 10, failureThreshold: 8, timeoutSeconds: 15 },
} as const satisfies Record<string, ProbeTiming>;

/** An HTTP(S) GET against the pod IP (the kubelet's default host). */
export function httpGetProbe(path: string, port: string, scheme: 'HTTP' | 'HTTPS', timing: ProbeTiming): V1Probe {
  return { httpGet: { path, port, scheme }, successThreshold: 1, ...timing };
}

// --- Volumes -----------------------------------------------------------------------------------

/** Mode of certificate and kubeconfig files: the keys are secret, and only the component reads them. */
export const SECRET_FILE_MODE = 0o600;

/**
 * Some keys of a Secret as files (`{key: path}`) in a projected volume. Projecting only what a
 * component needs keeps CA keys out of pods that must not sign, and lets several Secrets share
 * one directory with kubeadm's file names.
 */
export function secretFiles(secretName: string, files: Record<string, string>): V1VolumeProjection {
  return { secret: { name: secretName, items: Object.entries(files).map(([key, path]) => ({ key, path })) } };
}

export function projectedVolume(name: string, sources: V1VolumeProjection[]): V1Volume {
  return { name, projected: { sources, defaultMode: SECRET_FILE_MODE } };
}

// --- Containers --------------------------------------------------------------------------------

/** One container of a pod and the volumes only it mounts (their names unique within the pod). */
export type ContainerPart = { container: V1Container; volumes: V1Volume[] };
