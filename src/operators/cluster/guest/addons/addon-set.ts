// Which addons a guest runs, at which version, and the label that ties each rendered object to
// its addon. Adding an addon means a file beside this one and one entry in ADDONS.
import type { GuestClusterSpec, GuestEndpoint } from '../guest-cluster-spec.ts';
import type { GuestObject } from '../guest-object.ts';
import { coreDnsVersionFor, renderCoreDns } from './coredns.ts';
import { renderKubeProxy } from './kube-proxy.ts';

/**
 * On every addon object, value = the addon's name. Pruning selects on it, so an addon that is
 * disabled or removed from spec.addons loses its objects, and nothing else does.
 */
export const ADDON_LABEL = 'tessera.dev/addon';

type AddonDefinition = {
  enabledByDefault: boolean;
  defaultVersion: (spec: GuestClusterSpec) => string;
  render: (spec: GuestClusterSpec, version: string, endpoint: GuestEndpoint) => GuestObject[];
};

const ADDONS = {
  coredns: {
    enabledByDefault: true,
    defaultVersion: (spec) => coreDnsVersionFor(spec.version),
    render: (spec, version) => renderCoreDns({ version, clusterDomain: spec.network.clusterDomain, serviceCIDR: spec.network.serviceCIDR }),
  },
  'kube-proxy': {
    enabledByDefault: true,
    // kube-proxy may not be newer than the API server; the same version is what kubeadm runs.
    defaultVersion: (spec) => spec.version,
    render: (spec, version, endpoint) =>
      renderKubeProxy({ version, proxyMode: spec.network.proxyMode, podCIDR: spec.network.podCIDR, server: endpoint.server }),
  },
} satisfies Record<string, AddonDefinition>;

export type AddonName = keyof typeof ADDONS;
export const ADDON_NAMES = Object.keys(ADDONS) as AddonName[];

export type EnabledAddon = { name: AddonName; version: string };

function isAddonName(name: string): name is AddonName {
  return Object.hasOwn(ADDONS, name);
}

/** The enabled addons with their versions, in ADDON_NAMES order; spec entries override defaults by name. */
export function resolveAddons(spec: GuestClusterSpec): EnabledAddon[] {
  const overrides = new Map<AddonName, { version?: string; enabled?: boolean }>();
  (spec.addons ?? []).forEach((entry, index) => {
    const field = `spec.addons[${index}]`;
    if (!isAddonName(entry.name)) throw new Error(`${field}.name ${JSON.stringify(entry.name)} is not an addon Tessera knows; use one of ${ADDON_NAMES.join(', ')}`);
    if (overrides.has(entry.name)) throw new Error(`${field}.name ${entry.name} is listed twice; keep one entry per addon`);
    if (entry.version !== undefined && !/^\d+\.\d+\.\d+$/.test(entry.version)) {
      throw new Error(`${field}.version ${JSON.stringify(entry.version)} must be major.minor.patch without a leading v, e.g. "1.14.6"`);
    }
    overrides.set(entry.name, entry);
  });
  const enabled: EnabledAddon[] = [];
  for (const name of ADDON_NAMES) {
    const override = overrides.get(name);
    if (!(override?.enabled ?? ADDONS[name].enabledByDefault)) continue;
    enabled.push({ name, version: override?.version ?? ADDONS[name].defaultVersion(spec) });
  }
  return enabled;
}

/** One addon's objects, labelled ADDON_LABEL=<addon>, and its version; undefined when it is disabled. */
export function renderAddon(name: AddonName, spec: GuestClusterSpec, endpoint: GuestEndpoint): { version: string; objects: GuestObject[] } | undefined {
  const enabled = resolveAddons(spec).find((addon) => addon.name === name);
  if (!enabled) return undefined;
  const objects = ADDONS[name].render(spec, enabled.version, endpoint).map((object) => ({
    ...object,
    metadata: { ...object.metadata, labels: { ...object.metadata.labels, [ADDON_LABEL]: name } },
  }));
  return { version: enabled.version, objects };
}

/** Every object of every enabled addon, each labelled with ADDON_LABEL=<addon>. */
export function renderAddons(spec: GuestClusterSpec, endpoint: GuestEndpoint): GuestObject[] {
  return ADDON_NAMES.flatMap((name) => renderAddon(name, spec, endpoint)?.objects ?? []);
}
