import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQuantity } from './quantity.ts';

test('reads CPU quantities in cores', () => {
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('1.5'), 1.5);
  assert.equal(parseQuantity('.5'), 0.5);
  assert.equal(parseQuantity(4), 4);
  assert.equal(parseQuantity('250u'), 0.00025);
});

test('reads memory quantities in bytes, binary and decimal', () => {
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
  assert.equal(parseQuantity('512Mi'), 512 * 2 ** 20);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('128k'), 128_000);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('2E-1'), 0.2);
  assert.equal(parseQuantity('1E'), 1e18);
});

test('rejects what is not a quantity', () => {
  for (const text of ['', 'Gi', '1GB', '1 Gi', '1gi', 'one', '1..2', '1Gi ']) assert.equal(parseQuantity(text), undefined, text);
  assert.equal(parseQuantity(Number.NaN), undefined);
});
