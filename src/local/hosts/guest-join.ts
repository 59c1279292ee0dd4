// `tessera hosts join`: makes local hosts nodes of a guest of the local meta cluster by hand,
// until the Node operator does it. It runs the steps the operator will take: link the fabric,
// issue a short-lived bootstrap token, then over SSH install the packages of the guest's
// Kubernetes version and start containerd and the kubelet (src/node/join-steps.ts).
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { cidr, formatAddress } from '../../plan/cidr.ts';
import { renderKubernetesEndpoints } from '../fabric/guest-link.ts';
import { podSubnetOf } from '../fabric/vpc-plan.ts';
import { findPackage } from '../../node/catalogue.ts';
import { ensurePackage } from '../packages/package-artifacts.ts';
import { CGROUP_PROBE, kubeletHealthyStep, renderJoinSteps, type NodePackages } from '../../node/join-steps.ts';
import { PAUSE_IMAGE } from '../packages/images.ts';
import { CNI_PLUGINS_VERSION, CONTAINERD_VERSION, coreDnsVersionFor, PAUSE_VERSION, RUNC_VERSION } from '../packages/node-builds.ts';
import { readHostRecord, type HostRecord } from './host-layout.ts';
import { mustRunOnHost, runStepsOnHost } from './host-ssh.ts';
import { linkGuestToHosts, routePodSubnetToHost } from './local-hosts.ts';
import { judgeAmong, KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER, type KubeletCsr, type MachineIdentity } from '../../operators/machine/kubelet-csr.ts';

/** How long a by-hand join waits for its kubelets' certificate requests. */
const CSR_WAIT_MS = 120_000;

type CsrList = { items: { metadata: { name: string }; spec: { signerName: string; username?: string; groups?: string[]; usages?: string[]; request: string }; status?: { conditions?: { type: string }[] } }[] };

/**
 * Nothing in a guest approves kubelet certificates on its own (no blanket auto-approval): the
 * by-hand join approves the client and serving requests of the hosts it joined, judged exactly as
 * the Node operator judges a Machine's (src/operators/machine/kubelet-csr.ts).
 */
