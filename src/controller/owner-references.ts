// Owner references, named after their Go counterparts (metav1.NewControllerRef,
// metav1.GetControllerOf, controllerutil.SetControllerReference). The controller reference ties
// an owned object to the one object responsible for it: the garbage collector (part of
// kube-controller-manager, so absent on a bare API server) deletes dependents with their owner,
// and controllers map changes of owned objects back to the owner's key.
import type { KubeObject } from './informer.ts';

export type OwnerReference = {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
};

/** Any object that may carry owner references. */
export type Owned = KubeObject;

type Owner = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; uid?: string } };

/** The group of an apiVersion: "" for the core group ("v1"). */
export function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** A controller reference to `owner`; its apiVersion, kind, name and uid must be set. */
export function newControllerRef(owner: Owner): OwnerReference {
  const { apiVersion, kind } = owner;
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  const missing = [!apiVersion && 'apiVersion', !kind && 'kind', !name && 'metadata.name', !uid && 'metadata.uid'].filter(Boolean);
  if (missing.length > 0 || !apiVersion || !kind || !name || !uid) {
    // Objects from a list lack apiVersion/kind; a uid exists only once the owner was created.
    throw new Error(`owner reference needs ${missing.join(', ')} of the owner ${kind ?? '?'} "${name ?? '?'}": set apiVersion/kind on listed objects and use the object as the server returned it`);
  }
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** The reference with `controller: true`, if any (there is at most one). */
export function getControllerOf(object: Owned): OwnerReference | undefined {
  return object.metadata?.ownerReferences?.find((reference) => reference.controller === true);
}

/** Whether `owner` (by uid) is the controller of `object`. */
export function isControlledBy(object: Owned, owner: Owner): boolean {
  const uid = owner.metadata?.uid;
  return uid !== undefined && getControllerOf(object)?.uid === uid;
}

/**
 * Returns `object` with a controller reference to `owner` (replacing an older reference to the
 * same owner). Refuses what the API server or the garbage collector would get wrong: an owner in
 * another namespace, a namespaced owner of a cluster-scoped object, or a second controller.
 */
export function setControllerReference<T extends Owned>(owner: Owner, object: T): T {
  const reference = newControllerRef(owner);
  const ownerNamespace = owner.metadata?.namespace;
  const objectNamespace = object.metadata?.namespace;
  const what = `${object.kind ?? 'object'} "${object.metadata?.name ?? '?'}"`;
  if (ownerNamespace && !objectNamespace) {
    throw new Error(`${what} is cluster-scoped and cannot be owned by the namespaced ${reference.kind} "${ownerNamespace}/${reference.name}": use a cluster-scoped owner`);
  }
  if (ownerNamespace && objectNamespace && ownerNamespace !== objectNamespace) {
    throw new Error(`${what} in namespace "${objectNamespace}" cannot be owned by ${reference.kind} "${reference.name}" in namespace "${ownerNamespace}": owners must share the namespace`);
  }
  const existing = getControllerOf(object);
  if (existing && existing.uid !== reference.uid) {
    throw new Error(`${what} is already controlled by ${existing.kind} "${existing.name}" (uid ${existing.uid}): remove that reference first or leave the object to its controller`);
  }
  const others = (object.metadata?.ownerReferences ?? []).filter((ref) => !(ref.uid === reference.uid || (apiGroupOf(ref.apiVersion) === apiGroupOf(reference.apiVersion) && ref.kind === reference.kind && ref.name === reference.name)));
  return { ...object, metadata: { ...object.metadata, ownerReferences: [...others, reference] } };
}

/** An informer index function: the uids of all owners, to list an owner's objects from the cache. */
export function ownerUidIndex(object: Owned): string[] {
  return (object.metadata?.ownerReferences ?? []).map((reference) => reference.uid);
}

/**
 * The queue key of the controller owner of `object` when it is of `ownerKind` (and `apiGroup`,
 * when given): "namespace/name" of the owner in the object's namespace, or "name" when the owner
 * is cluster-scoped or the object itself is.
 */
export function controllerOwnerKey(object: Owned, ownerKind: string, options: { apiGroup?: string; clusterScopedOwner?: boolean } = {}): string | undefined {
  const reference = getControllerOf(object);
  if (!reference || reference.kind !== ownerKind) return undefined;
  if (options.apiGroup !== undefined && apiGroupOf(reference.apiVersion) !== options.apiGroup) return undefined;
  const namespace = object.metadata?.namespace;
  return namespace && !options.clusterScopedOwner ? `${namespace}/${reference.name}` : reference.name;
}
