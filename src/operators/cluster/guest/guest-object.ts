// The shape of every object Tessera keeps inside a guest cluster, and the labels they all carry.
// Renderers return plain objects of this shape; apply-to-guest.ts turns them into API paths.

export type GuestObjectMetadata = {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

/** A Kubernetes object as sent with server-side apply: apiVersion, kind, metadata, then its fields. */
export type GuestObject = {
  apiVersion: string;
  kind: string;
  metadata: GuestObjectMetadata;
  [field: string]: unknown;
};

/** On every object Tessera keeps in a guest; pruning only ever selects objects that carry it. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'tessera';

export const KUBE_SYSTEM = 'kube-system';
export const KUBE_PUBLIC = 'kube-public';

export function guestMetadata(name: string, namespace?: string, labels: Record<string, string> = {}): GuestObjectMetadata {
  const metadata: GuestObjectMetadata = { name, labels: { ...labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } };
  if (namespace !== undefined) metadata.namespace = namespace;
  return metadata;
}

/** "Kind namespace/name" or "Kind name": how errors and results name an object. */
export function guestObjectKey(object: { kind: string; metadata: { name: string; namespace?: string } }): string {
  const { name, namespace } = object.metadata;
  return namespace === undefined ? `${object.kind} ${name}` : `${object.kind} ${namespace}/${name}`;
}
