// The RBAC a guest needs before machines can join with a bootstrap token, as kubeadm's
// bootstrap-token phase sets it up. Names are kubeadm's, so kubeadm tooling and people who know
// it recognise them. The ClusterRoles referred to by name (system:node-bootstrapper,
// system:kubelet-api-admin) are built into every API server. Unlike kubeadm, nothing here lets
// the controller-manager approve kubelet certificates by itself: the Node operator approves
// each request of a known Machine (src/operators/machine/kubelet-csr.ts).
import { KUBE_PUBLIC, guestMetadata, type GuestObject } from './guest-object.ts';

/** The group kubeadm's default bootstrap tokens authenticate in (token Secret auth-extra-groups). */
export const NODE_BOOTSTRAP_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
export const NODES_GROUP = 'system:nodes';
/** Common name of the API server's kubelet client certificate, as kubeadm issues it. */
export const API_SERVER_KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';
export const CLUSTER_INFO_READER_ROLE = 'kubeadm:bootstrap-signer-clusterinfo';
export const GET_NODES_ROLE = 'kubeadm:get-nodes';

const RBAC = 'rbac.authorization.k8s.io';
const RBAC_VERSION = `${RBAC}/v1`;

type Subject = { kind: 'Group' | 'User'; name: string };

function clusterRoleBinding(name: string, clusterRole: string, subject: Subject): GuestObject {
  return {
    apiVersion: RBAC_VERSION,
    kind: 'ClusterRoleBinding',
    metadata: guestMetadata(name),
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: clusterRole },
    subjects: [{ apiGroup: RBAC, ...subject }],
  };
}

/**
 * kubeadm's auto-approval bindings, which earlier Tessera versions created: deleted from guests
 * so a bootstrap token alone never yields a node certificate.
 */
export const RETIRED_BOOTSTRAP_RBAC: readonly GuestObject[] = [
  clusterRoleBinding('kubeadm:node-autoapprove-bootstrap', 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', { kind: 'Group', name: NODE_BOOTSTRAP_TOKEN_GROUP }),
  clusterRoleBinding('kubeadm:node-autoapprove-certificate-rotation', 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', { kind: 'Group', name: NODES_GROUP }),
];

export function renderBootstrapRbac(): GuestObject[] {
  const bootstrappers: Subject = { kind: 'Group', name: NODE_BOOTSTRAP_TOKEN_GROUP };
  return [
    // A joining kubelet, authenticated by its bootstrap token, posts a CSR for its client cert.
    clusterRoleBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', bootstrappers),
    // kubeadm join reads the Node object it is about to replace or become.
    {
      apiVersion: RBAC_VERSION,
      kind: 'ClusterRole',
      metadata: guestMetadata(GET_NODES_ROLE),
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }],
    },
    clusterRoleBinding(GET_NODES_ROLE, GET_NODES_ROLE, bootstrappers),
    // Without it `kubectl logs/exec` against guest nodes is forbidden at the kubelet.
    clusterRoleBinding('kubeadm:apiserver-kubelet-client', 'system:kubelet-api-admin', { kind: 'User', name: API_SERVER_KUBELET_CLIENT_USER }),
    // Discovery: before a machine trusts anything it fetches cluster-info anonymously and checks
    // the JWS signature made with its token; the rule names this one ConfigMap and nothing else.
    {
      apiVersion: RBAC_VERSION,
      kind: 'Role',
      metadata: guestMetadata(CLUSTER_INFO_READER_ROLE, KUBE_PUBLIC),
      rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'], verbs: ['get'] }],
    },
    {
      apiVersion: RBAC_VERSION,
      kind: 'RoleBinding',
      metadata: guestMetadata(CLUSTER_INFO_READER_ROLE, KUBE_PUBLIC),
      roleRef: { apiGroup: RBAC, kind: 'Role', name: CLUSTER_INFO_READER_ROLE },
      subjects: [{ apiGroup: RBAC, kind: 'User', name: 'system:anonymous' }],
    },
  ];
}
