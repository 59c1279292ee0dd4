// The reconcile loop, after controller-runtime's internal controller: informers enqueue keys,
// workers take keys from the WorkQueue and call `reconcile(key)`, and the result decides what
// happens to the key next:
//   thrown error         -> addRateLimited (per-key backoff, overall bucket), result "error"
//   { requeueAfter: ms } -> forget, addAfter(ms), result "requeue_after"
//   { requeue: true }    -> addRateLimited, result "requeue"
//   anything else        -> forget, result "success"
// A key is never reconciled by two workers at once; changes during a reconcile queue it again.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { objectKey, type Informer, type KubeObject } from './informer.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { ControllerMetrics, ReconcileOutcome } from './metrics.ts';
import { controllerOwnerKey } from './owner-references.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { WorkQueue } from './workqueue.ts';

export type ReconcileResult = {
  /** Reconcile again after this many ms (e.g. to renew a certificate); the backoff is reset. */
  requeueAfter?: number;
  /** Reconcile again with the rate limiter's backoff, without counting an error. */
  requeue?: boolean;
};

export type ReconcileContext = {
  /** Aborted when the controller stops: long waits inside a reconcile should give up. */
  signal: AbortSignal;
  /** Bound to controller, key and reconcileID. */
  logger: Logger;
  reconcileID: string;
};

export type Reconcile = (key: string, context: ReconcileContext) => Promise<ReconcileResult | void>;

export type ControllerOptions = {
  /** Names the queue, the metrics' controller label and the log lines. */
  name: string;
  reconcile: Reconcile;
  /** Concurrent reconciles (of different keys); default 1. */
  workers?: number;
  metrics?: ControllerMetrics;
  logger?: Logger;
  rateLimiter?: RateLimiter;
  clock?: Clock;
  /** How long start() waits for the watched informers' first list; default 2 minutes. */
  cacheSyncTimeoutMs?: number;
  /**
   * A reconcile still running after this long is logged as a warning, and again after each
   * further period, so a pass stuck on something that never answers is never a silent stall;
   * default 1 minute.
   */
  slowReconcileWarningMs?: number;
};

