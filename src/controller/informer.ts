// A shared informer: list, then watch from the list's resourceVersion, keeping a cache keyed by
// namespace/name. Like client-go's reflector it relists when the server says 410 Gone, retries
// other failures with capped exponential backoff, and treats a watch that goes silent (no event,
// no bookmark) as dead. Handlers receive each change; controllers should only enqueue keys.
// Like client-go's shared informer it keeps indexes (e.g. by owner uid) and can re-deliver every
// cached object periodically (resync) so level-triggered controllers look at everything again.
// Cached objects are shared: clone (structuredClone) before changing one.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, isGone, type RestClient } from './rest-client.ts';
import type { OwnerReference } from './owner-references.ts';

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string | Date;
    generation?: number;
    finalizers?: string[];
    ownerReferences?: OwnerReference[];
    managedFields?: { manager?: string; operation?: string; subresource?: string; fieldsV1?: unknown }[];
  };
};

/** A resync re-delivers a cached object as an update with `old === object`. */
export type InformerEvent<T> = { type: 'add' | 'update' | 'delete'; object: T; old?: T };

export function objectKey(object: KubeObject): string {
  const namespace = object.metadata?.namespace;
  return namespace ? `${namespace}/${object.metadata?.name}` : (object.metadata?.name ?? '');
}

/** The inverse of objectKey (client-go's SplitMetaNamespaceKey): "ns/name" or "name". */
export function splitObjectKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  if (slash < 0) return { name: key };
  if (key.indexOf('/', slash + 1) >= 0) throw new Error(`object key "${key}" has more than one "/": expected "namespace/name" or "name"`);
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Values an object is indexed under; an object may have several (e.g. one per owner). */
export type IndexFunction<T> = (object: T) => string[];

type ListResponse<T> = { apiVersion?: string; kind?: string; metadata?: { resourceVersion?: string; continue?: string }; items?: T[] };

export type InformerOptions<T extends KubeObject = KubeObject> = {
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of the initial and every re-list. */
  pageSize?: number;
  /** A watch with no event for this long is restarted (bookmarks count as events). */
  idleTimeoutMs?: number;
  /** Every this many ms, every cached object is delivered again as an update (0 or unset: never). */
  resyncPeriodMs?: number;
  onError?: (error: unknown) => void;
  /**
   * Applied to each object before it is cached and delivered (controller-runtime's cache
   * transform): drop what the controller never reads, e.g. with withoutManagedFields.
   */
  transform?: (object: T) => T;
  /**
   * List and watch only the objects' metadata (PartialObjectMetadata): for a controller that reads
   * names, labels and owners, the server sends a fraction of the bytes (a Secret's data stays home).
   */
  metadataOnly?: boolean;
};

const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/**
 * The object without metadata.managedFields: often the largest part of an object written by
 * server-side apply, and needed only by code that asks who owns which field.
 */
export function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

export class Informer<T extends KubeObject> {
  private readonly client: RestClient;
  /** The collection watched, e.g. /api/v1/namespaces/default/configmaps. */
  readonly path: string;
  private readonly options: InformerOptions<T>;
  private readonly cache = new Map<string, T>();
  private readonly handlers: ((event: InformerEvent<T>) => void)[] = [];
  private readonly indexers = new Map<string, IndexFunction<T>>();
  /** index name -> indexed value -> keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private resourceVersion = '';
  private readonly abort = new AbortController();
  private synced: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Number of full lists done, for tests of the relist behaviour. */
  lists = 0;
  private holders = 1;

  constructor(client: RestClient, path: string, options: InformerOptions<T> = {}) {
    this.client = client;
    this.path = path;
    this.options = options;
  }

  on(handler: (event: InformerEvent<T>) => void): this {
    this.handlers.push(handler);
    return this;
  }

  /**
   * Adds an index; objects already cached are indexed at once. Look up with byIndex, e.g.
   * `addIndexer('owner', ownerUidIndex)` then `byIndex('owner', cluster.metadata.uid)`.
   */
  addIndexer(name: string, indexFunction: IndexFunction<T>): this {
    // A shared informer gets the same index from each of its users: one function, one index.
    if (this.indexers.get(name) === indexFunction) return this;
    if (this.indexers.has(name)) throw new Error(`informer ${this.path}: index "${name}" exists already with another function; pick another name, or share the index function`);
    this.indexers.set(name, indexFunction);
    this.indices.set(name, new Map());
    for (const [key, object] of this.cache) this.indexObject(name, key, object);
    return this;
  }

  /** Cached objects whose index `name` contains `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`informer ${this.path}: no index "${name}"; add it with addIndexer before use`);
    const keys = index.get(value) ?? new Set<string>();
    return [...keys].map((key) => this.cache.get(key)).filter((object): object is T => object !== undefined);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get hasSynced(): boolean {
    return this.lists > 0;
  }

  /** Starts the list-watch loop; resolves after the first successful list. */
  start(): Promise<void> {
    if (!this.synced) {
      let markSynced: () => void = () => {};
      this.synced = new Promise((resolve) => (markSynced = resolve));
      this.loop = this.run(markSynced);
      const period = this.options.resyncPeriodMs ?? 0;
      if (period > 0) {
        this.resyncTimer = setInterval(() => this.resync(), period);
        this.resyncTimer.unref();
      }
    }
    return this.synced;
  }

  /** Another controller uses this informer too (SharedInformers): it stops when the last one does. */
  retain(): this {
    this.holders++;
    return this;
  }

