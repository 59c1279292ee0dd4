import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCidr } from './cidr.ts';
import { reservedRanges } from './reserved-ranges.ts';

test('every reserved range is written canonically and names its source', () => {
  for (const range of reservedRanges) {
    assert.equal(formatCidr(range.cidr), range.text);
    assert.match(range.source, /^RFC \d+/);
  }
});

test('link-local 169.254.0.0/16 is an error', () => {
  assert.equal(reservedRanges.find((r) => r.text === '169.254.0.0/16')?.severity, 'error');
});
