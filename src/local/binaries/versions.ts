// The pinned upstream versions, and for each component: the Go package that builds it, the
// wrapper module under tools/upstream/ that pins its dependencies, and where its official
// release lives. Bumping a version means editing this file and the wrapper module (see
// tools/upstream/README.md); nothing else in Tessera names a version.
import { fileURLToPath } from 'node:url';

export type Component =
  | 'etcd'
  | 'etcdctl'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubectl'
  | 'kwok';

export const COMPONENTS: readonly Component[] = [
  'etcd',
  'etcdctl',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
];

export const KUBERNETES_COMPONENTS: readonly Component[] = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
];

/** Newest first: the newest minor the Go module proxy serves, then the previous minor. */
export const KUBERNETES_VERSIONS = ['1.37.2', '1.36.3'] as const;
export type KubernetesVersion = (typeof KUBERNETES_VERSIONS)[number];
export const DEFAULT_KUBERNETES_VERSION: KubernetesVersion = KUBERNETES_VERSIONS[0];

export const ETCD_VERSION = '3.7.3';
export const KWOK_VERSION = '0.8.0';

/**
 * The etcd each Kubernetes minor runs with. kubeadm v1.37.2
 * (cmd/kubeadm/app/constants/constants.go) supports etcd 3.7.0-0 for 1.34 to 1.36 and, for 1.37,
 * falls back to the nearest entry and its DefaultEtcdVersion, also 3.7.0-0; 3.7.3 is the newest
 * patch of that minor. One etcd for both minors also means an upgrade between them never has
 * to change etcd.
 */
export const ETCD_VERSION_BY_KUBERNETES_MINOR: Readonly<Record<string, string>> = {
  '1.37': ETCD_VERSION,
  '1.36': ETCD_VERSION,
};

/**
 * When each pinned Kubernetes release was published (the Go module proxy's timestamp), stamped
 * as the binaries' buildDate so a source build reports the same date on every machine.
 */
const KUBERNETES_RELEASE_DATES: Readonly<Record<KubernetesVersion, string>> = {
  '1.37.2': '2026-10-27T12:01:04Z',
  '1.36.3': '2026-07-22T18:07:38Z',
};

/** tools/upstream/ in this checkout or installed package. */
export const UPSTREAM_MODULES_DIR = fileURLToPath(new URL('../../../tools/upstream/', import.meta.url));

/** How `go build` produces a component. Components with the same moduleDir build together. */
export interface GoBuild {
  /** Wrapper module directory, relative to tools/upstream/. */
  moduleDir: string;
  /** The main package `go build` compiles; its last path element names the binary. */
  goPackage: string;
  /** Linker flags: symbol stripping and the -X version stamps upstream's own build sets. */
  ldflags: readonly string[];
}

/** Where a published checksum for a release artifact comes from. */
export type ChecksumSource =
  /** A file holding just the hex SHA-256 (dl.k8s.io publishes `<binary>.sha256`). */
  | { kind: 'sha256-file'; url: string }
  /** A `sha256sum` listing, `<digest>  <name>` per line (etcd's SHA256SUMS). */
  | { kind: 'sha256sums'; url: string; entry: string }
  /** GitHub's release API, whose assets carry `digest: "sha256:..."` (kwok publishes no checksum file). */
  | { kind: 'github-asset-digest'; url: string; asset: string };

export interface ReleaseArtifact {
  url: string;
  checksum: ChecksumSource;
  /** For a .tar.gz: the member that is the binary. Absent when the URL is the binary itself. */
  archiveMember?: string;
}

export interface Platform {
  os: NodeJS.Platform;
  arch: NodeJS.Architecture;
}

export interface ComponentPin {
  component: Component;
  /** Version without a leading "v". */
  version: string;
  build: GoBuild;
  /** Undefined where upstream publishes no binary for the platform. */
  release: ReleaseArtifact | undefined;
}

/** Arguments that make each binary print its version. */
export const VERSION_ARGS: Readonly<Record<Component, readonly string[]>> = {
  etcd: ['--version'],
  etcdctl: ['version'],
  'kube-apiserver': ['--version'],
  'kube-controller-manager': ['--version'],
  'kube-scheduler': ['--version'],
  kubectl: ['version', '--client'],
  kwok: ['--version'],
};

/** The pin for a component at a Kubernetes version; etcd and kwok follow the table above. */
export type PinLookup = (component: Component, kubernetesVersion: string) => ComponentPin;

export function isKubernetesVersion(value: string): value is KubernetesVersion {
  return (KUBERNETES_VERSIONS as readonly string[]).includes(value);
}

/** "1.37.2" -> "1.37". */
export function minorOf(version: string): string {
  const [major, minor] = version.split('.');
  return `${major}.${minor}`;
}

