import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cidr, cidrFromAddress, formatCidr, type Cidr } from './cidr.ts';
import { findFreeCidr } from './free-cidr.ts';

test('finds the first free block of the private pools, skipping what is taken', () => {
  assert.equal(formatCidr(findFreeCidr('IPv4', 16, []) as Cidr), '172.16.0.0/16');
  assert.equal(formatCidr(findFreeCidr('IPv4', 16, [cidr('172.16.0.0/16'), cidr('172.17.0.0/20')]) as Cidr), '172.18.0.0/16');
  assert.equal(formatCidr(findFreeCidr('IPv4', 20, [cidr('172.16.0.0/12')]) as Cidr), '10.0.0.0/20');
  assert.equal(formatCidr(findFreeCidr('IPv6', 56, [cidr('fd00::/56')]) as Cidr), 'fd00:0:0:100::/56');
});

test('says so when no block is free', () => {
  assert.equal(findFreeCidr('IPv4', 24, [cidr('10.0.0.0/8')], [cidr('10.1.0.0/16')]), undefined);
  assert.equal(findFreeCidr('IPv4', 8, [], [cidr('10.1.0.0/16')]), undefined);
});

// Brute force over a /24 pool: list every aligned block of the wanted size in address order and
// take the first that shares no address with a taken block.
test('agrees with a brute-force search over a small pool', () => {
  const pool = cidr('10.1.2.0/24');
  const block = fc.record({ offset: fc.integer({ min: 0, max: 255 }), prefix: fc.integer({ min: 24, max: 32 }) }).map(({ offset, prefix }) =>
    cidrFromAddress('IPv4', pool.first + BigInt(offset), prefix),
  );
  fc.assert(
    fc.property(fc.array(block, { maxLength: 6 }), fc.integer({ min: 24, max: 32 }), (taken, prefix) => {
      const size = 2 ** (32 - prefix);
      const usedAddresses = new Set<number>();
      for (const used of taken) for (let a = Number(used.first - pool.first); a <= Number(used.last - pool.first); a++) usedAddresses.add(a);
      let expected: string | undefined;
      for (let start = 0; start < 256 && expected === undefined; start += size) {
        let free = true;
        for (let a = start; a < start + size; a++) if (usedAddresses.has(a)) free = false;
        if (free) expected = formatCidr(cidrFromAddress('IPv4', pool.first + BigInt(start), prefix));
      }
      const found = findFreeCidr('IPv4', prefix, taken, [pool]);
      assert.equal(found && formatCidr(found), expected);
    }),
  );
});
