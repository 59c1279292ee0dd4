// The operator's own check of what the API server already refuses (protected flags, control
// characters in extraArgs): a CRD older than the operator, or an object written around
// validation, must still never override the platform's flags. Offending entries are left out of
// what is rendered, and the SpecValid condition names each one.
import type { DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { CONTROL_PLANE_COMPONENT_NAMES, extraArgsViolations } from '../../api/v1alpha1/protected-flags.ts';

export function withoutRefusedExtraArgs(spec: DefaultedClusterSpec): { spec: DefaultedClusterSpec; violations: string[] } {
  const violations = extraArgsViolations(spec);
  if (violations.length === 0) return { spec, violations };
  const controlPlane = { ...spec.controlPlane };
  for (const component of CONTROL_PLANE_COMPONENT_NAMES) {
    const kept = Object.entries(controlPlane[component].extraArgs).filter(([key, value]) => extraArgsViolations({ controlPlane: { [component]: { extraArgs: { [key]: value } } } }).length === 0);
    controlPlane[component] = { ...controlPlane[component], extraArgs: Object.fromEntries(kept) } as never;
  }
  return { spec: { ...spec, controlPlane }, violations };
}
