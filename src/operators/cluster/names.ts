// Names and labels of the objects a guest cluster owns in the meta cluster. Every renderer, the
// reconciler and the tests name objects through these functions, so a name is decided once.
// (PKI Secret names live beside the certificates: pki/certificate-set.ts, pkiSecretNames.)

export const CLUSTER_LABEL = 'tessera.dev/cluster';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const COMPONENT_LABEL = 'tessera.dev/component';
export const MANAGED_BY = 'tessera';

/** Pod (template) annotation: changes when any certificate changes, so the pods roll. */
export const CERTIFICATES_CHECKSUM_ANNOTATION = 'tessera.dev/certificates-checksum';

/**
 * etcd member pod annotation: a hash of what a member must be restarted for (image, extraArgs,
 * resources, certificates). A member whose pod carries another value is replaced, one at a time.
 */
export const ETCD_MEMBER_REVISION_ANNOTATION = 'tessera.dev/member-revision';

/** The guest's pods: etcd members, and the control-plane pods (API server, controller-manager, scheduler). */
export type ControlPlaneComponent = 'etcd' | 'control-plane';
/** Values of the `tessera.dev/component` label (docs/cluster-api-contract.md); the API server's Services carry `kube-apiserver`. */
export type OwnedComponent = ControlPlaneComponent | 'kube-apiserver' | 'pki' | 'kubeconfig';
/** The containers of a control-plane pod, by name: the API server runs as its sidecar (see control-plane-deployment.ts). */
export type ControlPlaneContainer = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';

/** The guest API server's port, on its pods, its Services and in every URL of it. */
export const API_SERVER_PORT = 6443;

/** The meta cluster's DNS domain when none is given. */
export const DEFAULT_META_CLUSTER_DOMAIN = 'cluster.local';

/** Labels every object owned by cluster `clusterName` carries. */
export function ownedLabels(clusterName: string, component: OwnedComponent): Record<string, string> {
  return { [CLUSTER_LABEL]: clusterName, [MANAGED_BY_LABEL]: MANAGED_BY, [COMPONENT_LABEL]: component };
}

/** The labels that select one component's pods of one cluster (Service and Deployment selectors). */
export function componentSelector(clusterName: string, component: ControlPlaneComponent): Record<string, string> {
  return { [CLUSTER_LABEL]: clusterName, [COMPONENT_LABEL]: component };
}

/** `<c>-etcd-<i>`: the member's name in etcd, its Pod, its hostname and its certificate Secret. */
export function etcdMemberName(clusterName: string, index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new Error(`etcd member index ${index} must be a whole number >= 0`);
  return `${clusterName}-etcd-${index}`;
}

/** `<c>-etcd-<i>-data`: the member's PersistentVolumeClaim. */
export function etcdMemberClaimName(memberName: string): string {
  return `${memberName}-data`;
}

/** `<c>-etcd`: the headless Service that gives each member its DNS name. */
export function etcdPeerServiceName(clusterName: string): string {
  return `${clusterName}-etcd`;
}

/** `<c>-etcd-client`: the Service the API servers reach etcd through. */
export function etcdClientServiceName(clusterName: string): string {
  return `${clusterName}-etcd-client`;
}

/** `<c>-kube-apiserver`: the ClusterIP Service for kubelets and users. */
export function apiServerServiceName(clusterName: string): string {
  return `${clusterName}-kube-apiserver`;
}

/** `<c>-kube-apiserver-internal`: the headless Service for the other control-plane components. */
export function apiServerInternalServiceName(clusterName: string): string {
  return `${clusterName}-kube-apiserver-internal`;
}

/** The pods of a guest's `<c>-kube-apiserver` Deployment from an older operator (see legacyDeploymentName). */
export function legacyApiServerSelector(clusterName: string): Record<string, string> {
  return { [CLUSTER_LABEL]: clusterName, [COMPONENT_LABEL]: 'kube-apiserver' };
}

/** `<c>-control-plane`: the Deployment whose pods run the API server, controller-manager and scheduler. */
export function controlPlaneDeploymentName(clusterName: string): string {
  return `${clusterName}-control-plane`;
}

/**
 * `<c>-kube-apiserver`, `<c>-kube-controller-manager`, `<c>-kube-scheduler`: the Deployments a
 * guest had, one per container, before they became one control-plane Deployment. Pruned.
 */
export function legacyDeploymentName(clusterName: string, container: ControlPlaneContainer): string {
  return `${clusterName}-${container}`;
}

/** `<service>.<namespace>.svc.<domain>`: a Service's full name in the meta cluster. */
export function serviceDnsName(serviceName: string, namespace: string, domain: string = DEFAULT_META_CLUSTER_DOMAIN): string {
  return `${serviceName}.${namespace}.svc.${domain}`;
}

/**
 * `<c>-etcd-<i>.<c>-etcd.<namespace>.svc.<domain>`: the member's stable DNS name (pod hostname
 * under the headless Service), which is its peer identity: a replaced member keeps it.
 */
export function etcdMemberDnsName(clusterName: string, memberName: string, namespace: string, domain: string = DEFAULT_META_CLUSTER_DOMAIN): string {
  return `${memberName}.${serviceDnsName(etcdPeerServiceName(clusterName), namespace, domain)}`;
}
