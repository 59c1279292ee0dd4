// kube-proxy, which programs Service routing on every guest node, at the guest's Kubernetes
// version. It runs on the host network before any Service works, so its kubeconfig names the
// guest API server directly instead of the in-cluster `kubernetes` Service.
import { stringify } from 'yaml';
import type { GuestProxyMode } from '../guest-cluster-spec.ts';
import { KUBE_SYSTEM, guestMetadata, type GuestObject } from '../guest-object.ts';

export const KUBE_PROXY_NAME = 'kube-proxy';
export const KUBE_PROXY_IMAGE_REPOSITORY = 'registry.k8s.io/kube-proxy';
const CONFIG_DIRECTORY = '/var/lib/kube-proxy';
const CONFIG_KEY = 'config.conf';
const KUBECONFIG_KEY = 'kubeconfig.conf';
// The kubelet mounts the pod's service account token and the cluster CA here.
const SERVICE_ACCOUNT_DIRECTORY = '/var/run/secrets/kubernetes.io/serviceaccount';
const PROXY_APP_LABEL = { 'k8s-app': 'kube-proxy' };

export type KubeProxyParameters = {
  /** kube-proxy version without the leading v, normally the guest's Kubernetes version. */
  version: string;
  proxyMode: GuestProxyMode;
  podCIDR: string;
  /** https URL of the guest API server as nodes reach it. */
  server: string;
};

export function renderKubeProxyConfiguration(parameters: Pick<KubeProxyParameters, 'proxyMode' | 'podCIDR'>): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    bindAddress: '0.0.0.0',
    clientConnection: { kubeconfig: `${CONFIG_DIRECTORY}/${KUBECONFIG_KEY}` },
    // Traffic from outside this range to a Service is masqueraded so replies come back through us.
    clusterCIDR: parameters.podCIDR,
    mode: parameters.proxyMode,
    // 0 leaves the host's conntrack table size alone: kube-proxy must not change a box-wide
    // setting (and 1.36 fails outright where /proc/sys is read-only, as in a local host).
    conntrack: { maxPerCore: 0 },
  });
}

/** Authenticates as the pod's own ServiceAccount (kube-system/kube-proxy) through token files. */
export function renderKubeProxyKubeconfig(server: string): string {
  if (!/^https:\/\/\S+$/.test(server)) throw new Error(`kube-proxy: server ${JSON.stringify(server)} must be the https URL of the guest API server`);
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'default', cluster: { server, 'certificate-authority': `${SERVICE_ACCOUNT_DIRECTORY}/ca.crt` } }],
    users: [{ name: 'default', user: { tokenFile: `${SERVICE_ACCOUNT_DIRECTORY}/token` } }],
    contexts: [{ name: 'default', context: { cluster: 'default', user: 'default', namespace: 'default' } }],
    'current-context': 'default',
  });
}

export function renderKubeProxy(parameters: KubeProxyParameters): GuestObject[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: guestMetadata(KUBE_PROXY_NAME, KUBE_SYSTEM) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: guestMetadata('kubeadm:node-proxier'),
      // system:node-proxier is built into every API server.
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-proxier' },
      subjects: [{ kind: 'ServiceAccount', name: KUBE_PROXY_NAME, namespace: KUBE_SYSTEM }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: guestMetadata(KUBE_PROXY_NAME, KUBE_SYSTEM, { app: KUBE_PROXY_NAME }),
      data: { [CONFIG_KEY]: renderKubeProxyConfiguration(parameters), [KUBECONFIG_KEY]: renderKubeProxyKubeconfig(parameters.server) },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: guestMetadata(KUBE_PROXY_NAME, KUBE_SYSTEM, PROXY_APP_LABEL),
      spec: {
        selector: { matchLabels: PROXY_APP_LABEL },
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          metadata: { labels: PROXY_APP_LABEL },
          spec: {
            priorityClassName: 'system-node-critical',
            serviceAccountName: KUBE_PROXY_NAME,
            hostNetwork: true,
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            // Every node needs Service routing, whatever its taints.
            tolerations: [{ operator: 'Exists' }],
            containers: [
              {
                name: KUBE_PROXY_NAME,
                image: `${KUBE_PROXY_IMAGE_REPOSITORY}:v${parameters.version}`,
                imagePullPolicy: 'IfNotPresent',
                command: ['/usr/local/bin/kube-proxy', `--config=${CONFIG_DIRECTORY}/${CONFIG_KEY}`, '--hostname-override=$(NODE_NAME)'],
                env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                securityContext: { privileged: true },
                volumeMounts: [
                  { name: 'kube-proxy', mountPath: CONFIG_DIRECTORY },
                  // Shared with other iptables users on the node so rule updates do not interleave.
                  { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                  { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'kube-proxy', configMap: { name: KUBE_PROXY_NAME } },
              { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
              { name: 'lib-modules', hostPath: { path: '/lib/modules' } },
            ],
          },
        },
      },
    },
  ];
}
