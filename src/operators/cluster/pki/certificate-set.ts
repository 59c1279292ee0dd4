// The certificate set of one guest cluster: which Secrets hold its PKI, and what each
// certificate must say (subject, SANs, usages, signer). Pure data; issuing and renewing happen in
// certificate-secrets.ts. The Secret names here are the contract with the component renderers.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RESERVED_GROUP_PREFIX, parseDuration, withDefaults } from '../../../api/v1alpha1/cluster.ts';
import type { Cluster } from '../../../api/v1alpha1/cluster.ts';
import type { CertificateUsage } from '../../../pki/leaf-certificate.ts';
import { formatAddress, parseCidr } from '../../../plan/cidr.ts';
import {
  API_SERVER_PORT,
  DEFAULT_META_CLUSTER_DOMAIN,
  apiServerInternalServiceName,
  apiServerServiceName,
  etcdClientServiceName,
  etcdMemberDnsName,
  etcdPeerServiceName,
  serviceDnsName,
} from '../names.ts';

export type CertificateKind = 'ca' | 'leaf' | 'service-account' | 'kubeconfig';

export type CertificateSetEntry = {
  secretName: string;
  kind: CertificateKind;
  /** Secret name of the CA that signs it. A CA and the service-account key pair name themselves. */
  signer: string;
  /** Kubernetes reads the user name from it. Empty for the service-account key pair. */
  commonName: string;
  /** Kubernetes reads the groups from them. */
  organizations: string[];
  dnsNames: string[];
  /** Normalised (IPv6 compressed lower case), as describeCertificate reports them. */
  ipAddresses: string[];
  /** Empty for CAs and the service-account key pair. */
  usages: CertificateUsage[];
  /** The `tessera.dev/component` label of its Secret. */
  component: 'pki' | 'kubeconfig';
  /** Kubeconfigs only: the API server URL written into it. */
  server?: string;
  /** Extra users' kubeconfigs only: the spec.users[].name it belongs to. */
  user?: string;
  /**
   * The certificate's own lifetime and renewal window in milliseconds, for short-lived
   * certificates (extra users); without it spec.certificates.validity and renewBefore apply.
   */
  lifetime?: CertificateLifetime;
};

export type CertificateLifetime = { validity: number; renewBefore: number };

/**
 * An extra user's certificate lives spec.users[].validity and is renewed once a third of that
 * is left, or spec.certificates.renewBefore before expiry if that is shorter (a platform that
 * renews late renews its users late too). The third leaves whoever holds the kubeconfig (a
 * person, a CI job) time to fetch the renewed one before the old certificate expires, and keeps
 * the cluster's window (720h by default) from swallowing a 24h lifetime whole.
 */
export function userCertificateLifetime(validity: number, clusterRenewBefore: number): CertificateLifetime {
  return { validity, renewBefore: Math.min(validity / 3, clusterRenewBefore) };
}

export type CertificateSetInput = {
  cluster: Cluster;
  /** ClusterIP of the meta-cluster Service `<c>-kube-apiserver`. */
  apiServerClusterIP: string;
  /**
   * URL the admin and extra users reach the guest API at, e.g.
   * `https://<c>-kube-apiserver.<ns>.svc:6443`; its host also joins the serving cert's SANs.
   */
  endpoint: string;
  /** ClusterIP of the meta-cluster Service `<c>-etcd-client`, added to each member's SANs. */
  etcdClientClusterIP?: string;
  /** Names of the etcd members, `<c>-etcd-<i>`: one serving+peer certificate each. */
  etcdMemberNames: readonly string[];
  /** More DNS names or IP addresses for the apiserver serving cert (a load balancer, an external name). */
  extraSans?: readonly string[];
  /** DNS domain of the meta cluster (not the guest's); default `cluster.local`. */
  metaClusterDomain?: string;
};

