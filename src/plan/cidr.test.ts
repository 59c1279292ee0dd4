import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import {
  addressBits,
  cidrAddressCount,
  cidrContains,
  cidrFromAddress,
  cidrsOverlap,
  formatAddress,
  formatCidr,
  parseCidr,
  type Cidr,
  type IpFamily,
} from './cidr.ts';

function parsed(text: string): Cidr {
  const result = parseCidr(text);
  assert.ok(result.ok, `${text} should parse`);
  return result.cidr;
}

describe('parseCidr', () => {
  test('reads IPv4 and IPv6 blocks into integer ranges', () => {
    const v4 = parsed('172.16.0.0/16');
    assert.equal(v4.family, 'IPv4');
    assert.equal(v4.prefixLength, 16);
    assert.equal(v4.first, 0xac100000n);
    assert.equal(v4.last, 0xac10ffffn);
    const v6 = parsed('fd00:10::/56');
    assert.equal(v6.family, 'IPv6');
    assert.equal(v6.first, 0xfd000010n << 96n);
    assert.equal(cidrAddressCount(v6), 1n << 72n);
  });

  test('reports host bits set and gives the canonical block', () => {
    const result = parseCidr('172.16.1.0/16');
    assert.ok(result.ok);
    assert.equal(result.hostBitsSet, true);
    assert.equal(result.canonical, '172.16.0.0/16');
    const v6 = parseCidr('FD00:0:0::1/64');
    assert.ok(v6.ok);
    assert.equal(v6.hostBitsSet, true);
    assert.equal(v6.canonical, 'fd00::/64');
  });

  test('canonical IPv6 spelling is RFC 5952: lower case, longest zero run compressed', () => {
    const result = parseCidr('2001:0DB8:0000:0000:0001:0000:0000:0000/128');
    assert.ok(result.ok);
    assert.equal(result.canonical, '2001:db8:0:0:1::/128');
    assert.equal(result.hostBitsSet, false);
  });

  test('IPv4-mapped IPv6 addresses are IPv6 blocks', () => {
    const result = parseCidr('::ffff:10.0.0.0/120');
    assert.ok(result.ok);
    assert.equal(result.cidr.family, 'IPv6');
    assert.equal(result.hostBitsSet, false);
  });

  const invalid: [string, RegExp][] = [
    ['', /empty/],
    ['10.0.0.0', /no prefix length/],
    ['10.0.0.0/33', /0 to 32/],
    ['fd00::/129', /0 to 128/],
    ['10.0.0.0/016', /not a number/],
    ['10.0.0.0/-1', /not a number/],
    ['010.0.0.0/8', /leading zero/],
    ['10.0.0/8', /not an IPv4 or IPv6 address/],
    ['10/8', /not an IPv4 or IPv6 address/],
    ['0x0a.0.0.0/8', /not an IPv4 or IPv6 address/],
    ['256.0.0.0/8', /above 255/],
    ['fe80::1%eth0/64', /zone index/],
    ['fd00:::1/64', /not an IPv6 address/],
    [' 10.0.0.0/8', /spaces/],
    ['10.0.0.0/8 ', /spaces/],
  ];
  for (const [text, reason] of invalid) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      const result = parseCidr(text);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, reason);
    });
  }
});

describe('overlap and containment', () => {
  test('different families never overlap', () => {
    assert.equal(cidrsOverlap(parsed('0.0.0.0/0'), parsed('::/0')), false);
    assert.equal(cidrContains(parsed('::/0'), parsed('10.0.0.0/8')), false);
  });

  test('examples', () => {
    assert.equal(cidrsOverlap(parsed('172.16.0.0/16'), parsed('172.16.255.0/24')), true);
    assert.equal(cidrsOverlap(parsed('172.16.0.0/16'), parsed('172.17.0.0/16')), false);
    assert.equal(cidrContains(parsed('192.168.0.0/16'), parsed('192.168.1.0/24')), true);
    assert.equal(cidrContains(parsed('192.168.1.0/24'), parsed('192.168.0.0/16')), false);
    assert.equal(cidrContains(parsed('10.0.0.0/8'), parsed('10.0.0.0/8')), true);
  });
});

// Brute-force reference: small address spaces (256 addresses) at the bottom, middle and top of
// each family, where every member of a block can be listed. Membership comes from ipaddr.js's
// own `match`, an implementation independent of the bigint arithmetic under test.
interface Universe {
  family: IpFamily;
  base: bigint;
}
const universes: Universe[] = [
  { family: 'IPv4', base: 0n },
  { family: 'IPv4', base: 0x0a010200n },
  { family: 'IPv4', base: 0xffffff00n },
  { family: 'IPv6', base: 0n },
  { family: 'IPv6', base: 0xfd00n << 112n },
  { family: 'IPv6', base: (1n << 128n) - 256n },
];