  async stop(): Promise<void> {
    if (--this.holders > 0) return;
    clearInterval(this.resyncTimer);
    this.abort.abort();
    await this.loop;
  }

  /** Delivers every cached object again as an update with `old === object`. */
  resync(): void {
    if (!this.hasSynced || this.abort.signal.aborted) return;
    for (const object of this.cache.values()) this.emit({ type: 'update', object, old: object });
  }

  private emit(event: InformerEvent<T>): void {
    for (const handler of this.handlers) {
      // A failing handler must not kill the watch (which would then relist) or starve other handlers.
      try {
        handler(event);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
  }

  private store(key: string, object: T | undefined): void {
    const old = this.cache.get(key);
    if (object) this.cache.set(key, object);
    else this.cache.delete(key);
    for (const [name, index] of this.indices) {
      if (old) {
        for (const value of this.indexValues(name, old)) {
          const keys = index.get(value);
          keys?.delete(key);
          if (keys?.size === 0) index.delete(value);
        }
      }
      if (object) this.indexObject(name, key, object);
    }
  }

  private indexValues(name: string, object: T): string[] {
    try {
      return this.indexers.get(name)?.(object) ?? [];
    } catch (error) {
      this.options.onError?.(error);
      return [];
    }
  }

  private indexObject(name: string, key: string, object: T): void {
    const index = this.indices.get(name);
    if (!index) return;
    for (const value of this.indexValues(name, object)) {
      let keys = index.get(value);
      if (!keys) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const query = { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector, limit: this.options.pageSize ?? 500, continue: continueToken };
      const page = this.options.metadataOnly
        ? await this.client.request<ListResponse<T>>('GET', this.path, { query, accept: METADATA_LIST })
        : await this.client.get<ListResponse<T>>(this.path, query);
      // Items in a list carry no apiVersion or kind; watch events do. Cache both alike, or
      // everything listed after a restart looks changed to a comparison with what is desired
      // (the Cluster operator re-applied every owned object of every guest after each restart).
      const itemKind = page.kind?.replace(/List$/, '');
      for (const item of page.items ?? []) {
        const typed = item.kind || !itemKind ? item : { apiVersion: page.apiVersion, kind: itemKind, ...item };
        fresh.set(objectKey(typed), this.transformed(typed));
      }
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (continueToken);
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.store(key, undefined);
        this.emit({ type: 'delete', object: old });
      }
    }
    for (const [key, object] of fresh) {
      const old = this.cache.get(key);
      this.store(key, object);
      if (!old) this.emit({ type: 'add', object });
      else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion) this.emit({ type: 'update', object, old });
    }
    this.resourceVersion = resourceVersion;
    this.lists++;
  }

  private async run(markSynced: () => void): Promise<void> {
    let backoffMs = 200;
    let needList = true;
    while (!this.abort.signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          markSynced();
          needList = false;
        }
        await this.client.watch(
          this.path,
          {
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
            resourceVersion: this.resourceVersion,
            timeoutSeconds: 240 + Math.floor(Math.random() * 60),
          },
          (event) => this.applyWatchEvent(event),
          { signal: this.abort.signal, idleTimeoutMs: this.options.idleTimeoutMs ?? 330_000, ...(this.options.metadataOnly ? { accept: METADATA } : {}) },
        );
        backoffMs = 200;
      } catch (error) {
        if (this.abort.signal.aborted) break;
        if (isGone(error)) {
          needList = true;
          continue;
        }
        this.options.onError?.(error);
        await sleep(backoffMs, undefined, { signal: this.abort.signal }).catch(() => {});
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  private transformed(object: T): T {
    return this.options.transform ? this.options.transform(object) : object;
  }

  private applyWatchEvent(event: { type: string; object: unknown }): void {
    const rv = (event.object as T).metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; reason?: string; message?: string };
      throw new ApiError(status.code ?? 500, status.reason ?? '', status.message ?? 'watch error', status);
    }
    if (rv) this.resourceVersion = rv;
    const object = this.transformed(event.object as T);
    const key = objectKey(object);
    const old = this.cache.get(key);
    if (event.type === 'DELETED') {
      this.store(key, undefined);
      this.emit({ type: 'delete', object });
    } else {
      this.store(key, object);
      this.emit(old ? { type: 'update', object, old } : { type: 'add', object });
    }
  }
}

/**
 * One informer per collection and selector for all the controllers of a process (as
 * controller-runtime's manager cache): each object is listed, watched and held in memory once,
 * not once per operator. Each user stops its informer as before; it stops with the last user.
 */
export class SharedInformers {
  private readonly client: RestClient;
  private readonly informers = new Map<string, Informer<KubeObject>>();

  constructor(client: RestClient) {
    this.client = client;
  }

  /** The informer of `path` with these selectors; `transform` is not shared (an informer with one is the caller's own). */
  informer<T extends KubeObject>(path: string, options: Omit<InformerOptions<T>, 'transform'> = {}): Informer<T> {
    const key = JSON.stringify([path, options.labelSelector ?? '', options.fieldSelector ?? '', options.metadataOnly ?? false, options.resyncPeriodMs ?? 0]);
    const existing = this.informers.get(key);
    if (existing) return existing.retain() as unknown as Informer<T>;
    const informer = new Informer<T>(this.client, path, options);
    this.informers.set(key, informer as unknown as Informer<KubeObject>);
    return informer;
  }
}
