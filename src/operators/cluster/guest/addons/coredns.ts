// CoreDNS, the guest's cluster DNS, rendered from the template below. Versions and the shape of
// the objects follow what kubeadm deploys for the same Kubernetes minor.
import { formatAddress, parseCidr } from '../../../../plan/cidr.ts';
import { VERSION_CATALOGUE, catalogueEntry, minorOf, supportedVersionsText } from '../../../../api/v1alpha1/version-catalogue.ts';
import { KUBE_SYSTEM, guestMetadata, type GuestObject } from '../guest-object.ts';

export const CORE_DNS_IMAGE_REPOSITORY = 'registry.k8s.io/coredns/coredns';
export const CORE_DNS_NAME = 'coredns';
/** The Service keeps kube-dns's name: kubelets and tools look for it. */
export const DNS_SERVICE_NAME = 'kube-dns';
const DNS_APP_LABEL = { 'k8s-app': 'kube-dns' };

export type CoreDnsParameters = {
  /** CoreDNS version without the leading v, e.g. "1.14.6". */
  version: string;
  clusterDomain: string;
  serviceCIDR: string;
  replicas?: number;
};

/** CoreDNS per Kubernetes minor, derived from the version catalogue (for builds of the images). */
export const CORE_DNS_VERSION_BY_KUBERNETES_MINOR: Readonly<Record<string, string>> = Object.fromEntries(
  VERSION_CATALOGUE.map((entry) => [minorOf(entry.kubernetes) ?? entry.kubernetes, entry.coredns]),
);

/** The CoreDNS the version catalogue pairs with a Kubernetes release. */
export function coreDnsVersionFor(kubernetesVersion: string): string {
  const entry = catalogueEntry(kubernetesVersion);
  if (entry === undefined) {
    throw new Error(`spec.version ${kubernetesVersion}: no CoreDNS version is catalogued for it (supported: ${supportedVersionsText()}); set spec.addons[name=coredns].version or use a supported version`);
  }
  return entry.coredns;
}

/**
 * The cluster DNS address: the 10th address of the (first) service CIDR, e.g. 10.96.0.10 for
 * 10.96.0.0/12, as kubeadm and every kubelet configuration expect.
 */
export function dnsServiceIp(serviceCIDR: string): string {
  // A dual-stack value lists the primary family first; DNS is served on that family's address.
  const primary = serviceCIDR.split(',')[0] ?? '';
  const parsed = parseCidr(primary.trim());
  if (!parsed.ok) throw new Error(`spec.network.serviceCIDR ${JSON.stringify(serviceCIDR)} ${parsed.reason}`);
  if (parsed.hostBitsSet) throw new Error(`spec.network.serviceCIDR ${JSON.stringify(serviceCIDR)} has host bits set; write ${parsed.canonical}`);
  const address = parsed.cidr.first + 10n;
  if (address >= parsed.cidr.last) {
    throw new Error(`spec.network.serviceCIDR ${JSON.stringify(serviceCIDR)} is too small to hold the DNS address (its 10th); use a prefix of /28 or shorter for IPv4`);
  }
  return formatAddress(parsed.cidr.family, address);
}

export function renderCorefile(clusterDomain: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(clusterDomain)) {
    throw new Error(`spec.network.clusterDomain ${JSON.stringify(clusterDomain)} is not a DNS domain; write e.g. "cluster.local"`);
  }
  // The kubernetes plugin is authoritative for the cluster domain, so caching its answers (and
  // its NXDOMAINs) would only serve stale records; everything else goes to the node's resolver.
  return `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${clusterDomain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success ${clusterDomain}
       disable denial ${clusterDomain}
    }
    loop
    reload
    loadbalance
}
`;
}

export function renderCoreDns(parameters: CoreDnsParameters): GuestObject[] {
  const { version, clusterDomain, serviceCIDR } = parameters;
  const replicas = parameters.replicas ?? 2;
  const clusterIP = dnsServiceIp(serviceCIDR);
  const corefile = renderCorefile(clusterDomain);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: guestMetadata(CORE_DNS_NAME, KUBE_SYSTEM) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: guestMetadata('system:coredns'),
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: guestMetadata('system:coredns'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: CORE_DNS_NAME, namespace: KUBE_SYSTEM }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: guestMetadata(CORE_DNS_NAME, KUBE_SYSTEM), data: { Corefile: corefile } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: guestMetadata(CORE_DNS_NAME, KUBE_SYSTEM, DNS_APP_LABEL),
      spec: {
        replicas,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        selector: { matchLabels: DNS_APP_LABEL },
        template: {
          metadata: { labels: DNS_APP_LABEL },
          spec: {
            priorityClassName: 'system-cluster-critical',
            serviceAccountName: CORE_DNS_NAME,
            // Two replicas on one node would fail together.
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    podAffinityTerm: {
                      labelSelector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['kube-dns'] }] },
                      topologyKey: 'kubernetes.io/hostname',
                    },
                  },
                ],
              },
            },
            tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            // CoreDNS resolves upstream through the node's resolver, not through itself.
            dnsPolicy: 'Default',
            containers: [
              {
                name: 'coredns',
                image: `${CORE_DNS_IMAGE_REPOSITORY}:v${version}`,
                imagePullPolicy: 'IfNotPresent',
                args: ['-conf', '/etc/coredns/Corefile'],
                resources: { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi' } },
                ports: [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
                  { name: 'liveness-probe', containerPort: 8080, protocol: 'TCP' },
                  { name: 'readiness-probe', containerPort: 8181, protocol: 'TCP' },
                ],
                livenessProbe: {
                  httpGet: { path: '/health', port: 8080, scheme: 'HTTP' },
                  initialDelaySeconds: 60,
                  timeoutSeconds: 5,
                  successThreshold: 1,
                  failureThreshold: 5,
                },
                readinessProbe: { httpGet: { path: '/ready', port: 8181, scheme: 'HTTP' } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
                  readOnlyRootFilesystem: true,
                },
                volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config-volume', configMap: { name: CORE_DNS_NAME, items: [{ key: 'Corefile', path: 'Corefile' }] } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        ...guestMetadata(DNS_SERVICE_NAME, KUBE_SYSTEM, { ...DNS_APP_LABEL, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' }),
        annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
      },
      spec: {
        clusterIP,
        selector: DNS_APP_LABEL,
        ports: [
          { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, targetPort: 9153, protocol: 'TCP' },
        ],
      },
    },
  ];
}