export type WatchOptions<T> = {
  /** Events for which this returns false enqueue nothing (controller-runtime's predicates). */
  predicate?: (event: { type: 'add' | 'update' | 'delete'; object: T; old?: T }) => boolean;
  /**
   * Enqueue a key this long after the first change instead of at once, so a burst of changes
   * (a rollout's status updates, a pod turning Ready) costs one reconcile: the batch period of
   * the EndpointSlice controller. 0 or absent: at once.
   */
  batchMs?: number;
};

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcile: Reconcile;
  private readonly workers: number;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly cacheSyncTimeoutMs: number;
  private readonly slowReconcileWarningMs: number;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly abort = new AbortController();
  private running: Promise<void>[] = [];
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';

  constructor(options: ControllerOptions) {
    if (!options.name) throw new Error('Controller: name is required (it labels metrics and logs)');
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`Controller ${options.name}: workers must be a whole number >= 1, got ${workers}`);
    this.name = options.name;
    this.reconcile = options.reconcile;
    this.workers = workers;
    this.metrics = options.metrics;
    this.clock = options.clock ?? systemClock;
    this.cacheSyncTimeoutMs = options.cacheSyncTimeoutMs ?? 120_000;
    this.slowReconcileWarningMs = options.slowReconcileWarningMs ?? 60_000;
    this.logger = (options.logger ?? silentLogger).child({ controller: options.name });
    this.queue = new WorkQueue({ name: options.name, rateLimiter: options.rateLimiter, clock: this.clock, metrics: options.metrics?.workQueue(options.name) });
    options.metrics?.registerController(options.name, workers);
  }

  /**
   * Enqueues keys for changes seen by `informer`: the object's own key, or the keys `mapToKeys`
   * returns. On an update both the old and the new object are mapped, so a key that an object
   * stops mapping to also hears about it. Objects already cached are enqueued at once.
   */
  watch<T extends KubeObject>(informer: Informer<T>, mapToKeys: (object: T) => string[] = (object) => [objectKey(object)], options: WatchOptions<T> = {}): this {
    informer.on((event) => {
      if (options.predicate && !options.predicate(event)) return;
      const keys = new Set(mapToKeys(event.object));
      if (event.old && event.old !== event.object) for (const key of mapToKeys(event.old)) keys.add(key);
      for (const key of keys) {
        if (!key) continue;
        if (options.batchMs) this.queue.addAfter(key, options.batchMs);
        else this.queue.add(key);
      }
    });
    if (informer.hasSynced) for (const object of informer.list()) for (const key of mapToKeys(object)) if (key) this.queue.add(key);
    this.informers.push(informer as unknown as Informer<KubeObject>);
    return this;
  }

  /**
   * Enqueues the key of the controller owner (ownerReferences with controller: true) of kind
   * `ownerKind` whenever an owned object changes; objects without such an owner are ignored.
   */
  watchOwned<T extends KubeObject>(informer: Informer<T>, ownerKind: string, options: WatchOptions<T> & { apiGroup?: string; clusterScopedOwner?: boolean } = {}): this {
    return this.watch(
      informer,
      (object) => {
        const key = controllerOwnerKey(object, ownerKind, options);
        return key ? [key] : [];
      },
      options,
    );
  }

  /** Queues `key` for reconciliation (for triggers that are not informers). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /**
   * Starts the watched informers (shared informers start once; this also waits for their first
   * list), then the workers. Resolves once the workers run; rejects when an informer has not
   * listed within cacheSyncTimeoutMs (the workers are not started then).
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`Controller ${this.name}: start called twice; create a new Controller to run again`);
    this.state = 'starting';
    this.logger.info('Starting Controller', { workers: this.workers });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const pending = this.informers.filter((informer) => !informer.hasSynced).map((informer) => informer.path);
        reject(
          new Error(
            `Controller ${this.name}: informers for ${pending.join(', ')} did not list within ${this.cacheSyncTimeoutMs}ms: check that the resource exists (CRD installed) and that RBAC allows list and watch`,
          ),
        );
      }, this.cacheSyncTimeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.informers.map((informer) => informer.start())), timeout]);
    } catch (error) {
      this.state = 'stopped';
      this.queue.shutDown();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (this.abort.signal.aborted) return;
    this.state = 'running';
    this.running = Array.from({ length: this.workers }, () => this.work());
    this.logger.info('Starting workers', { workers: this.workers });
  }

  /**
   * Stops taking keys and waits for reconciles in flight to finish (up to `gracePeriodMs`,
   * default 30s, after which their signal is already aborted and they are abandoned). Keys still
   * queued are dropped: the next start relists everything anyway. Informers are left running,
   * as they may be shared.
   */
  async stop(options: { gracePeriodMs?: number } = {}): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.logger.info('Stopping and waiting for reconciles in flight');
    this.queue.shutDown();
    this.abort.abort();
    const drained = Promise.all(this.running).then(() => true);
    const grace = options.gracePeriodMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), grace)));
    const finished = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    if (!finished) this.logger.error('Reconciles still running after the grace period; abandoning them', { gracePeriodMs: grace });
    else this.logger.info('All workers finished');
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.abort.signal.aborted) {
        this.queue.done(key);
        continue;
      }
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const reconcileID = randomUUID();
    const logger = this.logger.child({ key, reconcileID });
    const started = this.clock.now();
    this.metrics?.activeWorkers.inc({ controller: this.name });
    let outcome: ReconcileOutcome;
    let slow: TimerHandle | undefined;
    const warnWhileSlow = () => {
      slow = this.clock.setTimeout(() => {
        logger.warn('Reconcile still running', { durationMs: this.clock.now() - started });
        warnWhileSlow();
      }, this.slowReconcileWarningMs);
    };
    warnWhileSlow();
    try {
      const result = (await this.reconcile(key, { signal: this.abort.signal, logger, reconcileID })) ?? {};
      if (result.requeueAfter !== undefined && result.requeueAfter > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfter);
        outcome = 'requeue_after';
      } else if (result.requeue) {
        this.queue.addRateLimited(key);
        outcome = 'requeue';
      } else {
        this.queue.forget(key);
        outcome = 'success';
      }
      logger.debug('Reconcile done', { result: outcome, durationMs: this.clock.now() - started });
    } catch (error) {
      this.queue.addRateLimited(key);
      outcome = 'error';
      logger.error('Reconciler error', { error, retries: this.queue.numRequeues(key) });
    } finally {
      this.clock.clearTimeout(slow);
      this.metrics?.activeWorkers.dec({ controller: this.name });
      this.queue.done(key);
    }
    this.metrics?.reconciled(this.name, outcome, (this.clock.now() - started) / 1000);
  }
}
