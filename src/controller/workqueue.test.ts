import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.ts';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.ts';
import { WorkQueue } from './workqueue.ts';

test('a key queued twice is handed out once', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('a');
  queue.add('b');
  queue.add('a');
  assert.equal(queue.len(), 2);
  assert.equal(await queue.get(), 'a');
  assert.equal(await queue.get(), 'b');
  assert.equal(queue.len(), 0);
});

test('a key added while it is processed is processed again once, after done, never concurrently', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('a');
  assert.equal(await queue.get(), 'a');
  queue.add('a');
  queue.add('a');
  assert.equal(queue.len(), 0, 'not handed to a second worker while the first holds it');
  let second: string | undefined;
  const waiting = queue.get().then((key) => (second = key));
  await Promise.resolve();
  assert.equal(second, undefined);
  queue.done('a');
  await waiting;
  assert.equal(second, 'a', 'the dirty key comes back after done');
  queue.done('a');
  assert.equal(queue.len(), 0, 'two adds while processing cause one extra pass, not two');
});

test('get waits for the next add', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  const next = queue.get();
  queue.add('late');
  assert.equal(await next, 'late');
});

test('addAfter delays a key; the earlier of two schedules wins', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  queue.addAfter('a', 100);
  queue.addAfter('a', 50);
  queue.addAfter('b', 50);
  queue.addAfter('b', 100);
  clock.advance(49);
  assert.equal(queue.len(), 0);
  clock.advance(1);
  assert.equal(queue.len(), 2);
  queue.done((await queue.get()) as string);
  queue.done((await queue.get()) as string);
  clock.advance(100);
  assert.equal(queue.len(), 0, 'the later schedules were replaced, not kept');
  assert.equal(queue.delayed(), 0);
});

test('addRateLimited backs off exponentially per key until forget', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  const readyAfter: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const start = clock.now();
    queue.addRateLimited('a');
    while (queue.len() === 0) clock.advance(1);
    readyAfter.push(clock.now() - start);
    queue.done((await queue.get()) as string);
  }
  assert.deepEqual(readyAfter, [5, 10, 20, 40, 80]);
  assert.equal(queue.numRequeues('a'), 5);
  queue.forget('a');
  assert.equal(queue.numRequeues('a'), 0);
  queue.addRateLimited('a');
  clock.advance(5);
  assert.equal(queue.len(), 1, 'after forget the backoff starts at 5ms again');
});

test('the overall bucket holds back a burst of failures across many keys', () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  for (let i = 0; i < 150; i++) queue.addRateLimited(`key-${i}`);
  clock.advance(5);
  assert.equal(queue.len(), 100, 'burst of 100');
  clock.advance(95);
  assert.equal(queue.len(), 101, 'then 10 per second');
  clock.advance(4_900);
  assert.equal(queue.len(), 150);
});

test('shutDown releases idle workers, still hands out queued keys, and ignores new adds', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock, rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000) });
  const idle = queue.get();
  queue.add('x');
  assert.equal(await idle, 'x');
  queue.add('queued');
  queue.addAfter('delayed', 10);
  queue.shutDown();
  queue.add('after');
  clock.advance(100);
  assert.equal(await queue.get(), 'queued');
  assert.equal(await queue.get(), undefined, 'delayed and late keys are dropped');
  assert.equal(queue.isShuttingDown(), true);
  const other = new WorkQueue({ clock });
  const waiting = other.get();
  other.shutDown();
  assert.equal(await waiting, undefined);
});

test('shutDownWithDrain resolves only when keys in progress are done', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('a');
  const key = (await queue.get()) as string;
  let drained = false;
  const drain = queue.shutDownWithDrain().then(() => (drained = true));
  await Promise.resolve();
  assert.equal(drained, false);
  queue.done(key);
  await drain;
  assert.equal(drained, true);
});

test('the queue reports adds, depth, waits, work time and retries', async () => {
  const clock = new ManualClock();
  const seen = { added: 0, depth: [] as number[], queued: [] as number[], worked: [] as number[], retried: 0 };
  let tracked: { unfinishedWorkSeconds(): number; longestRunningProcessorSeconds(): number } | undefined;
  const queue = new WorkQueue({
    clock,
    metrics: {
      added: () => seen.added++,
      depth: (depth) => seen.depth.push(depth),
      queued: (seconds) => seen.queued.push(seconds),
      worked: (seconds) => seen.worked.push(seconds),
      retried: () => seen.retried++,
      track: (queue) => (tracked = queue),
    },
  });
  queue.add('a');
  queue.add('a');
  clock.advance(2_000);
  const key = (await queue.get()) as string;
  clock.advance(3_000);
  assert.equal(tracked?.unfinishedWorkSeconds(), 3);
  assert.equal(tracked?.longestRunningProcessorSeconds(), 3);
  queue.done(key);
  queue.addRateLimited('a');
  assert.equal(seen.added, 1, 'a deduplicated add is not counted');
  assert.deepEqual(seen.depth, [1, 0]);
  assert.deepEqual(seen.queued, [2]);
  assert.deepEqual(seen.worked, [3]);
  assert.equal(seen.retried, 1);
});
