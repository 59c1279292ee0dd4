// kube-proxy's mode is chosen once (seed 000: it cannot be changed after creation), so the
// planner says what the choice means for the chosen Kubernetes version.
//
// ipvs is deprecated from Kubernetes 1.35 (KEP-5495, sig-network: no maintainers for the
// backend; kube-proxy logs a deprecation warning and the project points users to nftables).
// A cluster created with ipvs today is locked into a mode that upstream plans to remove.
import type { ProxyMode } from './cluster-plan.ts';
import type { Finding } from './finding.ts';

export const ipvsDeprecatedSince = { major: 1, minor: 35 } as const;

function minorVersion(version: string | undefined): { major: number; minor: number } | undefined {
  const match = version === undefined ? null : /^v?(\d+)\.(\d+)/.exec(version);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

export function checkProxyMode(proxyMode: ProxyMode | undefined, version: string | undefined, networkPath: string): Finding[] {
  const field = `${networkPath}.proxyMode`;
  if (proxyMode === undefined) {
    return [
      {
        severity: 'info',
        field,
        message: 'no proxy mode given: kube-proxy runs in iptables mode, its default',
        fix: `set ${field} to iptables or ipvs to choose explicitly; it cannot be changed later`,
      },
    ];
  }
  if (proxyMode !== 'ipvs') return [];
  const parsed = minorVersion(version);
  const deprecated =
    parsed === undefined ||
    parsed.major > ipvsDeprecatedSince.major ||
    (parsed.major === ipvsDeprecatedSince.major && parsed.minor >= ipvsDeprecatedSince.minor);
  if (!deprecated) return [];
  return [
    {
      severity: 'warning',
      field,
      message: `kube-proxy's ipvs mode is deprecated since Kubernetes ${ipvsDeprecatedSince.major}.${ipvsDeprecatedSince.minor} (KEP-5495) and the mode cannot be changed after creation`,
      fix: 'use iptables unless you need ipvs\'s schedulers; upstream directs ipvs users to nftables',
    },
  ];
}
