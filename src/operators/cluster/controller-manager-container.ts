// The guest's kube-controller-manager: a container of each control-plane pod (one leader elected
// in the guest) talking to the API servers through the kubeconfig Secret, and holding the cluster
// CA's key (it signs kubelet certificates) and the service-account signing key (token controller).
import type { V1Container, V1ResourceRequirements } from '@kubernetes/client-node';
import { pkiSecretNames } from './pki/certificate-set.ts';
import { KUBERNETES_PKI_PATH } from './apiserver-container.ts';
import {
  POD_IP,
  POD_IP_ENV,
  PROBE_TIMINGS,
  SECRET_FILE_MODE,
  commandLine,
  httpGetProbe,
  projectedVolume,
  resourcesFor,
  secretFiles,
  type ContainerPart,
  type Flag,
  type RenderContext,
} from './render-context.ts';
import type { DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';

/** The upstream default secure port; free on the pod IP the component binds to. */
export const CONTROLLER_MANAGER_PORT = 10257;
export const KUBECONFIG_PATH = '/etc/kubernetes/kubeconfig';

/** kubeadm's request for kube-controller-manager, used when its resources are empty in the spec. */
export const DEFAULT_CONTROLLER_MANAGER_RESOURCES: V1ResourceRequirements = { requests: { cpu: '200m' } };

/** Whether the guest's network plugin reads node.spec.podCIDR, so node CIDRs must be allocated. */
export function allocatesNodeCIDRs(plugin: DefaultedClusterSpec['network']['plugin']): boolean {
  // flannel takes each node's subnet from node.spec.podCIDR; calico runs its own IPAM.
  return plugin === 'flannel';
}

export function controllerManagerContainer(context: RenderContext): ContainerPart {
  const clusterName = context.cluster.metadata.name;
  const secrets = pkiSecretNames(clusterName);
  const { spec } = context;
  const pki = (file: string) => `${KUBERNETES_PKI_PATH}/${file}`;
  const kubeconfig = `${KUBECONFIG_PATH}/controller-manager.conf`;
  const flags: Flag[] = [
    ['kubeconfig', kubeconfig],
    ['authentication-kubeconfig', kubeconfig],
    ['authorization-kubeconfig', kubeconfig],
    ['bind-address', POD_IP],
    ['secure-port', String(CONTROLLER_MANAGER_PORT)],
    ['leader-elect', 'true'],
    ['cluster-name', clusterName],
    ['client-ca-file', pki('ca.crt')],
    ['requestheader-client-ca-file', pki('front-proxy-ca.crt')],
    ['root-ca-file', pki('ca.crt')],
    ['service-account-private-key-file', pki('sa.key')],
    ['cluster-signing-cert-file', pki('ca.crt')],
    ['cluster-signing-key-file', pki('ca.key')],
    ['use-service-account-credentials', 'true'],
    // bootstrapsigner and tokencleaner serve bootstrap tokens, with which machines join.
    ['controllers', '*,bootstrapsigner,tokencleaner'],
    ['allocate-node-cidrs', String(allocatesNodeCIDRs(spec.network.plugin))],
    ['cluster-cidr', spec.network.podCIDR],
    ['node-cidr-mask-size', String(spec.network.nodeCIDRMaskSize)],
    ['service-cluster-ip-range', spec.network.serviceCIDR],
    ['profiling', 'false'],
  ];

  const container: V1Container = {
    name: 'kube-controller-manager',
    image: context.images.controllerManager,
    command: ['kube-controller-manager'],
    args: commandLine(flags, spec.controlPlane.controllerManager.extraArgs, 'spec.controlPlane.controllerManager.extraArgs'),
    env: [POD_IP_ENV],
    // Port names are the pod's, shared by its containers: `https` is the API server's.
    ports: [{ name: 'kcm-https', containerPort: CONTROLLER_MANAGER_PORT, protocol: 'TCP' }],
    startupProbe: httpGetProbe('/healthz', 'kcm-https', 'HTTPS', PROBE_TIMINGS.startup),
    readinessProbe: httpGetProbe('/healthz', 'kcm-https', 'HTTPS', PROBE_TIMINGS.readiness),
    livenessProbe: httpGetProbe('/healthz', 'kcm-https', 'HTTPS', PROBE_TIMINGS.liveness),
    resources: resourcesFor(spec.controlPlane.controllerManager, DEFAULT_CONTROLLER_MANAGER_RESOURCES),
    volumeMounts: [
      { name: 'controller-manager-pki', mountPath: KUBERNETES_PKI_PATH, readOnly: true },
      { name: 'controller-manager-kubeconfig', mountPath: KUBECONFIG_PATH, readOnly: true },
    ],
  };

  const volumes = [
    projectedVolume('controller-manager-pki', [
      secretFiles(secrets.clusterCa, { 'tls.crt': 'ca.crt', 'tls.key': 'ca.key' }),
      secretFiles(secrets.frontProxyCa, { 'tls.crt': 'front-proxy-ca.crt' }),
      secretFiles(secrets.serviceAccount, { 'sa.key': 'sa.key' }),
    ]),
    {
      name: 'controller-manager-kubeconfig',
      secret: { secretName: secrets.controllerManagerKubeconfig, items: [{ key: 'kubeconfig', path: 'controller-manager.conf' }], defaultMode: SECRET_FILE_MODE },
    },
  ];
  return { container, volumes };
}