const smallCidr = (universe: Universe) =>
  fc.record({ offset: fc.integer({ min: 0, max: 255 }), hostBits: fc.integer({ min: 0, max: 8 }) }).map(({ offset, hostBits }) => {
    const text = `${formatAddress(universe.family, universe.base + BigInt(offset))}/${addressBits(universe.family) - hostBits}`;
    return { text, offset };
  });

function members(universe: Universe, text: string): Set<number> {
  const range = ipaddr.parseCIDR(text);
  const set = new Set<number>();
  for (let offset = 0; offset < 256; offset++) {
    if (ipaddr.parse(formatAddress(universe.family, universe.base + BigInt(offset))).match(range)) set.add(offset);
  }
  return set;
}

function parseRelaxed(text: string): Cidr {
  const result = parseCidr(text);
  assert.ok(result.ok, `${text}: ${result.ok ? '' : result.reason}`);
  return result.cidr;
}

describe('CIDR arithmetic against a brute-force reference', () => {
  for (const universe of universes) {
    const name = `${universe.family} near ${formatAddress(universe.family, universe.base)}`;
    const pair = fc.tuple(smallCidr(universe), smallCidr(universe));

    test(`size equals the number of member addresses (${name})`, () => {
      fc.assert(
        fc.property(smallCidr(universe), ({ text }) => {
          assert.equal(cidrAddressCount(parseRelaxed(text)), BigInt(members(universe, text).size));
        }),
      );
    });

    test(`overlap equals a shared member address (${name})`, () => {
      fc.assert(
        fc.property(pair, ([a, b]) => {
          const setA = members(universe, a.text);
          const shared = [...members(universe, b.text)].some((offset) => setA.has(offset));
          assert.equal(cidrsOverlap(parseRelaxed(a.text), parseRelaxed(b.text)), shared);
        }),
      );
    });

    test(`containment equals a subset of member addresses (${name})`, () => {
      fc.assert(
        fc.property(pair, ([outer, inner]) => {
          const outerSet = members(universe, outer.text);
          const subset = [...members(universe, inner.text)].every((offset) => outerSet.has(offset));
          assert.equal(cidrContains(parseRelaxed(outer.text), parseRelaxed(inner.text)), subset);
        }),
      );
    });

    test(`the canonical form covers the same addresses and has no host bits (${name})`, () => {
      fc.assert(
        fc.property(smallCidr(universe), ({ text }) => {
          const result = parseCidr(text);
          assert.ok(result.ok);
          assert.deepEqual(members(universe, result.canonical), members(universe, text));
          const again = parseCidr(result.canonical);
          assert.ok(again.ok);
          assert.equal(again.hostBitsSet, false);
          assert.deepEqual(again.cidr, result.cidr);
          const address = ipaddr.parse(text.slice(0, text.indexOf('/'))).toNormalizedString();
          const network = (universe.family === 'IPv4' ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(text).toNormalizedString();
          assert.equal(result.hostBitsSet, address !== network);
        }),
      );
    });
  }
});

describe('CIDR arithmetic over the whole address space', () => {
  const anyIPv4 = fc.record({ value: fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), prefix: fc.integer({ min: 0, max: 32 }) });
  const anyIPv6 = fc.record({ value: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), prefix: fc.integer({ min: 0, max: 128 }) });

  test('network and last address agree with ipaddr.js for IPv4', () => {
    fc.assert(
      fc.property(anyIPv4, ({ value, prefix }) => {
        const text = `${formatAddress('IPv4', value)}/${prefix}`;
        const block = cidrFromAddress('IPv4', value, prefix);
        assert.equal(formatAddress('IPv4', block.first), ipaddr.IPv4.networkAddressFromCIDR(text).toString());
        assert.equal(formatAddress('IPv4', block.last), ipaddr.IPv4.broadcastAddressFromCIDR(text).toString());
      }),
    );
  });

  test('network and last address agree with ipaddr.js for IPv6', () => {
    fc.assert(
      fc.property(anyIPv6, ({ value, prefix }) => {
        const text = `${formatAddress('IPv6', value)}/${prefix}`;
        const block = cidrFromAddress('IPv6', value, prefix);
        assert.equal(formatAddress('IPv6', block.first), ipaddr.IPv6.networkAddressFromCIDR(text).toRFC5952String());
        assert.equal(formatAddress('IPv6', block.last), ipaddr.IPv6.broadcastAddressFromCIDR(text).toRFC5952String());
      }),
    );
  });

  test('format then parse is the identity on canonical blocks', () => {
    fc.assert(
      fc.property(fc.oneof(anyIPv4.map((v) => ({ ...v, family: 'IPv4' as const })), anyIPv6.map((v) => ({ ...v, family: 'IPv6' as const }))), ({ family, value, prefix }) => {
        const block = cidrFromAddress(family, value, prefix);
        const result = parseCidr(formatCidr(block));
        assert.ok(result.ok);
        assert.deepEqual(result.cidr, block);
        assert.equal(result.hostBitsSet, false);
        assert.equal(result.canonical, formatCidr(block));
      }),
    );
  });
});
