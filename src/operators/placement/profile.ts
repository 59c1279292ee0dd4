// ClusterProfiles as pure functions: check a template, merge it under a Cluster's own spec, and
// decide which template a Cluster uses. The template a Cluster was created with is kept on the
// Cluster itself (annotation tessera.dev/applied-profile, written by the profile controller), so
// a profile change reaches a running guest only when the profile's updatePolicy is Rollout, and
// the effective spec is a function of the Cluster object alone.
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ClusterSpecSchema, type Cluster, type ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import type { ClusterProfile } from '../../api/v1alpha1/cluster-profile.ts';

export const APPLIED_PROFILE_ANNOTATION = 'tessera.dev/applied-profile';

export type AppliedProfile = { name: string; generation: number; template: Record<string, unknown> };

const TemplateSchema = Type.Partial(ClusterSpecSchema);
const knownFields = new Set(Object.keys(ClusterSpecSchema.properties));

/** What is wrong with a template, each naming the field (spec.template.<path>) and what it must be. */
export function checkProfileTemplate(template: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(template)) {
    if (!knownFields.has(key)) problems.push(`spec.template.${key} is not a Cluster spec field (known: ${[...knownFields].join(', ')})`);
  }
  for (const error of Value.Errors(TemplateSchema, template)) {
    const path = error.path.replace(/^\//, '').replaceAll('/', '.');
    problems.push(`spec.template.${path}: ${error.message}${error.schema.description ? ` (${error.schema.description.split('. ')[0]})` : ''}`);
    if (problems.length >= 10) break;
  }
  return problems;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `own` over `template`: objects merge field by field, anything else (lists included) set in `own` wins whole. */
export function mergeUnder(template: Record<string, unknown>, own: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = structuredClone(template);
  for (const [key, value] of Object.entries(own)) {
    if (value === undefined) continue;
    const base = merged[key];
    merged[key] = isPlainObject(base) && isPlainObject(value) ? mergeUnder(base, value) : structuredClone(value);
  }
  return merged;
}

/**
 * `value` without the fields that equal their schema default. The API server fills defaults into
 * every Cluster it stores (mode Standard, certificate lifetimes, network ranges), so a field at
 * its default cannot be told from one the user left out; it must not hide the profile's value.
 * (The cost: a user who writes the default explicitly still gets the profile's value.)
 */
export function withoutSchemaDefaults(value: unknown, schema: TSchema): unknown {
  if (!isPlainObject(value)) return value;
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!properties) return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const childSchema = properties[key];
    if (!childSchema) {
      result[key] = child;
      continue;
    }
    const stripped = withoutSchemaDefaults(child, childSchema);
    const defaultValue = (childSchema as { default?: unknown }).default;
    const isDefault = defaultValue !== undefined && sameJson(stripped, defaultValue);
    const emptyObject = isPlainObject(stripped) && Object.keys(stripped).length === 0 && isPlainObject(child) && Object.keys(child).length > 0;
    if (!isDefault && !emptyObject) result[key] = stripped;
  }
  return result;
}

export function readAppliedProfile(cluster: Pick<Cluster, 'metadata'>): AppliedProfile | undefined {
  const text = cluster.metadata.annotations?.[APPLIED_PROFILE_ANNOTATION];
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as AppliedProfile;
    return isPlainObject(value) && typeof value.name === 'string' && isPlainObject(value.template) ? value : undefined;
  } catch {
    return undefined;
  }
}

export type EffectiveSpec = { ready: true; spec: ClusterSpec } | { ready: false; reason: 'ProfileNotApplied'; message: string };

/**
 * The spec a Cluster runs with: its own fields over the template it was created with. A Cluster
 * naming a profile whose template has not been recorded yet is not ready: provisioning it now
 * and again once the template arrives would roll it for nothing.
 */
export function effectiveClusterSpec(cluster: Pick<Cluster, 'metadata' | 'spec'>): EffectiveSpec {
  const profile = cluster.spec.profile;
  if (profile === undefined) return { ready: true, spec: cluster.spec };
  const applied = readAppliedProfile(cluster);
  if (!applied || applied.name !== profile) {
    return { ready: false, reason: 'ProfileNotApplied', message: `waiting for ClusterProfile ${profile} to be applied (create it if it does not exist: kubectl get clusterprofiles)` };
  }
  const own = withoutSchemaDefaults(cluster.spec, ClusterSpecSchema) as Record<string, unknown>;
  return { ready: true, spec: mergeUnder(applied.template, own) as ClusterSpec };
}

function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown =>
    isPlainObject(value) ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical(value[key])])) : Array.isArray(value) ? value.map(canonical) : value;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

export type ProfileDecision =
  | { write: true; applied: AppliedProfile; reason: 'ProfileApplied' | 'ProfileRolledOut' }
  | { write: false; pending: boolean };

/** Whether the Cluster's recorded template should change now. */
export function decideAppliedProfile(cluster: Pick<Cluster, 'metadata' | 'spec'>, profile: ClusterProfile): ProfileDecision {
  const current = readAppliedProfile(cluster);
  const generation = profile.metadata.generation ?? 0;
  const fresh: AppliedProfile = { name: profile.metadata.name, generation, template: profile.spec.template };
  if (!current || current.name !== profile.metadata.name) return { write: true, applied: fresh, reason: 'ProfileApplied' };
  if (sameJson(current.template, profile.spec.template)) return { write: false, pending: false };
  if (profile.spec.updatePolicy === 'Rollout') return { write: true, applied: fresh, reason: 'ProfileRolledOut' };
  return { write: false, pending: true };
}
