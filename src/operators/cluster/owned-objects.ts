// Writing owned objects: server-side apply under the operator's field manager, and only when the
// live object (from the informer cache) differs from the desired one, so a converged guest
// costs no writes. "Differs" means some field we set has another value; fields the API server
// defaults or other managers own are not ours to compare.
import type { RestClient } from '../../controller/rest-client.ts';
import { resourcePath } from '../../controller/rest-client.ts';
import { parseQuantity } from '../../plan/quantity.ts';

export const fieldManager = 'tessera-cluster-operator';

type Object = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } };

const resources: Record<string, { group?: string; version: string; resource: string }> = {
  'v1/Pod': { version: 'v1', resource: 'pods' },
  'v1/Service': { version: 'v1', resource: 'services' },
  'v1/Secret': { version: 'v1', resource: 'secrets' },
  'v1/PersistentVolumeClaim': { version: 'v1', resource: 'persistentvolumeclaims' },
  'apps/v1/Deployment': { group: 'apps', version: 'v1', resource: 'deployments' },
};

export function pathOf(object: Object): string {
  const resource = resources[`${object.apiVersion}/${object.kind}`];
  if (!resource) throw new Error(`no resource path known for ${object.apiVersion} ${object.kind}`);
  return resourcePath({ ...resource, namespace: object.metadata?.namespace, name: object.metadata?.name });
}

/** A zero value the API server omits when it serialises (Go's `omitempty`): false, 0, "", [], {}. */
function isOmittedZero(value: unknown): boolean {
  if (value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return value !== null && typeof value === 'object' && Object.values(value).every(isOmittedZero);
}

/** Maps whose values are resource quantities, which the API server stores in canonical form ("1024Mi" as "1Gi"). */
const QUANTITY_MAPS = new Set(['requests', 'limits', 'capacity', 'hard']);

function sameQuantity(desired: unknown, live: unknown): boolean {
  if (typeof desired !== 'string' || typeof live !== 'string') return false;
  const value = parseQuantity(desired);
  return value !== undefined && value === parseQuantity(live);
}

/**
 * The path of the first field set in `desired` whose value `live` does not have (e.g.
 * `spec.template.spec.containers[0].resources.requests.cpu`), or undefined when every one matches.
 */
export function firstDifference(desired: unknown, live: unknown, path = '', key = '', inQuantityMap = false): string | undefined {
  if (desired === undefined) return undefined;
  if (live === undefined && isOmittedZero(desired)) return undefined;
  if (desired === null || typeof desired !== 'object') return desired === live || (inQuantityMap && sameQuantity(desired, live)) ? undefined : path || '.';
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || desired.length !== live.length) return path || '.';
    for (const [index, item] of desired.entries()) {
      const difference = firstDifference(item, live[index], `${path}[${index}]`);
      if (difference !== undefined) return difference;
    }
    return undefined;
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return path || '.';
  const quantities = QUANTITY_MAPS.has(key);
  for (const [field, value] of Object.entries(desired as Record<string, unknown>)) {
    const difference = firstDifference(value, (live as Record<string, unknown>)[field], path ? `${path}.${field}` : field, field, quantities);
    if (difference !== undefined) return difference;
  }
  return undefined;
}

/** True when every field set in `desired` has the same value in `live`. */
export function isSubset(desired: unknown, live: unknown): boolean {
  return firstDifference(desired, live) === undefined;
}

/** Applies `desired` unless `live` already matches it; returns the object the server returned, or `live`. */
export async function applyIfChanged<T>(client: Pick<RestClient, 'apply'>, desired: Object, live: T | undefined): Promise<{ object: T; written: boolean }> {
  if (live !== undefined && isSubset(desired, live)) return { object: live, written: false };
  const object = await client.apply<T>(pathOf(desired), desired, fieldManager, true);
  return { object, written: true };
}
