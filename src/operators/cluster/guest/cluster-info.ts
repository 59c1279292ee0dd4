// The kube-public/cluster-info ConfigMap: how a joining machine learns the guest's API server and
// CA. It is public (see bootstrap-rbac.ts), so it holds no credentials; the controller-manager's
// bootstrap signer adds a `jws-kubeconfig-<token-id>` key per signing token, which lets the
// machine check with its token that the content is genuine before trusting the CA.
import { X509Certificate } from 'node:crypto';
import { stringify } from 'yaml';
import type { GuestEndpoint } from './guest-cluster-spec.ts';
import { KUBE_PUBLIC, guestMetadata, type GuestObject } from './guest-object.ts';

export const CLUSTER_INFO_NAME = 'cluster-info';
/** The key the bootstrap signer signs and kubeadm join reads. */
export const CLUSTER_INFO_KUBECONFIG_KEY = 'kubeconfig';

/**
 * A kubeconfig with one unnamed cluster and no user or context: kubeadm join picks the cluster
 * named "" before anything else.
 */
export function renderClusterInfoKubeconfig(endpoint: GuestEndpoint): string {
  let url: URL;
  try {
    url = new URL(endpoint.server);
  } catch {
    throw new Error(`cluster-info: endpoint.server ${JSON.stringify(endpoint.server)} is not a URL; give e.g. "https://shop-kube-apiserver.tenants.svc:6443"`);
  }
  if (url.protocol !== 'https:') throw new Error(`cluster-info: endpoint.server ${JSON.stringify(endpoint.server)} must use https`);
  try {
    new X509Certificate(endpoint.caCertPem);
  } catch (error) {
    throw new Error(`cluster-info: endpoint.caCertPem is not a PEM certificate; give the guest's cluster CA: ${(error as Error).message}`, { cause: error });
  }
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: '', cluster: { server: endpoint.server, 'certificate-authority-data': Buffer.from(endpoint.caCertPem, 'utf8').toString('base64') } }],
    contexts: [],
    users: [],
    'current-context': '',
    preferences: {},
  };
  // lineWidth 0: the base64 CA stays on one line, as every kubeconfig reader expects.
  return stringify(document, { lineWidth: 0 });
}

export function renderClusterInfo(endpoint: GuestEndpoint): GuestObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: guestMetadata(CLUSTER_INFO_NAME, KUBE_PUBLIC),
    data: { [CLUSTER_INFO_KUBECONFIG_KEY]: renderClusterInfoKubeconfig(endpoint) },
  };
}
