// The versions Tessera supports: each Kubernetes release with the etcd, CoreDNS and kube-proxy
// it runs with. This is the one place these facts live: the CRD's documentation, the Cluster
// operator's version rules and images, `tessera plan`, and the local binaries (which build
// exactly these Kubernetes releases) all read it. Adding a release means adding an entry here
// and, for the embedded default, its wrapper module under tools/upstream/.

export type CatalogueEntry = {
  /** Kubernetes release, MAJOR.MINOR.PATCH without a leading v. */
  kubernetes: string;
  /**
   * etcd for this release. kubeadm v1.37.2 (cmd/kubeadm/app/constants) pairs 1.34 to 1.37 with
   * etcd 3.7.x; 3.7.3 is that minor's newest patch. One etcd for both minors also means an
   * upgrade between them never has to restart etcd.
   */
  etcd: string;
  /** CoreDNS kubeadm ships with this minor (cmd/kubeadm/app/constants CoreDNSVersion). */
  coredns: string;
  /** kube-proxy runs the Kubernetes release itself (it may not be newer than the API server). */
  kubeProxy: string;
};

/** Newest first. */
export const VERSION_CATALOGUE: readonly CatalogueEntry[] = [
  { kubernetes: '1.37.2', etcd: '3.7.3', coredns: '1.14.6', kubeProxy: '1.37.2' },
  { kubernetes: '1.36.3', etcd: '3.7.3', coredns: '1.14.2', kubeProxy: '1.36.3' },
];

export const DEFAULT_KUBERNETES_VERSION = VERSION_CATALOGUE[0]?.kubernetes ?? '';

/** The Kubernetes releases of the catalogue, newest first. */
export function catalogueKubernetesVersions(catalogue: readonly CatalogueEntry[] = VERSION_CATALOGUE): string[] {
  return catalogue.map((entry) => entry.kubernetes);
}

/** Every etcd version some catalogued release runs; an etcd override must be one of these. */
export function catalogueEtcdVersions(catalogue: readonly CatalogueEntry[] = VERSION_CATALOGUE): string[] {
  return [...new Set(catalogue.map((entry) => entry.etcd))];
}

export function catalogueEntry(kubernetesVersion: string, catalogue: readonly CatalogueEntry[] = VERSION_CATALOGUE): CatalogueEntry | undefined {
  return catalogue.find((entry) => entry.kubernetes === kubernetesVersion);
}

/** One sentence for CRD descriptions and error messages: "1.37.2, 1.36.3". */
export function supportedVersionsText(catalogue: readonly CatalogueEntry[] = VERSION_CATALOGUE): string {
  return catalogueKubernetesVersions(catalogue).join(', ');
}

// --- Comparing versions -------------------------------------------------------------------------

export type ParsedVersion = { major: number; minor: number; patch: number };

/** "1.37.2" (an optional leading v and a "-N" build suffix, as in etcd image tags, are ignored). */
export function parseVersion(version: string): ParsedVersion | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.]+)?$/.exec(version);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** Negative when a < b, 0 when equal, positive when a > b; unparsable versions sort first. */
export function compareVersions(a: string, b: string): number {
  const left = parseVersion(a);
  const right = parseVersion(b);
  if (!left || !right) return (left ? 1 : 0) - (right ? 1 : 0);
  return left.major - right.major || left.minor - right.minor || left.patch - right.patch;
}

/** "1.37" of "1.37.2". */
export function minorOf(version: string): string | undefined {
  const parsed = parseVersion(version);
  return parsed ? `${parsed.major}.${parsed.minor}` : undefined;
}

/** The oldest of `versions` (undefined when empty). */
export function oldestVersion(versions: Iterable<string>): string | undefined {
  let oldest: string | undefined;
  for (const version of versions) if (oldest === undefined || compareVersions(version, oldest) < 0) oldest = version;
  return oldest;
}
