// The package catalogue: every on-host package Tessera can install, at every version, with how
// it is built, where it installs, what service it runs and how its health is checked. This is
// the only list of what exists; the Node operator installs from it.
import { catalogueKubernetesVersions, DEFAULT_KUBERNETES_VERSION, VERSION_CATALOGUE } from '../api/v1alpha1/version-catalogue.ts';
import { CNI_PLUGINS_VERSION, CONTAINERD_VERSION, PAUSE_VERSION, RUNC_VERSION } from './package-versions.ts';

export const INSTALL_ROOT = '/opt/tessera';
/** Where a host keeps Tessera's own state (uploads, installed-package records): never tmpfs. */
export const HOST_STATE_DIR = '/var/lib/tessera';
export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';

export type HealthCheck =
  /** Exit status 0 means healthy. `{dir}` stands for the package's install directory. */
  | { kind: 'command'; command: readonly string[] }
  | { kind: 'http'; url: string }
  /** The image is in containerd's k8s.io namespace. */
  | { kind: 'containerd-image'; reference: string };

export type Activation =
  /** A long-running service under the host's service manager (runit). */
  | { kind: 'service'; service: string; executable: string }
  /** Images loaded with `ctr -n k8s.io images import`. */
  | { kind: 'containerd-images'; images: readonly { reference: string; archive: string }[] }
  /** Programs other packages call by path: containerd's runtime, the kubelet's CNI plugins. */
  | { kind: 'programs'; usedBy: string; directory: string };

export type PackageDefinition = {
  name: string;
  version: string;
  description: string;
  activation: Activation;
  healthCheck: HealthCheck;
  /** Packages that must be installed and healthy first. */
  requires: readonly string[];
  /** Present on versions made to fail, for tests and demos of rollbacks and remediation. */
  broken?: { reason: string };
};

export function installDir(name: string, version: string): string {
  return `${INSTALL_ROOT}/${name}/${version}`;
}

/** The version string of the deliberately broken kubelet: a prerelease of the newest one. */
export const BROKEN_KUBELET_VERSION = `${DEFAULT_KUBERNETES_VERSION}-tessera.broken`;

export function kubeletPackage(version: string): PackageDefinition {
  return {
    name: 'kubelet',
    version,
    description: `kubelet v${version}, the node agent`,
    activation: { kind: 'service', service: 'kubelet', executable: 'bin/kubelet' },
    healthCheck: { kind: 'http', url: 'http://127.0.0.1:10248/healthz' },
    requires: ['containerd', 'runc', 'cni-plugins', 'pause'],
  };
}

export function catalogue(): PackageDefinition[] {
  const images = (name: string, version: string, reference: string, description: string, requires: string[] = ['containerd']): PackageDefinition => ({
    name,
    version,
    description,
    activation: { kind: 'containerd-images', images: [{ reference, archive: `images/${name}.tar` }] },
    healthCheck: { kind: 'containerd-image', reference },
    requires,
  });
  const packages: PackageDefinition[] = [
    {
      name: 'runc',
      version: RUNC_VERSION,
      description: `runc v${RUNC_VERSION}, the OCI runtime containerd starts containers with`,
      activation: { kind: 'programs', usedBy: 'containerd (runtimes.runc.options.BinaryName)', directory: 'bin' },
      healthCheck: { kind: 'command', command: ['{dir}/bin/runc', '--version'] },
      requires: [],
    },
    {
      name: 'cni-plugins',
      version: CNI_PLUGINS_VERSION,
      description: `CNI plugins v${CNI_PLUGINS_VERSION}: bridge, host-local, loopback, portmap`,
      activation: { kind: 'programs', usedBy: 'containerd CRI (cni.bin_dirs)', directory: 'bin' },
      healthCheck: { kind: 'command', command: ['{dir}/bin/bridge', '--version'] },
      requires: [],
    },
    {
      name: 'containerd',
      version: CONTAINERD_VERSION,
      description: `containerd v${CONTAINERD_VERSION} with its runc shim and ctr`,
      activation: { kind: 'service', service: 'containerd', executable: 'bin/containerd' },
      healthCheck: { kind: 'command', command: ['{dir}/bin/ctr', '--address', CONTAINERD_SOCKET, 'version'] },
      requires: ['runc', 'cni-plugins'],
    },
    images('pause', PAUSE_VERSION, `registry.k8s.io/pause:${PAUSE_VERSION}`, `the pod sandbox image, Kubernetes' pause.c ${PAUSE_VERSION}`),
    images('demo', '1.0', 'tessera.dev/demo:1.0', 'a demo image: busybox shell and wget, HTTP on :8080 answering with the pod name'),
  ];
  for (const version of catalogueKubernetesVersions()) {
    packages.push(kubeletPackage(version));
    packages.push(images('kube-proxy', version, `registry.k8s.io/kube-proxy:v${version}`, `kube-proxy v${version} image (with iptables), run by the guest's kube-proxy DaemonSet`));
  }
  for (const version of new Set(VERSION_CATALOGUE.map((entry) => entry.coredns))) {
    packages.push(images('coredns', version, `registry.k8s.io/coredns/coredns:v${version}`, `CoreDNS v${version} image, run by the guest's CoreDNS Deployment`));
  }
  packages.push({
    ...kubeletPackage(BROKEN_KUBELET_VERSION),
    description: `a kubelet that installs but never becomes healthy (exits at start), for trying rollbacks and remediation`,
    broken: { reason: 'bin/kubelet exits with status 1 at start: the service never answers its health check' },
  });
  return packages;
}

export function findPackage(name: string, version: string): PackageDefinition {
  const known = catalogue();
  const found = known.find((entry) => entry.name === name && entry.version === version);
  if (found) return found;
  const versions = known.filter((entry) => entry.name === name).map((entry) => entry.version);
  if (versions.length === 0) throw new Error(`package "${name}" is not in the catalogue: known packages are ${[...new Set(known.map((entry) => entry.name))].join(', ')}`);
  throw new Error(`package ${name} has no version "${version}": known versions are ${versions.join(', ')}`);
}
