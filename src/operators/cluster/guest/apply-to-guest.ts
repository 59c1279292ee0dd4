// Writes rendered objects into a guest with server-side apply, and deletes the labelled ones that
// are no longer rendered.
//
// Cost of a converged guest: zero requests. Server-side apply of identical content is a no-op on
// the server (no new resourceVersion) but still a request, and 200 guests times ~20 objects per
// resync adds up. So per guest (keyed by its RestClient: the operator keeps one per guest) we
// remember a hash of the last set applied and of the last prune, and skip both when nothing
// changed. The price: drift made inside the guest by someone else (an addon object deleted by
// hand) is repaired only when the set changes or after forgetGuestApplyState(client), which the
// operator calls on its slow resync and whenever it builds a new client (a new or restored guest).
import { createHash } from 'node:crypto';
import { isNotFound, type RestClient } from '../../../controller/rest-client.ts';

/** The requests applying and pruning make; the RestClient, or a fake in unit tests. */
export type GuestClient = Pick<RestClient, 'get' | 'apply' | 'delete'>;
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, guestObjectKey, type GuestObject } from './guest-object.ts';

type GuestKind = {
  apiVersion: string;
  /** Plural resource name in the URL. */
  resource: string;
  namespaced: boolean;
  /**
   * Apply order: lower tiers first. Namespaces hold everything; ServiceAccounts and RBAC exist
   * before the pods that use them, ConfigMaps and Secrets before the pods that mount them.
   */
  tier: number;
};

/** The kinds Tessera renders into guests. A new kind needs an entry here. */
const GUEST_KINDS: Readonly<Record<string, GuestKind>> = {
  Namespace: { apiVersion: 'v1', resource: 'namespaces', namespaced: false, tier: 0 },
  ServiceAccount: { apiVersion: 'v1', resource: 'serviceaccounts', namespaced: true, tier: 1 },
  ClusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', resource: 'clusterroles', namespaced: false, tier: 2 },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', resource: 'roles', namespaced: true, tier: 2 },
  ClusterRoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', resource: 'clusterrolebindings', namespaced: false, tier: 3 },
  RoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', resource: 'rolebindings', namespaced: true, tier: 3 },
  ConfigMap: { apiVersion: 'v1', resource: 'configmaps', namespaced: true, tier: 4 },
  Secret: { apiVersion: 'v1', resource: 'secrets', namespaced: true, tier: 4 },
  Service: { apiVersion: 'v1', resource: 'services', namespaced: true, tier: 5 },
  Deployment: { apiVersion: 'apps/v1', resource: 'deployments', namespaced: true, tier: 6 },
  DaemonSet: { apiVersion: 'apps/v1', resource: 'daemonsets', namespaced: true, tier: 6 },
};

export const GUEST_KIND_NAMES = Object.keys(GUEST_KINDS);

function guestKind(kind: string, apiVersion?: string): GuestKind {
  const known = GUEST_KINDS[kind];
  if (known === undefined) throw new Error(`guest object kind ${JSON.stringify(kind)} is not one Tessera applies; add it to GUEST_KINDS in apply-to-guest.ts (known: ${GUEST_KIND_NAMES.join(', ')})`);
  if (apiVersion !== undefined && apiVersion !== known.apiVersion) {
    throw new Error(`guest object ${kind}: apiVersion ${JSON.stringify(apiVersion)} is not the served ${known.apiVersion}; render it with apiVersion ${known.apiVersion}`);
  }
  return known;
}

