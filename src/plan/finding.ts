// A finding is one thing the planner has to say about a plan. `field` is a dotted path into the
// input document (e.g. `spec.cluster.network.serviceCIDR`, `spec.vpc.zones[1].vswitchCIDR`) so an
// editor, the console or an admission response can point at the exact place; `fix` says what to
// write instead.
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  field: string;
  message: string;
  fix: string;
}

const severityOrder: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then warnings, then information; the order within a severity is kept. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => severityOrder[a.finding.severity] - severityOrder[b.finding.severity] || a.index - b.index)
    .map(({ finding }) => finding);
}

export function countFindings(findings: readonly Finding[]): { errors: number; warnings: number; infos: number } {
  return {
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    infos: findings.filter((f) => f.severity === 'info').length,
  };
}
