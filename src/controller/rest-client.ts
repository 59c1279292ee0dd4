// A small REST client over a KubeConfig: JSON requests and line-delimited watch streams.
// The generated clients of @kubernetes/client-node cover typed calls; controllers need the raw
// verbs on any path (list with resourceVersion, watch with bookmarks and timeouts, patches of
// every content type), so this sits beside them and shares the KubeConfig's TLS and auth.
import type { KubeConfig } from '@kubernetes/client-node';
import { request as httpsRequest, Agent, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: unknown;
  constructor(status: number, reason: string, message: string, body: unknown) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
}

/**
 * Ends `request` with `error()` once `timeoutMs` have passed since this call, whatever stage it is
 * in: connecting, the TLS handshake, waiting for headers or reading the body. Node's `timeout`
 * option is no deadline: it is an idle timer that restarts on every byte, and net.Socket skips
 * the first expiry while a write (the TLS ClientHello) looks pending, so against a server that
 * accepts and never answers an HTTPS request gave up only after twice its timeout.
 * A timeout of 0 (watches, streams) sets no deadline.
 */
/** A request whose peer accepted it and did not answer within its deadline (not a refusal, not an error answer). */
export class NoAnswerError extends Error {}

/**
 * `call`, except that after it went unanswered (it threw a NoAnswerError, or returned a value
 * `unanswered` says is one) that same outcome comes back at once for `quietMs`: a peer that
 * accepts and stays silent would otherwise hold the caller for its whole deadline every time.
 * A refusal or an answer is asked again on every call.
 */
export function quietAfterNoAnswer<T>(call: () => Promise<T>, quietMs: number, options: { unanswered?: (value: T) => boolean; now?: () => number } = {}): () => Promise<T> {
  const now = options.now ?? Date.now;
  let quiet: { until: number; outcome: () => Promise<T> } | undefined;
  return async () => {
    if (quiet && now() < quiet.until) return quiet.outcome();
    try {
      const value = await call();
      quiet = options.unanswered?.(value) ? { until: now() + quietMs, outcome: async () => value } : undefined;
      return value;
    } catch (error) {
      quiet = error instanceof NoAnswerError ? { until: now() + quietMs, outcome: () => Promise.reject(error) } : undefined;
      throw error;
    }
  };
}

export function setRequestDeadline(request: ClientRequest, timeoutMs: number, error: () => Error): void {
  if (!(timeoutMs > 0)) return;
  let response: IncomingMessage | undefined;
  const timer = setTimeout(() => {
    // Once headers have arrived the caller reads the body stream, so the error must end that stream.
    if (response && !response.complete) response.destroy(error());
    else request.destroy(error());
  }, timeoutMs);
  const clear = () => clearTimeout(timer);
  request.on('response', (received: IncomingMessage) => {
    response = received;
    received.on('end', clear);
    received.on('close', clear);
  });
  request.on('close', clear);
  request.on('error', clear);
}

export const isNotFound = (error: unknown): boolean => error instanceof ApiError && error.status === 404;
export const isConflict = (error: unknown): boolean => error instanceof ApiError && error.status === 409;
export const isAlreadyExists = (error: unknown): boolean => error instanceof ApiError && error.status === 409 && error.reason === 'AlreadyExists';
export const isGone = (error: unknown): boolean => error instanceof ApiError && error.status === 410;

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

type Query = Record<string, string | number | boolean | undefined>;

/** One finished HTTP exchange: `code` is the status, or '<error>' when no response came (client-go's label). */
export type ResponseRecord = { method: string; host: string; path: string; code: string };

/**
 * The REST path of a resource: `/api/v1/...` for the core group, `/apis/<group>/<version>/...`
 * otherwise; with `name` the object, without it the collection; `subresource` e.g. "status".
 */
