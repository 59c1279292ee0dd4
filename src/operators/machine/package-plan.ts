// Which package versions a Machine should have: its Cluster's defaults with the Machine's
// overrides, each checked against the catalogue and the kubelet skew policy, and what differs from
// what the host reports. Pure: the tests read like the rules.
import { catalogue, findPackage, type PackageDefinition } from '../../node/catalogue.ts';
import { CNI_PLUGINS_VERSION, CONTAINERD_VERSION, PAUSE_VERSION, RUNC_VERSION } from '../../node/package-versions.ts';
import { catalogueEntry, compareVersions, parseVersion } from '../../api/v1alpha1/version-catalogue.ts';
import type { PackageVersion } from '../../api/v1alpha1/cluster-package-version.ts';
import type { InstalledPackage, PackageOverride } from '../../api/v1alpha1/machine.ts';

/** Install order: what others require first; images need containerd. */
export const PACKAGE_ORDER = ['runc', 'cni-plugins', 'containerd', 'pause', 'kubelet', 'kube-proxy', 'coredns', 'demo'] as const;

/** The kubelet may be up to this many minors older than the API server (upstream's skew policy), never newer. */
export const KUBELET_MAX_MINOR_SKEW = 3;

/** The catalogue's defaults for a guest at `kubernetesVersion` (what a new ClusterPackageVersion holds). */
export function defaultPackages(kubernetesVersion: string): PackageVersion[] {
  const entry = catalogueEntry(kubernetesVersion);
  if (!entry) throw new Error(`Kubernetes ${kubernetesVersion} is not in the version catalogue: no package defaults`);
  return [
    { name: 'runc', version: RUNC_VERSION },
    { name: 'cni-plugins', version: CNI_PLUGINS_VERSION },
    { name: 'containerd', version: CONTAINERD_VERSION },
    { name: 'pause', version: PAUSE_VERSION },
    { name: 'kubelet', version: kubernetesVersion },
    { name: 'kube-proxy', version: entry.kubeProxy },
    { name: 'coredns', version: entry.coredns },
    // Guests have no registry locally: the demo image of the docs and tests comes as a package.
    { name: 'demo', version: '1.0' },
  ];
}

export type PackagePlan =
  | { ok: true; packages: PackageDefinition[] }
  | { ok: false; field: string; message: string };

/** Defaults overlaid with overrides, validated; refusals name the field and the fix. */
export function planPackages(defaults: readonly PackageVersion[], overrides: readonly PackageOverride[], apiServerVersion: string, defaultsField = 'ClusterPackageVersion spec.packages'): PackagePlan {
  const chosen = new Map<string, { version: string; field: string }>();
  for (const [index, entry] of defaults.entries()) chosen.set(entry.name, { version: entry.version, field: `${defaultsField}[${index}]` });
  const known = new Set(catalogue().map((entry) => entry.name));
  for (const [index, override] of overrides.entries()) {
    if (!known.has(override.name)) return { ok: false, field: `spec.packages[${index}].name`, message: `spec.packages[${index}].name: package "${override.name}" is not in the catalogue: known packages are ${[...known].join(', ')}` };
    if (override.version !== undefined) chosen.set(override.name, { version: override.version, field: `spec.packages[${index}].version` });
  }
  const packages: PackageDefinition[] = [];
  for (const [name, { version, field }] of chosen) {
    try {
      packages.push(findPackage(name, version));
    } catch (error) {
      return { ok: false, field, message: `${field}: ${(error as Error).message}` };
    }
    if (name === 'kubelet') {
      const refusal = kubeletSkewRefusal(version, apiServerVersion);
      if (refusal) return { ok: false, field, message: `${field}: ${refusal}` };
    }
  }
  const rank = (name: string) => {
    const position = (PACKAGE_ORDER as readonly string[]).indexOf(name);
    return position === -1 ? PACKAGE_ORDER.length : position;
  };
  packages.sort((a, b) => rank(a.name) - rank(b.name));
  return { ok: true, packages };
}

/** Why a kubelet version may not run against this API server, or undefined when it may. */
export function kubeletSkewRefusal(kubeletVersion: string, apiServerVersion: string): string | undefined {
  const kubelet = parseVersion(kubeletVersion);
  const api = parseVersion(apiServerVersion);
  if (!kubelet || !api) return `cannot compare kubelet ${kubeletVersion} with the API server's ${apiServerVersion}`;
  if (compareVersions(kubeletVersion.replace(/-.*$/, ''), apiServerVersion) > 0) return `kubelet ${kubeletVersion} is newer than the guest's API server ${apiServerVersion}: upgrade the Cluster first`;
  if (api.minor - kubelet.minor > KUBELET_MAX_MINOR_SKEW) return `kubelet ${kubeletVersion} is more than ${KUBELET_MAX_MINOR_SKEW} minors older than the API server ${apiServerVersion}: choose 1.${api.minor - KUBELET_MAX_MINOR_SKEW} or newer`;
  return undefined;
}

/** The wanted packages whose version the host does not report. */
export function packagesToInstall(wanted: readonly PackageDefinition[], installed: readonly InstalledPackage[]): PackageDefinition[] {
  const have = new Map(installed.map((entry) => [entry.name, entry.version]));
  return wanted.filter((entry) => have.get(entry.name) !== entry.version);
}
