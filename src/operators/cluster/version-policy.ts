// Which Kubernetes version a guest may move to, decided purely from what it asks for, what its
// API servers run now and the version catalogue. The rules, after the Kubernetes version-skew
// policy and every managed service's upgrade rules:
//   - only catalogued releases (Tessera has tested images and binaries for nothing else);
//   - no minor downgrade (etcd's and the API's storage formats only move forward);
//   - one minor at a time (the skew policy allows the control plane to span one minor only);
//     a skip is refused naming the intermediate release, rather than walked automatically, so a
//     platform team decides when each minor lands and sees each step finish;
//   - patch changes within a minor are allowed both ways.
// A refused change leaves the guest on what it runs: the operator keeps reconciling it at its
// current version and says why in the VersionSupported condition.
import type { DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';
import {
  VERSION_CATALOGUE,
  catalogueEntry,
  catalogueEtcdVersions,
  compareVersions,
  minorOf,
  parseVersion,
  supportedVersionsText,
  type CatalogueEntry,
} from '../../api/v1alpha1/version-catalogue.ts';

export type VersionRefusal = 'UnsupportedVersion' | 'MinorDowngrade' | 'MinorSkip' | 'SkewViolation';

export type VersionDecision =
  | { accepted: true; version: string; change: 'create' | 'none' | 'upgrade' | 'patch-downgrade'; message: string }
  | { accepted: false; reason: VersionRefusal; message: string };

export type VersionInput = {
  /** spec.version. */
  desired: string;
  /** The oldest version any API server of the guest runs or is rendered at; undefined for a new guest. */
  current: string | undefined;
  catalogue?: readonly CatalogueEntry[];
};

/** The next minor's newest catalogued release after `version`, to name in a refusal. */
function nextMinorRelease(version: string, catalogue: readonly CatalogueEntry[]): string | undefined {
  const parsed = parseVersion(version);
  if (!parsed) return undefined;
  const next = `${parsed.major}.${parsed.minor + 1}`;
  return catalogue.filter((entry) => minorOf(entry.kubernetes) === next).sort((a, b) => compareVersions(b.kubernetes, a.kubernetes))[0]?.kubernetes;
}

export function decideVersion(input: VersionInput): VersionDecision {
  const catalogue = input.catalogue ?? VERSION_CATALOGUE;
  const { desired, current } = input;
  if (!catalogueEntry(desired, catalogue)) {
    return {
      accepted: false,
      reason: 'UnsupportedVersion',
      message: `spec.version ${desired} is not a supported Kubernetes version; use one of ${supportedVersionsText(catalogue)}${current ? ` (the guest runs ${current})` : ''}`,
    };
  }
  // One message for a new guest and one at its version: "current" counts a Deployment rendered but
  // not yet running, so a message telling them apart changed (and cost a status write) on every
  // new guest without telling anyone anything. status.versions says what runs.
  if (current === undefined) return { accepted: true, version: desired, change: 'create', message: `Kubernetes ${desired} is supported` };
  if (compareVersions(desired, current) === 0) return { accepted: true, version: desired, change: 'none', message: `Kubernetes ${desired} is supported` };
  const from = parseVersion(current);
  const to = parseVersion(desired);
  if (!from || !to) return { accepted: false, reason: 'UnsupportedVersion', message: `the guest runs ${current}, which Tessera cannot compare with spec.version ${desired}` };
  const minorStep = (to.major - from.major) * 1000 + (to.minor - from.minor);
  if (minorStep < 0) {
    return {
      accepted: false,
      reason: 'MinorDowngrade',
      message: `spec.version ${desired} is a minor downgrade from ${current}, which Kubernetes does not support; set spec.version back to ${current} or a later ${minorOf(current)} patch`,
    };
  }
  if (minorStep > 1) {
    const step = nextMinorRelease(current, catalogue);
    return {
      accepted: false,
      reason: 'MinorSkip',
      message:
        `spec.version ${desired} skips a minor from ${current}; upgrade one minor at a time: ` +
        (step ? `set spec.version to ${step} first, then to ${desired} once it is done` : `no release of ${from.major}.${from.minor + 1} is catalogued (supported: ${supportedVersionsText(catalogue)})`),
    };
  }
  const downgrade = compareVersions(desired, current) < 0;
  return { accepted: true, version: desired, change: downgrade ? 'patch-downgrade' : 'upgrade', message: `${downgrade ? 'patch downgrade' : 'upgrade'} from ${current} to ${desired} allowed` };
}

/**
 * Per-component overrides must be catalogued too, and keep the skew policy between them:
 * controller-manager and scheduler never newer than the API server, nor more than one minor
 * older; etcd one of the catalogued etcd releases. Returns the first violation's message.
 */
export function componentOverrideViolation(spec: DefaultedClusterSpec, catalogue: readonly CatalogueEntry[] = VERSION_CATALOGUE): { reason: VersionRefusal; message: string } | undefined {
  const { apiServer, controllerManager, scheduler, etcd } = spec.controlPlane;
  const components = [
    ['spec.controlPlane.apiServer.version', apiServer.version],
    ['spec.controlPlane.controllerManager.version', controllerManager.version],
    ['spec.controlPlane.scheduler.version', scheduler.version],
  ] as const;
  for (const [field, version] of components) {
    if (version !== spec.version && !catalogueEntry(version, catalogue)) {
      return { reason: 'UnsupportedVersion', message: `${field} ${version} is not a supported Kubernetes version; use one of ${supportedVersionsText(catalogue)} or remove the override` };
    }
  }
  for (const [field, version] of components.slice(1)) {
    const apiMinor = parseVersion(apiServer.version);
    const own = parseVersion(version);
    if (!apiMinor || !own) continue;
    if (compareVersions(version, apiServer.version) > 0) {
      return { reason: 'SkewViolation', message: `${field} ${version} is newer than the API server (${apiServer.version}); the version-skew policy forbids it: lower it or remove the override` };
    }
    if ((apiMinor.major - own.major) * 1000 + (apiMinor.minor - own.minor) > 1) {
      return { reason: 'SkewViolation', message: `${field} ${version} is more than one minor older than the API server (${apiServer.version}); raise it or remove the override` };
    }
  }
  if (etcd.version !== undefined && !catalogueEtcdVersions(catalogue).includes(etcd.version.replace(/^v/, '').replace(/-\d+$/, ''))) {
    return { reason: 'UnsupportedVersion', message: `spec.controlPlane.etcd.version ${etcd.version} is not a supported etcd release; use one of ${catalogueEtcdVersions(catalogue).join(', ')} or remove the override` };
  }
  return undefined;
}
