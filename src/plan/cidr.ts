// CIDR blocks as integer ranges. Parsing goes through ipaddr.js (which knows every IPv6 spelling);
// the arithmetic uses bigint so IPv4 and IPv6 share one code path and a /0 IPv6 block is exact.
import ipaddr from 'ipaddr.js';

export type IpFamily = 'IPv4' | 'IPv6';

/** A CIDR block in canonical form: `first` is the network address, host bits are zero. */
export interface Cidr {
  readonly family: IpFamily;
  readonly prefixLength: number;
  readonly first: bigint;
  readonly last: bigint;
}

export type CidrParseResult =
  | {
      ok: true;
      cidr: Cidr;
      /** The canonical spelling, e.g. `172.16.0.0/16` for `172.16.1.0/16`, `fd00::/64` for `FD00:0::1/64`. */
      canonical: string;
      /** True when the address had bits set beyond the prefix: Kubernetes rejects such a CIDR. */
      hostBitsSet: boolean;
    }
  | { ok: false; reason: string };

export function addressBits(family: IpFamily): 32 | 128 {
  return family === 'IPv4' ? 32 : 128;
}

// Strict dotted quad: ipaddr.js also accepts `10`, `0x0a.0.0.1` and octal `010.0.0.0`, which
// Kubernetes (Go's net/netip) rejects, so the planner must not silently read them differently.
const ipv4Pattern = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const prefixPattern = /^(0|[1-9]\d{0,2})$/;

export function parseCidr(text: string): CidrParseResult {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'is empty' };
  if (trimmed !== text) return { ok: false, reason: 'has spaces around it' };
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, reason: 'has no prefix length (write address/prefix, e.g. 10.0.0.0/16)' };
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);

  let family: IpFamily;
  let value: bigint;
  const quad = ipv4Pattern.exec(addressText);
  if (quad) {
    const octets = quad.slice(1).map(Number);
    if (octets.some((octet) => octet > 255)) return { ok: false, reason: `has an octet above 255 in "${addressText}"` };
    family = 'IPv4';
    value = octets.reduce((sum, octet) => (sum << 8n) | BigInt(octet), 0n);
  } else if (addressText.includes(':')) {
    if (addressText.includes('%')) return { ok: false, reason: 'has an IPv6 zone index (%...), which a CIDR cannot carry' };
    if (!ipaddr.IPv6.isValid(addressText)) return { ok: false, reason: `"${addressText}" is not an IPv6 address` };
    family = 'IPv6';
    value = ipaddr.IPv6.parse(addressText)
      .toByteArray()
      .reduce((sum, byte) => (sum << 8n) | BigInt(byte), 0n);
  } else if (/^[\d.]+$/.test(addressText) && addressText.split('.').some((part) => /^0\d/.test(part))) {
    return { ok: false, reason: `"${addressText}" has a leading zero in an octet, which some parsers read as octal` };
  } else {
    return { ok: false, reason: `"${addressText}" is not an IPv4 or IPv6 address` };
  }

  const bits = addressBits(family);
  if (!prefixPattern.test(prefixText) || Number(prefixText) > bits) {
    return { ok: false, reason: `prefix length "/${prefixText}" is not a number from 0 to ${bits} for ${family}` };
  }
  const cidr = cidrFromAddress(family, value, Number(prefixText));
  return { ok: true, cidr, canonical: formatCidr(cidr), hostBitsSet: cidr.first !== value };
}

/** The block of the given prefix length that contains `address` (host bits cleared). */
export function cidrFromAddress(family: IpFamily, address: bigint, prefixLength: number): Cidr {
  const hostBits = BigInt(addressBits(family) - prefixLength);
  const first = (address >> hostBits) << hostBits;
  return { family, prefixLength, first, last: first + (1n << hostBits) - 1n };
}

export function formatAddress(family: IpFamily, value: bigint): string {
  const byteCount = addressBits(family) / 8;
  const bytes: number[] = [];
  for (let i = byteCount - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 0xffn));
  const address = ipaddr.fromByteArray(bytes);
  return address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}

export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.family, cidr.first)}/${cidr.prefixLength}`;
}

export function cidrAddressCount(cidr: Cidr): bigint {
  return cidr.last - cidr.first + 1n;
}

/** Blocks of different families never overlap: they live in different address spaces. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

/** Parses a CIDR that the caller knows is valid (tables of constants); throws otherwise. */
export function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`invalid CIDR constant "${text}": ${parsed.reason}`);
  return parsed.cidr;
}