export function resourcePath(target: { group?: string; version: string; resource: string; namespace?: string; name?: string; subresource?: string }): string {
  const root = target.group ? `/apis/${target.group}/${target.version}` : `/api/${target.version}`;
  const scope = target.namespace ? `/namespaces/${encodeURIComponent(target.namespace)}` : '';
  let path = `${root}${scope}/${target.resource}`;
  if (target.name !== undefined) path += `/${encodeURIComponent(target.name)}`;
  if (target.subresource) {
    if (target.name === undefined) throw new Error(`resourcePath: subresource "${target.subresource}" needs a name`);
    path += `/${target.subresource}`;
  }
  return path;
}

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

/**
 * What the client needs of a kubeconfig: the server and the TLS and auth options. client-node's
 * KubeConfig is one; kubeconfigConnection() (src/pki/kubeconfig.ts) is a light one for commands
 * that must start fast (importing client-node costs most of a second).
 */
export type ApiConnection = Pick<KubeConfig, 'getCurrentCluster' | 'applyToHTTPSOptions'>;

/** Requests one client has in flight at most; more wait for a socket. Watches and streams do not count. */
export const MAX_REQUEST_SOCKETS = 64;

export class RestClient {
  readonly kubeConfig: ApiConnection;
  private readonly server: URL;
  private optionsPromise: Promise<{ request: RequestOptions; stream: RequestOptions }> | undefined;
  /** Counts requests by verb, so tests and benchmarks can assert "a converged object costs no writes". */
  readonly requestCounts = new Map<string, number>();
  private readonly responseListeners: ((record: ResponseRecord) => void)[] = [];

  constructor(kubeConfig: ApiConnection) {
    this.kubeConfig = kubeConfig;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster: set current-context');
    this.server = new URL(cluster.server);
  }

  /** Calls `listener` after every request's response headers (or its failure); metrics.ts counts them. */
  onResponse(listener: (record: ResponseRecord) => void): void {
    this.responseListeners.push(listener);
  }

  private notify(method: string, url: URL, code: string): void {
    for (const listener of this.responseListeners) {
      try {
        listener({ method, host: url.host, path: url.pathname, code });
      } catch {
        // an observer must never break a request
      }
    }
  }

  private async baseOptions(): Promise<{ request: RequestOptions; stream: RequestOptions }> {
    this.optionsPromise ??= (async () => {
      const options: RequestOptions = {};
      await this.kubeConfig.applyToHTTPSOptions(options);
      const tls = { keepAlive: true, ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.rejectUnauthorized };
      // One keep-alive agent per client (client-node once leaked an agent per request), and a
      // second one for watches and streams: each holds its socket for minutes, and sharing the
      // capped pool let a process's own watches take every socket its requests wait for.
      return {
        request: { ...options, agent: new Agent({ ...tls, maxSockets: MAX_REQUEST_SOCKETS }) },
        stream: { ...options, agent: new Agent(tls) },
      };
    })();
    return this.optionsPromise;
  }

