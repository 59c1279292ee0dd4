// The guest's kube-apiserver: the container of the control-plane pod (control-plane-deployment.ts)
// with kubeadm's flags, the certificates projected from the PKI Secrets into
// /etc/kubernetes/pki under kubeadm's file names, and etcd reached through every member's name.
import type { V1Container, V1ResourceRequirements } from '@kubernetes/client-node';
import { pkiSecretNames } from './pki/certificate-set.ts';
import { API_SERVER_PORT } from './names.ts';
import { etcdClientURL } from './etcd-member.ts';
import { EGRESS_SELECTOR_FLAG, EGRESS_SELECTOR_MOUNT_PATH } from './node-reachability.ts';
import {
  POD_IP,
  POD_IP_ENV,
  PROBE_TIMINGS,
  commandLine,
  httpGetProbe,
  projectedVolume,
  resourcesFor,
  secretFiles,
  type ContainerPart,
  type Flag,
  type RenderContext,
} from './render-context.ts';

export { API_SERVER_PORT };
export const KUBERNETES_PKI_PATH = '/etc/kubernetes/pki';

/** kubeadm's request for kube-apiserver, used when spec.controlPlane.apiServer.resources is empty. */
export const DEFAULT_API_SERVER_RESOURCES: V1ResourceRequirements = { requests: { cpu: '250m' } };

/**
 * Every member's client URL, not the client Service: etcd's client balances and fails over
 * between members itself, so a member restart (a certificate renewal, a replacement) never
 * leaves an API server on a dead connection behind a Service address.
 */
export function etcdServersURL(context: RenderContext): string {
  return context.etcdMembers.map((member) => etcdClientURL(context, member.name)).join(',');
}

