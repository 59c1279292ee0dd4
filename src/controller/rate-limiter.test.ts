import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.ts';
import { BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter } from './rate-limiter.ts';

test('per-key backoff doubles from 5ms per failure and is capped at 1000s', () => {
  const limiter = new ItemExponentialFailureRateLimiter(5, 1_000_000);
  const delays = Array.from({ length: 6 }, () => limiter.when('a'));
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 160]);
  assert.equal(limiter.numRequeues('a'), 6);
  assert.equal(limiter.when('b'), 5, 'keys back off independently');
  for (let i = 0; i < 100; i++) limiter.when('a');
  assert.equal(limiter.when('a'), 1_000_000);
  limiter.forget('a');
  assert.equal(limiter.numRequeues('a'), 0);
  assert.equal(limiter.when('a'), 5, 'forget restarts the backoff');
});

test('the token bucket lets a burst through, then spaces retries at the rate', () => {
  const clock = new ManualClock();
  const bucket = new BucketRateLimiter(10, 100, clock);
  for (let i = 0; i < 100; i++) assert.equal(bucket.when(), 0);
  assert.equal(bucket.when(), 100, 'the 101st waits one token (100ms at 10 qps)');
  assert.equal(bucket.when(), 200, 'reservations queue up behind each other');
  clock.advance(1_000);
  // 1s refills 10 tokens; 2 were owed, so 8 are free.
  for (let i = 0; i < 8; i++) assert.equal(bucket.when(), 0);
  assert.equal(bucket.when(), 100);
});

test('the default controller limiter is the larger of the key backoff and the bucket', () => {
  const clock = new ManualClock();
  const limiter = defaultControllerRateLimiter(clock);
  assert.equal(limiter.when('a'), 5);
  assert.equal(limiter.when('a'), 10);
  for (let i = 0; i < 98; i++) limiter.when(`k${i}`);
  // The bucket is now empty: a fresh key waits for the bucket, not its own 5ms.
  assert.equal(limiter.when('fresh'), 100);
  assert.equal(limiter.numRequeues('a'), 2);
  limiter.forget('a');
  assert.equal(limiter.numRequeues('a'), 0);
});

test('limiters reject nonsensical settings with the values named', () => {
  assert.throws(() => new ItemExponentialFailureRateLimiter(0, 10), /baseDelayMs \(0\)/);
  assert.throws(() => new BucketRateLimiter(0, 10), /qps > 0/);
  assert.throws(() => new MaxOfRateLimiter(), /at least one/);
});
