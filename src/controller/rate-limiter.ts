// Rate limiters for the workqueue, with client-go's names and numbers
// (k8s.io/client-go/util/workqueue/default_rate_limiters.go): a per-key exponential backoff so one
// failing object retries ever more slowly, and an overall token bucket so a burst of failures
// across many objects cannot hammer the API server. `when` is called once per retry and counts it.
import { systemClock, type Clock } from './clock.ts';

export type RateLimiter = {
  /** Delay in ms before `key` may be retried; counts one more failure for `key`. */
  when(key: string): number;
  /** Clears the failure history of `key` (call after a successful reconcile). */
  forget(key: string): void;
  /** Failures counted for `key` since its last `forget`. */
  numRequeues(key: string): number;
};

/** baseDelay·2^failures, capped at maxDelay. */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(baseDelayMs: number, maxDelayMs: number) {
    if (!(baseDelayMs > 0) || !(maxDelayMs >= baseDelayMs)) {
      throw new Error(`ItemExponentialFailureRateLimiter: need 0 < baseDelayMs (${baseDelayMs}) <= maxDelayMs (${maxDelayMs})`);
    }
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
  }

  when(key: string): number {
    const exponent = this.failures.get(key) ?? 0;
    this.failures.set(key, exponent + 1);
    // 2^exponent overflows to Infinity long before it matters; the cap handles both.
    return Math.min(this.baseDelayMs * 2 ** exponent, this.maxDelayMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * A token bucket like golang.org/x/time/rate's Reserve: `burst` tokens, refilled at `qps`; every
 * `when` takes a token, and when none is left the caller waits until its token would have refilled.
 */
export class BucketRateLimiter implements RateLimiter {
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;

  constructor(qps: number, burst: number, clock: Clock = systemClock) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`BucketRateLimiter: need qps > 0 (got ${qps}) and burst >= 1 (got ${burst})`);
    this.qps = qps;
    this.burst = burst;
    this.clock = clock;
    this.tokens = burst;
    this.last = clock.now();
  }

  when(): number {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
    }
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  forget(): void {}

  numRequeues(): number {
    return 0;
  }
}

/** The longest delay of its limiters; requeues are counted by the one that counts most. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    if (limiters.length === 0) throw new Error('MaxOfRateLimiter: give at least one rate limiter');
    this.limiters = limiters;
  }

  when(key: string): number {
    // Every limiter must see every failure, so no short-circuit here.
    return Math.max(...this.limiters.map((limiter) => limiter.when(key)));
  }

  forget(key: string): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  numRequeues(key: string): number {
    return Math.max(...this.limiters.map((limiter) => limiter.numRequeues(key)));
  }
}

/** client-go's DefaultTypedControllerRateLimiter: max(5ms·2^n capped at 1000s, 10 qps burst 100). */
export function defaultControllerRateLimiter(clock: Clock = systemClock): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1_000_000), new BucketRateLimiter(10, 100, clock));
}
