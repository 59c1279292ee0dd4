// A keyed work queue with client-go's semantics and names (util/workqueue: Typed, delaying and
// rate-limiting queues in one class). Controllers queue keys, not events, so ten changes to one
// object while it waits cost one reconcile:
// - dedup: a key waiting in the queue is not added twice;
// - dirty set: a key added while a worker processes it is queued again once, after `done`, and is
//   never handed to two workers at the same time;
// - addAfter: delayed adds, the earliest wins when a key is already waiting;
// - addRateLimited: a delay from the rate limiter (per-key backoff and an overall bucket);
// - shutDown: no more adds; `get` still hands out what is queued, then resolves `undefined`.
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.ts';

/** What the queue reports; metrics.ts implements it with controller-runtime's workqueue_* names. */
export type WorkQueueMetrics = {
  added(): void;
  depth(depth: number): void;
  /** Seconds a key waited between being queued and being handed to a worker. */
  queued(seconds: number): void;
  /** Seconds between `get` and `done`. */
  worked(seconds: number): void;
  retried(): void;
  /** Lets the metrics read in-flight work at scrape time. */
  track(queue: { unfinishedWorkSeconds(): number; longestRunningProcessorSeconds(): number }): void;
};

export type WorkQueueOptions = {
  name?: string;
  rateLimiter?: RateLimiter;
  clock?: Clock;
  metrics?: WorkQueueMetrics;
};

export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly metrics: WorkQueueMetrics | undefined;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>();
  /** When each queued key was added, for the queue-duration metric. */
  private readonly queuedAt = new Map<string, number>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private shuttingDown = false;
  /** Delayed keys and when they become ready; one timer is armed for the earliest. */
  private readonly waiting = new Map<string, number>();
  private timer: TimerHandle | undefined;
  private timerDue = Infinity;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? '';
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter(this.clock);
    this.metrics = options.metrics;
    this.metrics?.track(this);
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.added();
    this.dirty.add(key);
    // A key being processed stays out of the queue; `done` queues it again.
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /**
   * The next key, waiting until one is queued. `undefined` means the queue is shut down and empty:
   * the worker should exit. Every key received must be given back with `done`.
   */
  get(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile, it is queued again now. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics?.worked((this.clock.now() - started) / 1000);
    if (this.dirty.has(key)) this.push(key);
    if (this.processing.size === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Ends retry tracking for `key`: its next failure starts the backoff from the beginning. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Adds `key` after `ms`; if it is already waiting, the earlier of the two times wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    this.metrics?.retried();
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const ready = this.clock.now() + ms;
    const current = this.waiting.get(key);
    if (current !== undefined && current <= ready) return;
    this.waiting.set(key, ready);
    this.arm();
  }

  /** Keys queued and ready for a worker (not the delayed ones, not those in progress). */
  len(): number {
    return this.queue.length;
  }

  /** Keys scheduled by addAfter/addRateLimited and not yet ready. */
  delayed(): number {
    return this.waiting.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting keys, drops delayed ones and releases idle `get` callers. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.waiting.clear();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
    for (const resolve of this.getters.splice(0)) resolve(undefined);
  }

  /** shutDown, then resolves once no key is being processed. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  unfinishedWorkSeconds(): number {
    const now = this.clock.now();
    let total = 0;
    for (const started of this.processing.values()) total += now - started;
    return total / 1000;
  }

  longestRunningProcessorSeconds(): number {
    const now = this.clock.now();
    let oldest = now;
    for (const started of this.processing.values()) oldest = Math.min(oldest, started);
    return (now - oldest) / 1000;
  }

  private push(key: string): void {
    this.queue.push(key);
    this.queuedAt.set(key, this.clock.now());
    // Hand keys straight to waiting workers so no wake-up can be lost.
    while (this.getters.length > 0 && this.queue.length > 0) {
      const resolve = this.getters.shift() as (key: string | undefined) => void;
      resolve(this.take());
    }
    this.metrics?.depth(this.queue.length);
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    const now = this.clock.now();
    this.processing.set(key, now);
    this.dirty.delete(key);
    this.metrics?.queued((now - (this.queuedAt.get(key) ?? now)) / 1000);
    this.queuedAt.delete(key);
    this.metrics?.depth(this.queue.length);
    return key;
  }

  private arm(): void {
    let earliest = Infinity;
    for (const ready of this.waiting.values()) earliest = Math.min(earliest, ready);
    if (earliest >= this.timerDue) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerDue = earliest;
    // Under event-loop lag the earliest item may already be due: never a negative delay.
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, earliest - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = this.clock.now();
    const ready = [...this.waiting].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
    for (const [key] of ready) {
      this.waiting.delete(key);
      this.add(key);
    }
    if (this.waiting.size > 0) this.arm();
  }
}
