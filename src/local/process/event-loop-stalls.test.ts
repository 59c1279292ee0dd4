import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchEventLoopStalls } from './event-loop-stalls.ts';

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a stall longer than the threshold is reported with its length; short ones are not', async () => {
  const stalls: number[] = [];
  const stop = watchEventLoopStalls((ms) => stalls.push(ms), 150, 20);
  try {
    await sleep(60);
    block(50);
    await sleep(60);
    assert.deepEqual(stalls, [], 'a 50 ms block is below the threshold');
    block(400);
    await sleep(60);
    assert.equal(stalls.length, 1, JSON.stringify(stalls));
    assert.ok((stalls[0] ?? 0) >= 350 && (stalls[0] ?? 0) <= 700, `reported ${stalls[0]} ms for a 400 ms block`);
  } finally {
    stop();
  }
});