/** Secret names of a guest's PKI; what component renderers mount. */
export type PkiSecretNames = {
  clusterCa: string;
  frontProxyCa: string;
  etcdCa: string;
  serviceAccount: string;
  apiServer: string;
  apiServerKubeletClient: string;
  frontProxyClient: string;
  apiServerEtcdClient: string;
  etcdOperatorClient: string;
  adminKubeconfig: string;
  controllerManagerKubeconfig: string;
  schedulerKubeconfig: string;
  /** The member's own name: `<c>-etcd-<i>`. */
  etcdMember: (memberName: string) => string;
  userKubeconfig: (userName: string) => string;
};

export function pkiSecretNames(clusterName: string): PkiSecretNames {
  return {
    clusterCa: `${clusterName}-ca`,
    frontProxyCa: `${clusterName}-front-proxy-ca`,
    etcdCa: `${clusterName}-etcd-ca`,
    serviceAccount: `${clusterName}-sa`,
    apiServer: `${clusterName}-apiserver`,
    apiServerKubeletClient: `${clusterName}-apiserver-kubelet-client`,
    frontProxyClient: `${clusterName}-front-proxy-client`,
    apiServerEtcdClient: `${clusterName}-apiserver-etcd-client`,
    etcdOperatorClient: `${clusterName}-etcd-operator-client`,
    adminKubeconfig: `${clusterName}-admin-kubeconfig`,
    controllerManagerKubeconfig: `${clusterName}-controller-manager-kubeconfig`,
    schedulerKubeconfig: `${clusterName}-scheduler-kubeconfig`,
    etcdMember: (memberName) => memberName,
    userKubeconfig: (userName) => `${clusterName}-user-${userName}-kubeconfig`,
  };
}

const caller = 'buildCertificateSet';

