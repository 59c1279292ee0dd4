// Finds an unused block so that a fix can name a concrete CIDR ("use 172.20.0.0/16") instead of
// "pick another range". Deterministic: the first free aligned block in the first pool that has one.
import { addressBits, cidr, cidrsOverlap, type Cidr, type IpFamily } from './cidr.ts';

// RFC 1918 private ranges for IPv4 (172.16/12 first, the range the seed's example uses), RFC 4193
// unique local addresses for IPv6.
export const privatePools: Record<IpFamily, readonly Cidr[]> = {
  IPv4: [cidr('172.16.0.0/12'), cidr('10.0.0.0/8'), cidr('192.168.0.0/16')],
  IPv6: [cidr('fd00::/8')],
};

export function findFreeCidr(
  family: IpFamily,
  prefixLength: number,
  taken: readonly Cidr[],
  pools: readonly Cidr[] = privatePools[family],
): Cidr | undefined {
  const size = 1n << BigInt(addressBits(family) - prefixLength);
  for (const pool of pools) {
    if (pool.family !== family || pool.prefixLength > prefixLength) continue;
    let first = pool.first;
    while (first + size - 1n <= pool.last) {
      const candidate: Cidr = { family, prefixLength, first, last: first + size - 1n };
      const blocker = taken.find((used) => cidrsOverlap(used, candidate));
      if (!blocker) return candidate;
      // Jump past the blocking range to the next aligned block; each step moves forward.
      first = ((blocker.last + 1n + size - 1n) / size) * size;
    }
  }
  return undefined;
}
