// One etcd member: a Pod and, with a claimTemplate, its PersistentVolumeClaim. A bare Pod rather
// than a StatefulSet, because the operator replaces members itself (remove the old member, add
// a new one under the same name) and must decide when, never the StatefulSet controller.
// The member's identity is its DNS name under the shared headless Service (etcd-services.ts):
// `<c>-etcd-<i>.<c>-etcd.<ns>.svc.<domain>`, stable across replacements.
import type { V1Container, V1PersistentVolumeClaim, V1Pod, V1ResourceRequirements, V1Volume } from '@kubernetes/client-node';
import { pkiSecretNames } from './pki/certificate-set.ts';
import { createHash } from 'node:crypto';
import { ETCD_MEMBER_REVISION_ANNOTATION, etcdMemberClaimName, etcdMemberDnsName, etcdMemberName, etcdPeerServiceName } from './names.ts';
import {
  POD_IP,
  POD_IP_ENV,
  PROBE_TIMINGS,
  commandLine,
  controlPlanePlacement,
  httpGetProbe,
  metaClusterDomain,
  ownedObjectMeta,
  podMetadata,
  replicasFor,
  resourcesFor,
  spreadConstraints,
  type DesiredEtcdMember,
  type Flag,
  type RenderContext,
} from './render-context.ts';
import type { DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const ETCD_METRICS_PORT = 2381;
/** The data volume's mount point; etcd's data directory is below it, so lost+found never bothers it. */
export const ETCD_DATA_MOUNT_PATH = '/var/lib/etcd';
export const ETCD_DATA_DIR = `${ETCD_DATA_MOUNT_PATH}/data`;
/** The member's Secret `<c>-etcd-<i>` (tls.crt, tls.key, ca.crt): serving and peer certificate in one. */
export const ETCD_PKI_MOUNT_PATH = '/etc/etcd/pki';

/** kubeadm's request for etcd, used when spec.controlPlane.etcd.resources is empty. */
export const DEFAULT_ETCD_RESOURCES: V1ResourceRequirements = { requests: { cpu: '100m', memory: '100Mi' } };

/** Standard: 3 members (survives the loss of one); Minimal: 1. */
export function etcdMemberCount(mode: DefaultedClusterSpec['mode']): number {
  return replicasFor(mode);
}

/** The members a new guest bootstraps with: `<c>-etcd-0` .. `<c>-etcd-<n-1>`, all `new`. */
export function initialEtcdMembers(clusterName: string, mode: DefaultedClusterSpec['mode']): DesiredEtcdMember[] {
  return Array.from({ length: etcdMemberCount(mode) }, (_, index) => ({ name: etcdMemberName(clusterName, index), index, state: 'new' as const }));
}

export function etcdMemberHost(context: RenderContext, memberName: string): string {
  return etcdMemberDnsName(context.cluster.metadata.name, memberName, context.namespace, metaClusterDomain(context));
}

/** `https://<member dns>:2380`: the member's peer URL, as registered in etcd. */
export function etcdPeerURL(context: RenderContext, memberName: string): string {
  return `https://${etcdMemberHost(context, memberName)}:${ETCD_PEER_PORT}`;
}

export function etcdClientURL(context: RenderContext, memberName: string): string {
  return `https://${etcdMemberHost(context, memberName)}:${ETCD_CLIENT_PORT}`;
}

/** `--initial-cluster`: every desired member as `name=peerURL`, in index order. */
export function etcdInitialCluster(context: RenderContext): string {
  return [...context.etcdMembers]
    .sort((a, b) => a.index - b.index)
    .map((member) => `${member.name}=${etcdPeerURL(context, member.name)}`)
    .join(',');
}

export type RenderedEtcdMember = {
  pod: V1Pod;
  /** Absent when the spec gives a volumeSource instead of a claimTemplate. */
  persistentVolumeClaim?: V1PersistentVolumeClaim;
};

/**
 * What a running member must be restarted for, as a short hash: its image, extraArgs, resources
 * and certificates. Membership flags (initial-cluster, its state) are left out: they matter only
 * when a member first starts.
 */
export function etcdMemberRevision(context: RenderContext): string {
  const etcd = context.spec.controlPlane.etcd;
  const parts = { image: context.images.etcd, extraArgs: Object.entries(etcd.extraArgs).sort(), resources: etcd.resources ?? null, certificates: context.certificateChecksum };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** The Pod (and claim) of one member of `context.etcdMembers`. */
export function renderEtcdMember(context: RenderContext, member: DesiredEtcdMember): RenderedEtcdMember {
  const clusterName = context.cluster.metadata.name;
  const expectedName = etcdMemberName(clusterName, member.index);
  if (member.name !== expectedName) throw new Error(`etcd member ${JSON.stringify(member.name)} at index ${member.index} must be named ${expectedName}`);
  if (!context.etcdMembers.some((desired) => desired.name === member.name)) {
    throw new Error(`etcd member ${member.name} is not in the render context's etcdMembers; add it there so --initial-cluster names it`);
  }
  const etcd = context.spec.controlPlane.etcd;
  const storage = etcd.storage;
  const claimName = etcdMemberClaimName(member.name);
  // withDefaults guarantees exactly one of claimTemplate and volumeSource.
  const dataVolume: V1Volume = storage.claimTemplate
    ? { name: 'data', persistentVolumeClaim: { claimName } }
    : ({ ...structuredClone(storage.volumeSource), name: 'data' } as V1Volume);
  const persistentVolumeClaim: V1PersistentVolumeClaim | undefined = storage.claimTemplate && {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: ownedObjectMeta(context, claimName, 'etcd'),
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: storage.claimTemplate.size } },
      ...(storage.claimTemplate.storageClassName ? { storageClassName: storage.claimTemplate.storageClassName } : {}),
    },
  };

  const host = etcdMemberHost(context, member.name);
  const pki = (file: string) => `${ETCD_PKI_MOUNT_PATH}/${file}`;
  const flags: Flag[] = [
    ['name', member.name],
    ['data-dir', ETCD_DATA_DIR],
    // Listen on the pod IP only (see POD_IP_ENV); advertise the stable DNS name.
    ['listen-client-urls', `https://${POD_IP}:${ETCD_CLIENT_PORT}`],
    ['advertise-client-urls', `https://${host}:${ETCD_CLIENT_PORT}`],
    ['listen-peer-urls', `https://${POD_IP}:${ETCD_PEER_PORT}`],
    ['initial-advertise-peer-urls', `https://${host}:${ETCD_PEER_PORT}`],
    ['initial-cluster', etcdInitialCluster(context)],
    ['initial-cluster-state', member.state],
    // Unique per guest, so members of two guests can never join each other by mistake.
    ['initial-cluster-token', `${clusterName}-${context.cluster.metadata.uid}`],
    ['listen-metrics-urls', `http://${POD_IP}:${ETCD_METRICS_PORT}`],
    ['cert-file', pki('tls.crt')],
    ['key-file', pki('tls.key')],
    ['trusted-ca-file', pki('ca.crt')],
    ['client-cert-auth', 'true'],
    ['peer-cert-file', pki('tls.crt')],
    ['peer-key-file', pki('tls.key')],
    ['peer-trusted-ca-file', pki('ca.crt')],
    ['peer-client-cert-auth', 'true'],
    // As kubeadm: progress notifications keep the API servers' watch caches current.
    ['watch-progress-notify-interval', '5s'],
  ];

  const container: V1Container = {
    name: 'etcd',
    image: context.images.etcd,
    command: ['etcd'],
    args: commandLine(flags, etcd.extraArgs, 'spec.controlPlane.etcd.extraArgs'),
    env: [POD_IP_ENV],
    ports: [
      { name: 'client', containerPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
      { name: 'peer', containerPort: ETCD_PEER_PORT, protocol: 'TCP' },
      { name: 'metrics', containerPort: ETCD_METRICS_PORT, protocol: 'TCP' },
    ],
    // etcd 3.7 serves /livez (local reads work) and /readyz (also linearizable reads: quorum)
    // on the metrics URL. Startup waits on /livez, not /readyz, so a member that restarts while
    // quorum is lost is not killed for what it cannot fix.
    startupProbe: httpGetProbe('/livez', 'metrics', 'HTTP', PROBE_TIMINGS.startup),
    readinessProbe: httpGetProbe('/readyz', 'metrics', 'HTTP', PROBE_TIMINGS.readiness),
    livenessProbe: httpGetProbe('/livez', 'metrics', 'HTTP', PROBE_TIMINGS.liveness),
    resources: resourcesFor(etcd, DEFAULT_ETCD_RESOURCES),
    volumeMounts: [
      { name: 'data', mountPath: ETCD_DATA_MOUNT_PATH },
      { name: 'pki', mountPath: ETCD_PKI_MOUNT_PATH, readOnly: true },
    ],
  };

  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...ownedObjectMeta(context, member.name, 'etcd'), annotations: { ...podMetadata(context, 'etcd').annotations, [ETCD_MEMBER_REVISION_ANNOTATION]: etcdMemberRevision(context) } },
    spec: {
      // hostname + subdomain (the headless Service) give the member its DNS name.
      hostname: member.name,
      subdomain: etcdPeerServiceName(clusterName),
      containers: [container],
      volumes: [dataVolume, { name: 'pki', secret: { secretName: pkiSecretNames(clusterName).etcdMember(member.name), defaultMode: 0o600 } }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: false,
      automountServiceAccountToken: false,
      ...controlPlanePlacement(context),
      topologySpreadConstraints: spreadConstraints(context, 'etcd', false),
    },
  };
  return persistentVolumeClaim ? { pod, persistentVolumeClaim } : { pod };
}