export function etcdVersionFor(kubernetesVersion: string): string {
  const etcd = ETCD_VERSION_BY_KUBERNETES_MINOR[minorOf(kubernetesVersion)];
  if (etcd === undefined) {
    throw new Error(
      `no etcd version is pinned for Kubernetes ${kubernetesVersion}: add its minor to ETCD_VERSION_BY_KUBERNETES_MINOR in src/local/binaries/versions.ts`,
    );
  }
  return etcd;
}

/** Release downloads exist for Linux on amd64 and arm64; elsewhere the binaries are built. */
function releaseArch(platform: Platform): 'amd64' | 'arm64' | undefined {
  if (platform.os !== 'linux') return undefined;
  if (platform.arch === 'x64') return 'amd64';
  if (platform.arch === 'arm64') return 'arm64';
  return undefined;
}

export function kubernetesLdflags(version: KubernetesVersion): string[] {
  const [major, minor] = version.split('.');
  const stamps: Record<string, string> = {
    gitVersion: `v${version}`,
    gitMajor: major ?? '',
    gitMinor: minor ?? '',
    gitTreeState: 'clean',
    buildDate: KUBERNETES_RELEASE_DATES[version],
  };
  // hack/lib/version.sh stamps both packages: component-base for the servers, client-go for
  // clients such as kubectl.
  const packages = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'];
  return ['-s', '-w', ...packages.flatMap((pkg) => Object.entries(stamps).map(([key, value]) => `-X ${pkg}.${key}=${value}`))];
}

function kubernetesPin(component: Component, version: KubernetesVersion, platform: Platform): ComponentPin {
  const arch = releaseArch(platform);
  const url = `https://dl.k8s.io/release/v${version}/bin/linux/${arch}/${component}`;
  return {
    component,
    version,
    build: {
      moduleDir: `kubernetes-${minorOf(version)}`,
      goPackage: `k8s.io/kubernetes/cmd/${component}`,
      ldflags: kubernetesLdflags(version),
    },
    release: arch === undefined ? undefined : { url, checksum: { kind: 'sha256-file', url: `${url}.sha256` } },
  };
}

function etcdPin(component: 'etcd' | 'etcdctl', version: string, platform: Platform): ComponentPin {
  const arch = releaseArch(platform);
  const base = `https://github.com/etcd-io/etcd/releases/download/v${version}`;
  const archive = `etcd-v${version}-linux-${arch}`;
  const minor = minorOf(version);
  return {
    component,
    version,
    build: {
      moduleDir: `etcd-${minor}`,
      // Upstream's server main package is the root of go.etcd.io/etcd/server/v3, which `go build`
      // would name "server"; the wrapper's cmd/etcd is the same two lines under the right name.
      goPackage: component === 'etcd' ? 'tessera.dev/upstream/etcd/cmd/etcd' : 'go.etcd.io/etcd/etcdctl/v3',
      // go.etcd.io/etcd/api/v3/version.Version is already the module's release version.
      ldflags: ['-s', '-w'],
    },
    release:
      arch === undefined
        ? undefined
        : {
            url: `${base}/${archive}.tar.gz`,
            checksum: { kind: 'sha256sums', url: `${base}/SHA256SUMS`, entry: `${archive}.tar.gz` },
            archiveMember: `${archive}/${component}`,
          },
  };
}

function kwokPin(version: string, platform: Platform): ComponentPin {
  const arch = releaseArch(platform);
  const asset = `kwok-linux-${arch}`;
  return {
    component: 'kwok',
    version,
    build: {
      moduleDir: 'kwok',
      goPackage: 'sigs.k8s.io/kwok/cmd/kwok',
      ldflags: ['-s', '-w', `-X sigs.k8s.io/kwok/pkg/consts.Version=${version}`],
    },
    release:
      arch === undefined
        ? undefined
        : {
            url: `https://github.com/kubernetes-sigs/kwok/releases/download/v${version}/${asset}`,
            checksum: {
              kind: 'github-asset-digest',
              url: `https://api.github.com/repos/kubernetes-sigs/kwok/releases/tags/v${version}`,
              asset,
            },
          },
  };
}

/** The pinned build and release of a component for a Kubernetes version. */
export function pinFor(
  component: Component,
  kubernetesVersion: string,
  platform: Platform = { os: process.platform, arch: process.arch },
): ComponentPin {
  if (!isKubernetesVersion(kubernetesVersion)) {
    throw new Error(
      `Kubernetes version "${kubernetesVersion}" is not pinned: use one of ${KUBERNETES_VERSIONS.join(', ')}`,
    );
  }
  switch (component) {
    case 'etcd':
    case 'etcdctl':
      return etcdPin(component, etcdVersionFor(kubernetesVersion), platform);
    case 'kwok':
      return kwokPin(KWOK_VERSION, platform);
    case 'kube-apiserver':
    case 'kube-controller-manager':
    case 'kube-scheduler':
    case 'kubectl':
      return kubernetesPin(component, kubernetesVersion, platform);
  }
}