export async function approveJoinedKubelets(options: Pick<GuestJoinOptions, 'kubectl' | 'guestKubeconfigPath' | 'onProgress'>, records: readonly Pick<HostRecord, 'name' | 'vpcAddress'>[], tokenId: string): Promise<void> {
  const identities: MachineIdentity[] = records.map((record) => ({ nodeName: record.name, bootstrapTokenIds: [tokenId], hostnames: [record.name], addresses: [record.vpcAddress] }));
  const approved = new Set<string>();
  const wanted = records.flatMap((record) => [`${KUBELET_CLIENT_SIGNER} ${record.name}`, `${KUBELET_SERVING_SIGNER} ${record.name}`]);
  const deadline = Date.now() + CSR_WAIT_MS;
  while (wanted.some((entry) => !approved.has(entry))) {
    if (Date.now() > deadline) {
      options.onProgress(`warning: no approvable certificate request arrived within ${CSR_WAIT_MS / 1000} s for ${wanted.filter((entry) => !approved.has(entry)).join(', ')}: see \`kubectl get csr\` in the guest`);
      return;
    }
    const list = JSON.parse(await options.kubectl(['get', 'csr', '-o', 'json'], { kubeconfig: options.guestKubeconfigPath })) as CsrList;
    for (const item of list.items) {
      if (item.status?.conditions?.some((condition) => condition.type === 'Approved' || condition.type === 'Denied')) continue;
      const csr: KubeletCsr = { name: item.metadata.name, signerName: item.spec.signerName, username: item.spec.username ?? '', groups: item.spec.groups ?? [], usages: item.spec.usages ?? [], requestPem: Buffer.from(item.spec.request, 'base64').toString('utf8') };
      // The hosts share one token: judged among them all, not host by host.
      const verdict = judgeAmong(csr, identities);
      if (!verdict) continue;
      await options.kubectl(['certificate', verdict.verdict === 'approve' ? 'approve' : 'deny', csr.name], { kubeconfig: options.guestKubeconfigPath });
      options.onProgress(`host ${verdict.nodeName}: ${verdict.verdict === 'approve' ? 'approved' : 'denied'} ${csr.name}: ${verdict.message}`);
      if (verdict.verdict === 'approve') approved.add(`${csr.signerName} ${verdict.nodeName}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** kubectl against the meta cluster, or (with `kubeconfig`) against the guest; stdin optional. */
export type Kubectl = (args: readonly string[], options?: { kubeconfig?: string; input?: string }) => Promise<string>;

type ClusterObject = {
  spec: { version: string; network?: { podCIDR?: string; serviceCIDR?: string; nodeCIDRMaskSize?: number; clusterDomain?: string; plugin?: string; nodeReachability?: string }; controlPlane?: { apiServer?: { extraArgs?: Record<string, string> } } };
  status?: { endpoint?: string; adminKubeconfigSecret?: string; conditions?: { type: string; status: string }[] };
};

export type GuestJoinOptions = {
  tesseraHome: string;
  cluster: string;
  namespace: string;
  hosts: readonly string[];
  kubectl: Kubectl;
  /** Where the guest's admin kubeconfig is written for the guest-side calls. */
  guestKubeconfigPath: string;
  writeFile: (path: string, content: string) => Promise<void>;
  onProgress: (line: string) => void;
  /** Bootstrap token lifetime; the token is only needed until the kubelets hold certificates. */
  tokenTtlMs?: number;
  random?: (size: number) => Buffer;
};

/** The cluster DNS address: the tenth address of the Service range, like kubeadm. */
export function clusterDnsAddress(serviceCIDR: string): string {
  const range = cidr(serviceCIDR);
  return formatAddress(range.family, range.first + 10n);
}

export function bootstrapTokenSecret(id: string, secret: string, expiresAt: Date): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    type: 'bootstrap.kubernetes.io/token',
    stringData: {
      'token-id': id,
      'token-secret': secret,
      'usage-bootstrap-authentication': 'true',
      // The group the guest's bootstrap RBAC lets create and auto-approve node client CSRs.
      'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
      expiration: expiresAt.toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  };
}

export async function joinGuest(options: GuestJoinOptions): Promise<void> {
  const { tesseraHome, kubectl, onProgress } = options;
  const random = options.random ?? randomBytes;
  const cluster = JSON.parse(await kubectl(['get', 'cluster', options.cluster, '-n', options.namespace, '-o', 'json'])) as ClusterObject;
  if (!cluster.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')) {
    throw new Error(`cluster ${options.cluster} is not Ready yet: wait for \`tessera kubectl -- get cluster ${options.cluster}\` to show READY True`);
  }
  const network = cluster.spec.network ?? {};
  if (network.plugin !== undefined && network.plugin !== 'none') throw new Error(`cluster ${options.cluster} has spec.network.plugin ${network.plugin}: local hosts route pod subnets themselves and join guests with plugin none`);
  const egressFlag = cluster.spec.controlPlane?.apiServer?.extraArgs?.['egress-selector-config-file'];
  const secretName = cluster.status.adminKubeconfigSecret ?? `${options.cluster}-admin-kubeconfig`;
  const kubeconfigText = Buffer.from(await kubectl(['get', 'secret', secretName, '-n', options.namespace, '-o', 'jsonpath={.data.kubeconfig}']), 'base64').toString();
  const kubeconfig = parse(kubeconfigText) as { clusters: { cluster: { server: string; 'certificate-authority-data': string } }[] };
  const guestCluster = kubeconfig.clusters[0]?.cluster;
  if (!guestCluster) throw new Error(`secret ${secretName} holds no kubeconfig cluster`);
  const caPem = Buffer.from(guestCluster['certificate-authority-data'], 'base64').toString();
  await options.writeFile(options.guestKubeconfigPath, kubeconfigText);

  const { configPath } = await linkGuestToHosts(tesseraHome, guestCluster.server);
  // Unset, the operator of the local meta cluster gives the API server the fabric's egress proxy.
  if (network.nodeReachability === 'Direct' && egressFlag === undefined) {
    onProgress(`warning: the guest's API server dials nodes directly (spec.network.nodeReachability Direct) and cannot reach local hosts (logs, exec): tessera kubectl -- patch cluster ${options.cluster} -n ${options.namespace} --type merge -p '{"spec":{"network":{"nodeReachability":"EgressProxy"}}}' (the proxy's configuration is ${configPath})`);
  }
  const id = random(3).toString('hex');
  const secret = random(8).toString('hex');
  const objects = [...renderKubernetesEndpoints(), bootstrapTokenSecret(id, secret, new Date(Date.now() + (options.tokenTtlMs ?? 30 * 60_000)))];
  await kubectl(['apply', '-f', '-'], { kubeconfig: options.guestKubeconfigPath, input: objects.map((object) => JSON.stringify(object)).join('\n') });
  onProgress(`guest ${options.cluster}: kubernetes endpoints at the hosts' relay, bootstrap token ${id} issued`);

  const packages = await ensureNodePackages(cluster.spec.version, onProgress);
  const records: HostRecord[] = [];
  await Promise.all(
    options.hosts.map(async (name) => {
      const record = await readHostRecord(tesseraHome, name);
      if (!record) throw new Error(`host ${name} does not exist: create it with \`tessera hosts create ${name}\``);
      records.push(record);
      const cgroupRoot = (await mustRunOnHost(tesseraHome, record, 'read the host\'s cgroup', CGROUP_PROBE)).trim();
      const podSubnet = podSubnetOf(network.podCIDR ?? '10.244.0.0/16', network.nodeCIDRMaskSize ?? 24, record.index);
      await routePodSubnetToHost(tesseraHome, name, podSubnet);
      const steps = renderJoinSteps(packages, {
        nodeName: name,
        nodeIP: record.vpcAddress,
        labels: { 'topology.kubernetes.io/zone': record.zone },
        cgroupRoot,
        server: guestCluster.server,
        caPem,
        bootstrapToken: `${id}.${secret}`,
        clusterDNS: clusterDnsAddress(network.serviceCIDR ?? '10.96.0.0/12'),
        clusterDomain: network.clusterDomain ?? 'cluster.local',
        sandboxImage: PAUSE_IMAGE,
        podSubnet,
      });
      const started = Date.now();
      for (const step of steps) {
        await runStepsOnHost(tesseraHome, record, [step]);
        onProgress(`host ${name}: ${step.name}`);
      }
      onProgress(`host ${name}: kubelet ${cluster.spec.version} started in ${((Date.now() - started) / 1000).toFixed(1)} s, pod subnet ${podSubnet}`);
    }),
  );
  await approveJoinedKubelets(options, records, id);
  await Promise.all(records.map((record) => runStepsOnHost(tesseraHome, record, [kubeletHealthyStep()])));
}

/** The node stack's packages for a guest at `kubernetesVersion`, built or fetched into the local cache. */
export async function ensureNodePackages(kubernetesVersion: string, onProgress?: (message: string) => void): Promise<NodePackages> {
  const artifact = (name: string, packageVersion: string) => ensurePackage(findPackage(name, packageVersion), { onProgress });
  return {
    runc: await artifact('runc', RUNC_VERSION),
    cniPlugins: await artifact('cni-plugins', CNI_PLUGINS_VERSION),
    containerd: await artifact('containerd', CONTAINERD_VERSION),
    kubelet: await artifact('kubelet', kubernetesVersion),
    images: [await artifact('pause', PAUSE_VERSION), await artifact('kube-proxy', kubernetesVersion), await artifact('coredns', coreDnsVersionFor(kubernetesVersion)), await artifact('demo', '1.0')],
  };
}