export function apiServerContainer(context: RenderContext): ContainerPart {
  const secrets = pkiSecretNames(context.cluster.metadata.name);
  const { spec } = context;
  const pki = (file: string) => `${KUBERNETES_PKI_PATH}/${file}`;
  const flags: Flag[] = [
    // The pod IP only (see POD_IP_ENV). Advertised too: kubeadm's choice, and the address the
    // guest's `kubernetes` Endpoints list.
    ['advertise-address', POD_IP],
    // Guest nodes cannot reach meta-cluster pod IPs, and the API server refuses to publish
    // loopback ones: the guest's `kubernetes` endpoints are Tessera's business, not the API
    // server's, so it does not reconcile them itself.
    ['endpoint-reconciler-type', 'none'],
    ['bind-address', POD_IP],
    ['secure-port', String(API_SERVER_PORT)],
    ['etcd-servers', etcdServersURL(context)],
    ['etcd-cafile', pki('etcd/ca.crt')],
    ['etcd-certfile', pki('apiserver-etcd-client.crt')],
    ['etcd-keyfile', pki('apiserver-etcd-client.key')],
    ['client-ca-file', pki('ca.crt')],
    ['tls-cert-file', pki('apiserver.crt')],
    ['tls-private-key-file', pki('apiserver.key')],
    ['kubelet-client-certificate', pki('apiserver-kubelet-client.crt')],
    ['kubelet-client-key', pki('apiserver-kubelet-client.key')],
    ['kubelet-preferred-address-types', 'InternalIP,ExternalIP,Hostname'],
    // Kubelets serve with certificates the guest CA signed through CSRs the Node operator
    // approved for each Machine's own names: verify them, never trust a self-signed one.
    ['kubelet-certificate-authority', pki('ca.crt')],
    ['service-cluster-ip-range', spec.network.serviceCIDR],
    ['service-account-issuer', `https://kubernetes.default.svc.${spec.network.clusterDomain}`],
    ['service-account-key-file', pki('sa.pub')],
    ['service-account-signing-key-file', pki('sa.key')],
    ['authorization-mode', 'Node,RBAC'],
    ['enable-admission-plugins', 'NodeRestriction'],
    ['enable-bootstrap-token-auth', 'true'],
    ['allow-privileged', 'true'],
    ['requestheader-client-ca-file', pki('front-proxy-ca.crt')],
    ['requestheader-allowed-names', 'front-proxy-client'],
    ['requestheader-username-headers', 'X-Remote-User'],
    ['requestheader-group-headers', 'X-Remote-Group'],
    ['requestheader-extra-headers-prefix', 'X-Remote-Extra-'],
    ['proxy-client-cert-file', pki('front-proxy-client.crt')],
    ['proxy-client-key-file', pki('front-proxy-client.key')],
    // On SIGTERM keep serving for a moment while /readyz already fails, so the Services drop the
    // pod before it stops: a rolling restart (certificate renewal) loses no requests.
    ['shutdown-delay-duration', '5s'],
    ['profiling', 'false'],
  ];
  // Through the cell's egress proxy: its configuration is a file on the cell's nodes.
  const egress = context.egressSelectorConfigFile;
  if (egress) flags.push([EGRESS_SELECTOR_FLAG, EGRESS_SELECTOR_MOUNT_PATH]);

  const container: V1Container = {
    name: 'kube-apiserver',
    image: context.images.apiServer,
    command: ['kube-apiserver'],
    args: commandLine(flags, spec.controlPlane.apiServer.extraArgs, 'spec.controlPlane.apiServer.extraArgs'),
    env: [POD_IP_ENV],
    ports: [{ name: 'https', containerPort: API_SERVER_PORT, protocol: 'TCP' }],
    startupProbe: httpGetProbe('/livez', 'https', 'HTTPS', PROBE_TIMINGS.startup),
    readinessProbe: httpGetProbe('/readyz', 'https', 'HTTPS', PROBE_TIMINGS.readiness),
    // A pod being replaced leaves the Service's endpoints first, then stops: requests in that
    // window still reach a server that answers (the common load-balancer drain pattern).
    lifecycle: { preStop: { sleep: { seconds: 3 } } },
    livenessProbe: httpGetProbe('/livez', 'https', 'HTTPS', PROBE_TIMINGS.liveness),
    resources: resourcesFor(spec.controlPlane.apiServer, DEFAULT_API_SERVER_RESOURCES),
    volumeMounts: [{ name: 'apiserver-pki', mountPath: KUBERNETES_PKI_PATH, readOnly: true }, ...(egress ? [{ name: 'egress-selector', mountPath: EGRESS_SELECTOR_MOUNT_PATH, readOnly: true }] : [])],
  };

  // Only the files the API server reads: no CA private key reaches it.
  const pkiVolume = projectedVolume('apiserver-pki', [
    secretFiles(secrets.clusterCa, { 'tls.crt': 'ca.crt' }),
    secretFiles(secrets.apiServer, { 'tls.crt': 'apiserver.crt', 'tls.key': 'apiserver.key' }),
    secretFiles(secrets.apiServerKubeletClient, { 'tls.crt': 'apiserver-kubelet-client.crt', 'tls.key': 'apiserver-kubelet-client.key' }),
    secretFiles(secrets.frontProxyCa, { 'tls.crt': 'front-proxy-ca.crt' }),
    secretFiles(secrets.frontProxyClient, { 'tls.crt': 'front-proxy-client.crt', 'tls.key': 'front-proxy-client.key' }),
    // Its ca.crt is the etcd CA, which signed both this client certificate and the members'.
    secretFiles(secrets.apiServerEtcdClient, { 'tls.crt': 'apiserver-etcd-client.crt', 'tls.key': 'apiserver-etcd-client.key', 'ca.crt': 'etcd/ca.crt' }),
    secretFiles(secrets.serviceAccount, { 'sa.key': 'sa.key', 'sa.pub': 'sa.pub' }),
  ]);

  const egressVolume = egress ? [{ name: 'egress-selector', hostPath: { path: egress, type: 'File' } }] : [];
  return { container, volumes: [pkiVolume, ...egressVolume] };
}
