// Adding and removing one finalizer without disturbing anybody else's.
//
// How: a JSON patch that appends to (or removes exact indexes from) metadata.finalizers and also
// replaces metadata.resourceVersion with the version the list was read at. The server treats that
// version as a precondition, so if the object changed since, it answers 409 Conflict; we then
// re-read and try again (up to 5 times, as client-go's retry.RetryOnConflict). Both functions are
// idempotent: when the object already has (or lacks) the finalizer, they write nothing.
//
// Why not a `test` op on resourceVersion: a failed test comes back as a bare 422 "Invalid" with no
// details, indistinguishable from a real rejection such as "no new finalizers can be added if the
// object is being deleted", so a conflict could not be told apart and retried.
// Why not server-side apply under a finalizer-only field manager: it needs no retries, but removal
// only drops our manager's claim; when another manager also owns the item (e.g. it was added
// earlier by a plain update, which records that manager as owner of the list item), the
// finalizer silently stays and deletion hangs. Apply also creates an object that is gone unless
// its uid is sent. The patch fails loudly instead: 404 if the object is gone, 409 if it moved.
import type { KubeObject } from './informer.ts';
import { isConflict, isNotFound, type RestClient } from './rest-client.ts';

const maxAttempts = 5;

export function hasFinalizer(object: KubeObject | undefined, finalizer: string): boolean {
  return object?.metadata?.finalizers?.includes(finalizer) ?? false;
}

function checkArguments(path: string, finalizer: string): void {
  if (!finalizer) throw new Error('finalizer name is empty: use a domain-qualified name such as "tessera.dev/cluster-cleanup"');
  if (/\/status\/?$/.test(path)) throw new Error(`finalizers live in metadata: patch the object (${path.replace(/\/status\/?$/, '')}), not its /status`);
}

async function reread<T extends KubeObject>(client: RestClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Ensures `finalizer` is on the object at `path`. `object` is the last known state (e.g. from
 * the informer cache); a stale one only costs a retry. Returns the object as written (or
 * `object` itself when nothing had to change). Refuses an object that is already being deleted:
 * the API server forbids new finalizers then, and the caller should run its cleanup instead.
 */
export async function addFinalizer<T extends KubeObject>(client: RestClient, path: string, object: T, finalizer: string): Promise<T> {
  checkArguments(path, finalizer);
  let current: T | undefined = object;
  for (let attempt = 1; ; attempt++) {
    if (!current) throw new Error(`cannot add finalizer "${finalizer}": ${path} does not exist`);
    if (hasFinalizer(current, finalizer)) return current;
    if (current.metadata?.deletionTimestamp) {
      throw new Error(`cannot add finalizer "${finalizer}" to ${path}: it is being deleted (deletionTimestamp set); add finalizers before creating external resources, and clean up instead`);
    }
    const resourceVersion = current.metadata?.resourceVersion;
    if (!resourceVersion) {
      current = await reread<T>(client, path);
      continue;
    }
    const list = current.metadata?.finalizers;
    const patch = [
      { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
      list ? { op: 'add', path: '/metadata/finalizers/-', value: finalizer } : { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
    ];
    try {
      return await client.patch<T>(path, patch, 'json');
    } catch (error) {
      if (!isConflict(error) || attempt >= maxAttempts) throw error;
      current = await reread<T>(client, path);
    }
  }
}

/**
 * Ensures `finalizer` is not on the object at `path` (every copy of it is removed). Returns the
 * object as written, `object` itself when nothing had to change, or `undefined` when the object
 * is gone (removing our finalizer may have been the last thing holding its deletion).
 */
export async function removeFinalizer<T extends KubeObject>(client: RestClient, path: string, object: T | undefined, finalizer: string): Promise<T | undefined> {
  checkArguments(path, finalizer);
  let current: T | undefined = object;
  for (let attempt = 1; ; attempt++) {
    if (!current || !hasFinalizer(current, finalizer)) return current;
    const resourceVersion = current.metadata?.resourceVersion;
    if (!resourceVersion) {
      current = await reread<T>(client, path);
      continue;
    }
    const indexes = (current.metadata?.finalizers ?? []).flatMap((name, index) => (name === finalizer ? [index] : [])).reverse();
    const patch = [{ op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion }, ...indexes.map((index) => ({ op: 'remove', path: `/metadata/finalizers/${index}` }))];
    try {
      const written = await client.patch<T>(path, patch, 'json');
      // The server deletes the object in the same step when this was the last finalizer.
      return written;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if (!isConflict(error) || attempt >= maxAttempts) throw error;
      current = await reread<T>(client, path);
    }
  }
}
