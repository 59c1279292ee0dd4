// The steps that turn a fresh host into a node of a guest, in order, as data: which archive to
// upload and which script to run over SSH. The Node operator runs these same steps (with its
// own SSH client); the proof test and the benchmark run them with OpenSSH. Pure.
import { CONTAINERD_SOCKET, INSTALL_ROOT } from './catalogue.ts';
import type { PackageArtifact } from './package-manifest.ts';
import {
  containerdCommand,
  CONTAINERD_ENVIRONMENT,
  kubeletCommand,
  renderBootstrapKubeconfig,
  renderCniConfig,
  renderContainerdConfig,
  renderFileScript,
  renderImageImportScript,
  renderInstallScript,
  renderKubeletConfig,
  renderServiceScript,
  uploadPath,
} from './host-install.ts';

export type JoinStep = {
  name: string;
  /** Sent before the script runs: a local file to a path on the host. */
  upload?: { localPath: string; remotePath: string };
  script: string;
};

export type NodePackages = {
  runc: PackageArtifact;
  cniPlugins: PackageArtifact;
  containerd: PackageArtifact;
  kubelet: PackageArtifact;
  /** Images to import: pause first (the sandbox), then kube-proxy, CoreDNS, demo, ... */
  images: readonly PackageArtifact[];
};

export type JoinParameters = {
  nodeName: string;
  nodeIP: string;
  labels: Readonly<Record<string, string>>;
  cgroupRoot: string;
  server: string;
  caPem: string;
  bootstrapToken: string;
  clusterDNS: string;
  clusterDomain: string;
  sandboxImage: string;
  /** The host's pod subnet, configured for the bridge CNI plugin before the kubelet starts. */
  podSubnet: string;
};

/** Prints the host's own cgroup (memory hierarchy), which the kubelet's cgroupRoot must be. */
export const CGROUP_PROBE = "awk -F: '$2 == \"memory\" { print $3 }' /proc/self/cgroup";

/** Waits up to `seconds` for a command to succeed. */
function waitFor(what: string, command: string, seconds: number): string {
  // On failure the service's last log lines go with the error, so the caller sees why.
  return `i=0; until ${command} >/dev/null 2>&1; do i=$((i+1)); [ $i -lt ${seconds * 10} ] || { echo "${what} not healthy after ${seconds} s; last log lines:" >&2; tail -n 3 /var/log/${what}.log >&2 2>/dev/null; exit 1; }; sleep 0.1; done`;
}

export function installSteps(artifact: PackageArtifact): JoinStep[] {
  return [{ name: `install ${artifact.manifest.name} ${artifact.manifest.version}`, upload: { localPath: artifact.archive, remotePath: uploadPath(artifact.manifest) }, script: renderInstallScript(artifact.manifest, artifact.sha256) }];
}

export function renderJoinSteps(packages: NodePackages, parameters: JoinParameters): JoinStep[] {
  return [
    ...[packages.runc, packages.cniPlugins, packages.containerd, packages.kubelet, ...packages.images].flatMap(installSteps),
    containerdStep(parameters.sandboxImage),
    ...packages.images.map((artifact) => ({ name: `import ${artifact.manifest.name} ${artifact.manifest.version} images`, script: renderImageImportScript(artifact.manifest) })),
    podNetworkStep(parameters.podSubnet),
    kubeletStep(parameters),
  ];
}

/** containerd's configuration and service; waits until it answers. */
export function containerdStep(sandboxImage: string): JoinStep {
  const ctr = `${INSTALL_ROOT}/containerd/current/bin/ctr --address ${CONTAINERD_SOCKET}`;
  return {
    name: 'configure and start containerd',
    script: [
      renderFileScript('/etc/containerd/config.toml', renderContainerdConfig({ sandboxImage })),
      renderServiceScript('containerd', containerdCommand(), CONTAINERD_ENVIRONMENT),
      waitFor('containerd', `${ctr} version`, 30),
      // `ctr version` answers even when the CRI plugin failed to load (e.g. the kernel's inotify
      // instances are used up): the kubelet could never talk to it, so say why now.
      `if ! ${CRI_SERVING.replace('{ctr}', ctr)}; then echo "containerd's CRI plugin is not serving: $(grep 'failed to load plugin' /var/log/containerd.log | tail -1)" >&2; exit 1; fi`,
    ].join('\n'),
  };
}

/**
 * The kubelet's CA, bootstrap kubeconfig, configuration and service. It does not wait for the
 * kubelet: a bootstrapping kubelet serves /healthz only once its client certificate request is
 * approved, which is the caller's business (kubeletHealthyStep after approving).
 */
export function kubeletStep(parameters: Omit<JoinParameters, 'sandboxImage' | 'podSubnet'>): JoinStep {
  return {
    name: 'configure and start the kubelet',
    script: [
      renderFileScript('/etc/kubernetes/pki/ca.crt', parameters.caPem),
      renderFileScript('/etc/kubernetes/bootstrap-kubelet.conf', renderBootstrapKubeconfig({ server: parameters.server, caPem: parameters.caPem, token: parameters.bootstrapToken }), '0600'),
      renderFileScript('/var/lib/kubelet/config.yaml', renderKubeletConfig({ nodeIP: parameters.nodeIP, cgroupRoot: parameters.cgroupRoot, clusterDNS: parameters.clusterDNS, clusterDomain: parameters.clusterDomain })),
      renderServiceScript('kubelet', kubeletCommand({ nodeName: parameters.nodeName, nodeIP: parameters.nodeIP, labels: parameters.labels })),
    ].join('\n'),
  };
}

/** Waits for the kubelet's /healthz (after its client certificate request was approved). */
export function kubeletHealthyStep(seconds = 60): JoinStep {
  return { name: 'wait for the kubelet', script: waitFor('kubelet', KUBELET_HEALTHY, seconds) };
}

/** Succeeds when containerd's CRI plugin loaded (`{ctr}` stands for the ctr command line). */
export const CRI_SERVING = "{ctr} plugins ls 2>/dev/null | awk '$1 == \"io.containerd.grpc.v1\" && $2 == \"cri\" { print $NF }' | grep -qx ok";

/** Succeeds when the kubelet's /healthz answers on the host (busybox wget or curl). */
export const KUBELET_HEALTHY = 'wget -q -O- http://127.0.0.1:10248/healthz || curl -fsS http://127.0.0.1:10248/healthz';

/** The host's CNI configuration for its pod subnet (the kubelet reports the network ready once it exists). */
export function podNetworkStep(podSubnet: string): JoinStep {
  return { name: `pod network ${podSubnet}`, script: renderFileScript('/etc/cni/net.d/10-tessera.conflist', renderCniConfig(podSubnet)) };
}