/** The guest's certificate set, in issuing order: CAs first, then what they sign. */
export function buildCertificateSet(input: CertificateSetInput): CertificateSetEntry[] {
  const { name: c, namespace: ns } = clusterIdentity(input.cluster, caller);
  const spec = withDefaults(input.cluster.spec);
  const metaDomain = input.metaClusterDomain ?? DEFAULT_META_CLUSTER_DOMAIN;
  const names = pkiSecretNames(c);
  const endpointHost = hostOfEndpoint(input.endpoint);
  (input.extraSans ?? []).forEach((value, index) => {
    if (typeof value !== 'string' || value.trim() === '') {
      throw new Error(`${caller}: extraSans[${index}] must be a DNS name or an IP address, got ${JSON.stringify(value)}`);
    }
  });

  const authority = (secretName: string, commonName: string): CertificateSetEntry =>
    entry({ secretName, kind: 'ca', signer: secretName, commonName });
  const leaf = (fields: Omit<Partial<CertificateSetEntry>, 'kind'> & Pick<CertificateSetEntry, 'secretName' | 'signer' | 'commonName' | 'usages'>) =>
    entry({ ...fields, kind: 'leaf' });
  const kubeconfig = (secretName: string, commonName: string, organizations: readonly string[], server: string, user?: Pick<CertificateSetEntry, 'user' | 'lifetime'>) =>
    entry({ secretName, kind: 'kubeconfig', signer: names.clusterCa, commonName, organizations: [...organizations], usages: ['client'], component: 'kubeconfig', server, ...user });
  // A Service answers at its short name, in its namespace, and by its full name in the meta cluster.
  const serviceNames = (service: string) => [service, `${service}.${ns}`, `${service}.${ns}.svc`, serviceDnsName(service, ns, metaDomain)];

  const apiServerSans = splitSubjectAlternativeNames([
    'localhost',
    '127.0.0.1',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${spec.network.clusterDomain}`,
    // Pods in the guest reach the API at the first address of its Service range (kubernetes.default).
    firstServiceAddress(spec.network.serviceCIDR),
    requireIpAddress(input.apiServerClusterIP, 'apiServerClusterIP'),
    ...serviceNames(apiServerServiceName(c)),
    ...serviceNames(apiServerInternalServiceName(c)),
    endpointHost,
    ...(input.extraSans ?? []),
  ]);

  const entries: CertificateSetEntry[] = [
    authority(names.clusterCa, `${c}-ca`),
    authority(names.frontProxyCa, `${c}-front-proxy-ca`),
    authority(names.etcdCa, `${c}-etcd-ca`),
    entry({ secretName: names.serviceAccount, kind: 'service-account', signer: names.serviceAccount, commonName: '' }),
    leaf({ secretName: names.apiServer, signer: names.clusterCa, commonName: 'kube-apiserver', usages: ['server'], ...apiServerSans }),
    leaf({
      secretName: names.apiServerKubeletClient,
      signer: names.clusterCa,
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['kubeadm:cluster-admins'],
      usages: ['client'],
    }),
    leaf({ secretName: names.frontProxyClient, signer: names.frontProxyCa, commonName: 'front-proxy-client', usages: ['client'] }),
    leaf({ secretName: names.apiServerEtcdClient, signer: names.etcdCa, commonName: 'kube-apiserver-etcd-client', usages: ['client'] }),
    // The operator's own etcd identity, for member add/remove when a member is replaced.
    leaf({ secretName: names.etcdOperatorClient, signer: names.etcdCa, commonName: 'tessera-operator', usages: ['client'] }),
  ];

  const memberNames = new Set<string>();
  input.etcdMemberNames.forEach((member, index) => {
    const field = `etcdMemberNames[${index}]`;
    if (typeof member !== 'string' || !new RegExp(`^${escapeRegExp(c)}-etcd-[0-9]+$`).test(member)) {
      throw new Error(`${caller}: ${field} ${JSON.stringify(member)} must be named ${c}-etcd-<index>, e.g. ${c}-etcd-0`);
    }
    if (memberNames.has(member)) throw new Error(`${caller}: ${field} ${JSON.stringify(member)} is listed twice; give each member once`);
    memberNames.add(member);
    // The member's pod IP is not known before it starts, so peers and clients address it by DNS:
    // its own name (the pod hostname), its name under the governing Service, and the client Service.
    entries.push(
      leaf({
        secretName: names.etcdMember(member),
        signer: names.etcdCa,
        commonName: member,
        usages: ['server', 'client'],
        dnsNames: [
          member,
          `${member}.${etcdPeerServiceName(c)}.${ns}.svc`,
          etcdMemberDnsName(c, member, ns, metaDomain),
          `${etcdClientServiceName(c)}.${ns}.svc`,
          serviceDnsName(etcdClientServiceName(c), ns, metaDomain),
          'localhost',
        ],
        // The client Service's ClusterIP, when known, so tools (etcdctl) can dial it directly.
        ipAddresses: ['127.0.0.1', ...(input.etcdClientClusterIP ? [input.etcdClientClusterIP] : [])],
      }),
    );
  });
  if (memberNames.size === 0) {
    throw new Error(`${caller}: etcdMemberNames is empty; give the members' names, e.g. ["${c}-etcd-0"]`);
  }

  const internalServer = `https://${serviceDnsName(apiServerInternalServiceName(c), ns, metaDomain)}:${API_SERVER_PORT}`;
  // system:masters works before any RBAC exists in the guest, which the bootstrap needs.
  entries.push(kubeconfig(names.adminKubeconfig, 'kubernetes-admin', ['system:masters'], input.endpoint));
  entries.push(kubeconfig(names.controllerManagerKubeconfig, 'system:kube-controller-manager', [], internalServer));
  entries.push(kubeconfig(names.schedulerKubeconfig, 'system:kube-scheduler', [], internalServer));

  const userNames = new Set<string>();
  const clusterRenewBefore = (() => {
    try {
      return parseDuration(spec.certificates.renewBefore);
    } catch (error) {
      throw new Error(`${caller}: spec.certificates.renewBefore: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  })();
  spec.users.forEach((user, index) => {
    const field = `spec.users[${index}].name`;
    if (typeof user.name !== 'string' || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(user.name)) {
      throw new Error(
        `${caller}: ${field} ${JSON.stringify(user.name)} becomes part of a Secret name: ` +
          "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
      );
    }
    if (userNames.has(user.name)) throw new Error(`${caller}: ${field} ${JSON.stringify(user.name)} is listed twice; give each user once`);
    userNames.add(user.name);
    const secretName = names.userKubeconfig(user.name);
    if (secretName.length > 253) throw new Error(`${caller}: ${field} is too long: Secret ${secretName} exceeds 253 characters`);
    const groups = user.groups.map((group, groupIndex) => {
      if (typeof group !== 'string' || group.trim() === '') {
        throw new Error(`${caller}: spec.users[${index}].groups[${groupIndex}] must be a non-empty group name, e.g. "view-only"`);
      }
      // The CRD refuses these too; checked again because a certificate cannot be taken back.
      if (group.startsWith(RESERVED_GROUP_PREFIX)) {
        throw new Error(
          `${caller}: spec.users[${index}].groups[${groupIndex}] ${JSON.stringify(group)} must not start with "${RESERVED_GROUP_PREFIX}": ` +
            'Kubernetes grants those groups itself and a certificate cannot be revoked; use a group RBAC binds, such as tessera:admins',
        );
      }
      return group;
    });
    let validity: number;
    try {
      validity = parseDuration(user.validity);
    } catch (error) {
      throw new Error(`${caller}: spec.users[${index}].validity: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (!(validity > 0)) throw new Error(`${caller}: spec.users[${index}].validity must be a positive duration such as "24h", got ${JSON.stringify(user.validity)}`);
    entries.push(kubeconfig(secretName, user.name, groups, input.endpoint, { user: user.name, lifetime: userCertificateLifetime(validity, clusterRenewBefore) }));
  });
  return entries;
}

/** The cluster's name and namespace, or an error naming the missing field. */
export function clusterIdentity(cluster: Cluster, who: string): { name: string; namespace: string } {
  const { name, namespace } = cluster.metadata;
  if (typeof name !== 'string' || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) {
    throw new Error(`${who}: metadata.name ${JSON.stringify(name)} must be a DNS label (lower-case letters, digits, '-')`);
  }
  if (typeof namespace !== 'string' || namespace === '') {
    throw new Error(`${who}: metadata.namespace is required: the PKI Secrets live in the Cluster's namespace`);
  }
  return { name, namespace };
}

function entry(fields: Partial<CertificateSetEntry> & Pick<CertificateSetEntry, 'secretName' | 'kind' | 'signer' | 'commonName'>): CertificateSetEntry {
  return {
    organizations: [],
    dnsNames: [],
    ipAddresses: [],
    usages: [],
    component: 'pki',
    ...fields,
  };
}

function firstServiceAddress(serviceCIDR: string): string {
  const parsed = parseCidr(serviceCIDR);
  if (!parsed.ok) throw new Error(`${caller}: spec.network.serviceCIDR ${JSON.stringify(serviceCIDR)} ${parsed.reason}`);
  if (parsed.cidr.last - parsed.cidr.first < 1n) {
    throw new Error(`${caller}: spec.network.serviceCIDR ${JSON.stringify(serviceCIDR)} has no room for a Service address; use a wider range, e.g. 10.96.0.0/12`);
  }
  return formatAddress(parsed.cidr.family, parsed.cidr.first + 1n);
}

function hostOfEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`${caller}: endpoint ${JSON.stringify(endpoint)} is not a URL; give e.g. "https://shop-kube-apiserver.team-a.svc:6443"`);
  }
  if (url.protocol !== 'https:') throw new Error(`${caller}: endpoint ${JSON.stringify(endpoint)} must use https`);
  // URL keeps IPv6 hosts in brackets.
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function requireIpAddress(value: string, field: string): string {
  if (typeof value !== 'string' || isIP(value) === 0) {
    throw new Error(`${caller}: ${field} ${JSON.stringify(value)} is not an IP address; give the Service's spec.clusterIP`);
  }
  return value;
}

/** Sorts SANs into DNS names and IPs, normalised and without repeats, first occurrence first. */
function splitSubjectAlternativeNames(values: readonly string[]): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  values.forEach((value) => {
    if (isIP(value) !== 0) {
      const address = ipaddr.parse(value).toString();
      if (!ipAddresses.includes(address)) ipAddresses.push(address);
    } else {
      const dnsName = value.toLowerCase();
      if (!dnsNames.includes(dnsName)) dnsNames.push(dnsName);
    }
  });
  return { dnsNames, ipAddresses };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