// "/api/v1" for the core group, "/apis/<group>/<version>" for the others.
function apiPrefix(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * The collection path of a kind: in `namespace` for namespaced kinds, or across all namespaces
 * when namespace is undefined (what listing for pruning needs).
 */
export function guestCollectionPath(kind: string, namespace?: string): string {
  const { apiVersion, resource, namespaced } = guestKind(kind);
  if (!namespaced && namespace !== undefined) throw new Error(`${kind} is cluster-scoped: render it without metadata.namespace`);
  const scope = namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${apiPrefix(apiVersion)}${scope}/${resource}`;
}

/** The path of one object, e.g. /api/v1/namespaces/kube-system/configmaps/coredns. */
export function guestObjectPath(object: { apiVersion?: string; kind: string; metadata: { name: string; namespace?: string } }): string {
  const kind = guestKind(object.kind, object.apiVersion);
  const { name, namespace } = object.metadata;
  if (!name) throw new Error(`guest object ${object.kind}: metadata.name is required`);
  if (kind.namespaced && !namespace) throw new Error(`${guestObjectKey(object)}: metadata.namespace is required for the namespaced kind ${object.kind}`);
  return `${guestCollectionPath(object.kind, kind.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}

/** Objects grouped into apply tiers, lowest tier first; objects within a tier are independent. */
export function applyTiers(objects: readonly GuestObject[]): GuestObject[][] {
  const byTier = new Map<number, GuestObject[]>();
  for (const object of objects) {
    const { tier } = guestKind(object.kind, object.apiVersion);
    byTier.set(tier, [...(byTier.get(tier) ?? []), object]);
  }
  return [...byTier.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

// JSON with sorted keys, so equal objects hash equally whatever order a renderer built them in.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function hashOf(parts: unknown): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

type GuestApplyState = { applied: Map<string, string>; pruned: Map<string, string> };
// Weak: a guest whose client is dropped takes its state with it.
const stateByClient = new WeakMap<GuestClient, GuestApplyState>();

function stateOf(client: GuestClient): GuestApplyState {
  let state = stateByClient.get(client);
  if (state === undefined) {
    state = { applied: new Map(), pruned: new Map() };
    stateByClient.set(client, state);
  }
  return state;
}

/** Makes the next apply and prune through this client go to the server even if nothing changed. */
export function forgetGuestApplyState(client: GuestClient): void {
  stateByClient.delete(client);
}

export type GuestApplyResult = {
  /** Objects sent to the server: 0 when the set equals the last one applied through this client. */
  applied: number;
  skipped: boolean;
};

function sortedByKey(objects: readonly GuestObject[]): GuestObject[] {
  return [...objects].sort((a, b) => (guestObjectKey(a) < guestObjectKey(b) ? -1 : 1));
}

async function settleAll(work: Promise<unknown>[], what: string): Promise<void> {
  const failures = (await Promise.allSettled(work)).filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failures.length === 1) throw failures[0]?.reason;
  if (failures.length > 1) {
    const reasons = failures.map((failure) => (failure.reason instanceof Error ? failure.reason.message : String(failure.reason)));
    throw new AggregateError(failures.map((failure) => failure.reason), `${what}: ${failures.length} failed: ${reasons.join('; ')}`);
  }
}

/**
 * Server-side applies `objects` under `fieldManager` (forcing ownership: these fields are
 * Tessera's), tier by tier, objects within a tier in parallel. Skips everything when the same
 * set was last applied through this client under the same `scope` (each component applies its
 * own set under its own scope); the state is recorded only after every write worked.
 */
export async function applyGuestObjects(client: GuestClient, objects: readonly GuestObject[], fieldManager: string, scope = 'all'): Promise<GuestApplyResult> {
  if (!fieldManager) throw new Error('applyGuestObjects: fieldManager is required, e.g. "tessera-cluster-operator"');
  const keys = new Set<string>();
  for (const object of objects) {
    guestObjectPath(object); // validates kind, apiVersion, name and namespace before any write
    const key = guestObjectKey(object);
    if (keys.has(key)) throw new Error(`applyGuestObjects: ${key} is rendered twice; each object must come from one renderer`);
    keys.add(key);
  }
  const state = stateOf(client);
  const hash = hashOf({ fieldManager, objects: sortedByKey(objects) });
  if (state.applied.get(scope) === hash) return { applied: 0, skipped: true };
  state.applied.delete(scope);
  for (const tier of applyTiers(objects)) {
    await settleAll(
      tier.map((object) =>
        client.apply(guestObjectPath(object), object, fieldManager, true).catch((error: unknown) => {
          throw new Error(`applying ${guestObjectKey(object)} to the guest: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        }),
      ),
      'applying guest objects',
    );
  }
  state.applied.set(scope, hash);
  return { applied: objects.length, skipped: false };
}

export type GuestPruneResult = {
  /** Keys ("Kind namespace/name") of the objects deleted. */
  deleted: string[];
  skipped: boolean;
};

type ListedObject = { metadata?: { name?: string; namespace?: string; deletionTimestamp?: string } };

/**
 * Deletes every object of the GUEST_KINDS that matches `labelSelector` and carries Tessera's
 * managed-by label, unless it is in `keep`. `labelSelector` must not be empty (an empty selector
 * matches everything); pass e.g. ADDON_LABEL to prune addon objects. Skipped when the same keep
 * set was last pruned with this selector through this client.
 */
export async function pruneGuestObjects(client: GuestClient, keep: readonly GuestObject[], labelSelector: string): Promise<GuestPruneResult> {
  if (!labelSelector.trim()) throw new Error('pruneGuestObjects: labelSelector is required; an empty one would select every Tessera object, e.g. pass "tessera.dev/addon"');
  const state = stateOf(client);
  const keepKeys = new Set(keep.map(guestObjectKey));
  const hash = hashOf({ labelSelector, keep: [...keepKeys].sort() });
  if (state.pruned.get(labelSelector) === hash) return { deleted: [], skipped: true };
  state.pruned.delete(labelSelector);
  const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${labelSelector}`;
  const deleted: string[] = [];
  await settleAll(
    GUEST_KIND_NAMES.map(async (kind) => {
      const list = await client.get<{ items?: ListedObject[] }>(guestCollectionPath(kind), { labelSelector: selector });
      for (const item of list.items ?? []) {
        const name = item.metadata?.name;
        if (!name || item.metadata?.deletionTimestamp) continue;
        const identity = { kind, metadata: { name, namespace: item.metadata?.namespace } };
        const key = guestObjectKey(identity);
        if (keepKeys.has(key)) continue;
        try {
          // Background: the Deployment or DaemonSet goes now, the garbage collector takes its pods.
          await client.delete(guestObjectPath(identity), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' });
          deleted.push(key);
        } catch (error) {
          if (!isNotFound(error)) throw new Error(`pruning ${key} from the guest: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        }
      }
    }),
    'pruning guest objects',
  );
  state.pruned.set(labelSelector, hash);
  return { deleted: deleted.sort(), skipped: false };
}
