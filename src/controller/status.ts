// Status writes through the /status subresource, two ways:
// - applyStatus: server-side apply under a status field manager, skipped when the object as last
//   seen already shows that status, so a converged object costs no writes. The comparison covers
//   the fields this manager sent and the fields it owned before (per managedFields: apply removes
//   those when they are no longer sent); conditions compare by type, and a condition whose status
//   did not change keeps its old lastTransitionTime, so recomputing conditions with a fresh
//   clock is not a change.
// - updateStatusWithRetry: GET, mutate, PUT /status with the resourceVersion read, and on 409
//   Conflict start over (5 attempts, 10ms apart with jitter, as client-go's retry.DefaultRetry).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Condition } from './conditions.ts';
import type { KubeObject } from './informer.ts';
import { isConflict, type RestClient } from './rest-client.ts';

export type StatusObject<S> = KubeObject & { status?: S };

/**
 * Structural equality where absent, null, "", [] and objects of only empty values are all
 * "empty" and equal (the server drops empty optional fields of built-in types, so they must not
 * count as differences). false and 0 are values.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  const emptyA = isEmpty(a);
  const emptyB = isEmpty(b);
  if (emptyA || emptyB) return emptyA && emptyB;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => semanticEqual(item, b[index]));
  }
  if (typeof a === 'object' && typeof b === 'object') {
    const left = a as Record<string, unknown>;
    const right = b as Record<string, unknown>;
    for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) if (!semanticEqual(left[key], right[key])) return false;
    return true;
  }
  return a === b;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.values(value).every(isEmpty);
  return false;
}

type Owned = { fields: Set<string>; conditionTypes: Set<string> };

/** The status fields `fieldManager` owns through apply on the status subresource, per managedFields. */
export function ownedStatusFields(object: KubeObject | undefined, fieldManager: string): Owned | undefined {
  const entry = object?.metadata?.managedFields?.find((field) => field.manager === fieldManager && field.operation === 'Apply' && field.subresource === 'status');
  const status = (entry?.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.['f:status'];
  if (!status) return undefined;
  const fields = new Set(Object.keys(status).filter((key) => key.startsWith('f:')).map((key) => key.slice(2)));
  const conditionTypes = new Set<string>();
  for (const key of Object.keys((status['f:conditions'] as Record<string, unknown> | undefined) ?? {})) {
    if (!key.startsWith('k:')) continue;
    try {
      const type = (JSON.parse(key.slice(2)) as { type?: unknown }).type;
      if (typeof type === 'string') conditionTypes.add(type);
    } catch {
      // a list-map key of another shape: not a condition key
    }
  }
  return { fields, conditionTypes };
}

/** `desired` with the lastTransitionTime of each condition whose status has not changed since `current`. */
export function keepTransitionTimes<S extends object>(desired: S, current: object | undefined): S {
  const wanted = (desired as { conditions?: Condition[] }).conditions;
  const seen = (current as { conditions?: Condition[] } | undefined)?.conditions;
  if (!Array.isArray(wanted) || !Array.isArray(seen)) return desired;
  const conditions = wanted.map((condition) => {
    const previous = seen.find((item) => item.type === condition.type);
    return previous && previous.status === condition.status && previous.lastTransitionTime ? { ...condition, lastTransitionTime: previous.lastTransitionTime } : condition;
  });
  return { ...desired, conditions };
}

function withoutTransitionTime(condition: Condition | undefined): unknown {
  if (!condition) return undefined;
  const { lastTransitionTime: _ignored, ...rest } = condition;
  return rest;
}

/**
 * Whether applying `desired` under `fieldManager` would change `current`. Compared: every field
 * in `desired`, and every field the manager owned before; conditions by type, ignoring
 * lastTransitionTime, counting only conditions sent now or owned before (others belong to other managers).
 */
export function statusDiffers(desired: object, current: KubeObject & { status?: unknown }, fieldManager: string): boolean {
  const owned = ownedStatusFields(current, fieldManager);
  const want = desired as Record<string, unknown>;
  const have = (current.status ?? {}) as Record<string, unknown>;
  const fields = new Set([...Object.keys(want), ...(owned?.fields ?? [])]);
  for (const field of fields) {
    if (field === 'conditions' && (Array.isArray(want[field]) || Array.isArray(have[field]))) {
      const wanted = (want[field] ?? []) as Condition[];
      const seen = (have[field] ?? []) as Condition[];
      const types = new Set([...wanted.map((condition) => condition.type), ...(owned?.conditionTypes ?? [])]);
      for (const type of types) {
        const a = wanted.find((condition) => condition.type === type);
        const b = seen.find((condition) => condition.type === type);
        if (!semanticEqual(withoutTransitionTime(a), withoutTransitionTime(b))) return true;
      }
      continue;
    }
    if (!semanticEqual(want[field], have[field])) return true;
  }
  return false;
}

export type ApplyStatusRequest<T extends StatusObject<object>> = {
  /** The object's path, without "/status". */
  path: string;
  apiVersion: string;
  kind: string;
  /** The object as last seen (e.g. informer cache): names the target and is what "unchanged" is judged against. */
  current: T;
  /** Everything this manager says about status; fields it sent before and omits now are removed. */
  status: NonNullable<T['status']>;
  /** One manager per concern, e.g. "tessera-cluster-status". */
  fieldManager: string;
};

/**
 * Server-side applies `status` to `path`/status under `fieldManager` (forcing: status belongs
 * to the controller), unless `current` already shows it. The uid is sent too: built-in types then
 * refuse (422, "field is immutable") a status meant for a deleted object that landed on a new
 * one of the same name. Custom resources ignore metadata on /status, so there the new object's
 * own events bring the next reconcile, which writes its correct status.
 */
export async function applyStatus<T extends StatusObject<object>>(client: RestClient, request: ApplyStatusRequest<T>): Promise<{ written: boolean; object: T }> {
  const { current } = request;
  const name = current.metadata?.name;
  if (!name) throw new Error(`applyStatus ${request.path}: current.metadata.name is missing; pass the object as read from the server`);
  const status = keepTransitionTimes(request.status, current.status);
  if (!statusDiffers(status, current, request.fieldManager)) return { written: false, object: current };
  const metadata: Record<string, string> = { name };
  if (current.metadata?.namespace) metadata['namespace'] = current.metadata.namespace;
  if (current.metadata?.uid) metadata['uid'] = current.metadata.uid;
  const object = await client.apply<T>(`${request.path}/status`, { apiVersion: request.apiVersion, kind: request.kind, metadata, status }, request.fieldManager, true);
  return { written: true, object };
}

/**
 * Reads the object at `path`, lets `mutate` change its status (return a new object or change the
 * one given), and PUTs it to `path`/status; on 409 Conflict it reads again and repeats, up to
 * `attempts` (default 5). Writes nothing when the status came out unchanged.
 */
export async function updateStatusWithRetry<T extends StatusObject<unknown>>(
  client: RestClient,
  path: string,
  mutate: (object: T) => T | void | Promise<T | void>,
  options: { attempts?: number; delayMs?: number } = {},
): Promise<{ written: boolean; object: T; attempts: number }> {
  const attempts = options.attempts ?? 5;
  const delayMs = options.delayMs ?? 10;
  for (let attempt = 1; ; attempt++) {
    const fresh = await client.get<T>(path);
    const draft = structuredClone(fresh);
    const next = (await mutate(draft)) ?? draft;
    if (semanticEqual(next.status, fresh.status)) return { written: false, object: fresh, attempts: attempt };
    try {
      return { written: true, object: await client.replace<T>(`${path}/status`, next), attempts: attempt };
    } catch (error) {
      if (!isConflict(error) || attempt >= attempts) throw error;
      await sleep(delayMs * (1 + Math.random() * 0.1));
    }
  }
}