  private async open(method: string, path: string, body: string | undefined, headers: Record<string, string>, timeoutMs: number, pool: 'request' | 'stream' = 'request', signal?: AbortSignal): Promise<IncomingMessage> {
    const base = (await this.baseOptions())[pool];
    const url = new URL(path, this.server);
    this.requestCounts.set(method, (this.requestCounts.get(method) ?? 0) + 1);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      let responded = false;
      const req = send(
        url,
        { ...base, method, headers: { ...(base.headers ?? {}), accept: 'application/json', ...headers }, signal },
        (response) => {
          responded = true;
          this.notify(method, url, String(response.statusCode ?? '<error>'));
          resolve(response);
        },
      );
      req.on('error', (error) => {
        // Only failures before a response; a stream cut later was already counted with its status.
        if (!responded) this.notify(method, url, '<error>');
        reject(error);
      });
      // The deadline covers the body too: request() reads it before the exchange is over.
      setRequestDeadline(req, timeoutMs, () => new Error(`${method} ${url.pathname} timed out after ${timeoutMs}ms`));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async request<T = unknown>(method: string, path: string, options: { body?: unknown; query?: Query; contentType?: string; accept?: string; timeoutMs?: number } = {}): Promise<T> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {};
    // e.g. a server-side Table instead of the objects (`tessera fleet`).
    if (options.accept) headers['accept'] = options.accept;
    if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      // An explicit length: some servers ignore a chunked body on DELETE.
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const response = await this.open(method, withQuery(path, options.query), body, headers, options.timeoutMs ?? 30_000);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // non-JSON bodies (logs, /readyz) are returned as text
    }
    const status = response.statusCode ?? 0;
    if (status >= 400) {
      const statusObject = parsed as { message?: string; reason?: string } | undefined;
      const message = typeof statusObject === 'object' && statusObject?.message ? statusObject.message : text;
      throw new ApiError(status, statusObject?.reason ?? '', `${method} ${path}: ${status} ${message}`, parsed);
    }
    return parsed as T;
  }

  get<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  create<T = unknown>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { body, query });
  }

  replace<T = unknown>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('PUT', path, { body, query });
  }

  patch<T = unknown>(path: string, body: unknown, type: PatchType, query?: Query): Promise<T> {
    return this.request<T>('PATCH', path, { body, query, contentType: patchContentTypes[type] });
  }

  /** Server-side apply under one field manager. */
  apply<T = unknown>(path: string, body: unknown, fieldManager: string, force = true): Promise<T> {
    return this.patch<T>(path, body, 'apply', { fieldManager, force });
  }

  delete<T = unknown>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, { body, query });
  }

  /**
   * Opens a long-lived GET, or returns undefined once `signal` has aborted: an abort that comes
   * while the request is still connecting ends it too (a stopped informer used to wait out its
   * watch's whole server timeout, minutes, when stopped right after it started).
   */
  private async openStream(path: string, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<IncomingMessage | undefined> {
    if (signal?.aborted) return undefined;
    let response: IncomingMessage;
    try {
      response = await this.open('GET', path, undefined, headers, 0, 'stream', signal);
    } catch (error) {
      if (signal?.aborted) return undefined;
      throw error;
    }
    if (!signal?.aborted) return response;
    response.destroy();
    return undefined;
  }

  /**
   * Opens a watch and calls `onEvent` per event until the server closes it, `signal` aborts, or
   * nothing (not even a bookmark) arrives for `idleTimeoutMs`: a silent watch is a dead watch.
   */
  async watch(path: string, query: Query, onEvent: (event: { type: string; object: unknown }) => void, options: { signal?: AbortSignal; idleTimeoutMs?: number; accept?: string } = {}): Promise<void> {
    const response = await this.openStream(withQuery(path, { ...query, watch: true, allowWatchBookmarks: true }), options.accept ? { accept: options.accept } : {}, options.signal);
    if (!response) return;
    const status = response.statusCode ?? 0;
    if (status >= 400) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let reason = '';
      try {
        reason = (JSON.parse(text) as { reason?: string }).reason ?? '';
      } catch {
        // keep the text
      }
      throw new ApiError(status, reason, `WATCH ${path}: ${status} ${text}`, text);
    }
    const idleTimeoutMs = options.idleTimeoutMs ?? 0;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      if (!idleTimeoutMs) return;
      clearTimeout(idle);
      idle = setTimeout(() => response.destroy(new Error(`watch ${path} silent for ${idleTimeoutMs}ms`)), idleTimeoutMs);
    };
    const abort = () => response.destroy();
    options.signal?.addEventListener('abort', abort, { once: true });
    armIdle();
    let buffered = '';
    try {
      for await (const chunk of response) {
        armIdle();
        buffered += (chunk as Buffer).toString('utf8');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) onEvent(JSON.parse(line) as { type: string; object: unknown });
        }
      }
    } catch (error) {
      if (!options.signal?.aborted) throw error;
    } finally {
      clearTimeout(idle);
      options.signal?.removeEventListener('abort', abort);
    }
  }

  /** Streams a text body (e.g. `follow=true` logs) to `onChunk`. */
  async stream(path: string, query: Query, onChunk: (text: string) => void, signal?: AbortSignal): Promise<void> {
    const response = await this.openStream(withQuery(path, query), {}, signal);
    if (!response) return;
    const abort = () => response.destroy();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const chunk of response) onChunk((chunk as Buffer).toString('utf8'));
    } catch (error) {
      if (!signal?.aborted) throw error;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }
}
