// A shared informer: list, then watch from the list's resourceVersion, keeping a cache keyed by
// namespace/name. Like client-go's reflector it relists when the server says 410 Gone, retries
// other failures with capped exponential backoff, and treats a watch that goes silent (no event,
// no bookmark) as dead. Handlers receive each change; controllers should only enqueue keys.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, isGone, type RestClient } from './rest-client.ts';

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
  };
};

export type InformerEvent<T> = { type: 'add' | 'update' | 'delete'; object: T; old?: T };

export function objectKey(object: KubeObject): string {
  const namespace = object.metadata?.namespace;
  return namespace ? `${namespace}/${object.metadata?.name}` : (object.metadata?.name ?? '');
}

type ListResponse<T> = { metadata?: { resourceVersion?: string; continue?: string }; items?: T[] };

export type InformerOptions = {
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of the initial and every re-list. */
  pageSize?: number;
  /** A watch with no event for this long is restarted (bookmarks count as events). */
  idleTimeoutMs?: number;
  onError?: (error: unknown) => void;
};

export class Informer<T extends KubeObject> {
  private readonly client: RestClient;
  private readonly path: string;
  private readonly options: InformerOptions;
  private readonly cache = new Map<string, T>();
  private readonly handlers: ((event: InformerEvent<T>) => void)[] = [];
  private resourceVersion = '';
  private readonly abort = new AbortController();
  private synced: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  /** Number of full lists done, for tests of the relist behaviour. */
  lists = 0;

  constructor(client: RestClient, path: string, options: InformerOptions = {}) {
    this.client = client;
    this.path = path;
    this.options = options;
  }

  on(handler: (event: InformerEvent<T>) => void): this {
    this.handlers.push(handler);
    return this;
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
    }
    return this.synced;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private emit(event: InformerEvent<T>): void {
    for (const handler of this.handlers) handler(event);
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.client.get<ListResponse<T>>(this.path, {
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        limit: this.options.pageSize ?? 500,
        continue: continueToken,
      });
      for (const item of page.items ?? []) fresh.set(objectKey(item), item);
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (continueToken);
    // Items in a list lack apiVersion/kind; keep them as the server sent them.
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        this.emit({ type: 'delete', object: old });
      }
    }
    for (const [key, object] of fresh) {
      const old = this.cache.get(key);
      this.cache.set(key, object);
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
          { signal: this.abort.signal, idleTimeoutMs: this.options.idleTimeoutMs ?? 330_000 },
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

  private applyWatchEvent(event: { type: string; object: unknown }): void {
    const object = event.object as T;
    const rv = object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; reason?: string; message?: string };
      throw new ApiError(status.code ?? 500, status.reason ?? '', status.message ?? 'watch error', status);
    }
    if (rv) this.resourceVersion = rv;
    const key = objectKey(object);
    const old = this.cache.get(key);
    if (event.type === 'DELETED') {
      this.cache.delete(key);
      this.emit({ type: 'delete', object });
    } else {
      this.cache.set(key, object);
      this.emit(old ? { type: 'update', object, old } : { type: 'add', object });
    }
  }
}
