// Address ranges a pod, service or node network must not use. Errors are ranges that cannot work
// (the kernel or every cloud treats them specially); warnings are ranges that work on the wire but
// are reserved for documentation, so a plan using them was probably copied from an example.
import { cidr, type Cidr } from './cidr.ts';
import type { Severity } from './finding.ts';

export interface ReservedRange {
  cidr: Cidr;
  text: string;
  name: string;
  severity: Severity;
  source: string;
}

function range(text: string, name: string, severity: Severity, source: string): ReservedRange {
  return { cidr: cidr(text), text, name, severity, source };
}

export const reservedRanges: readonly ReservedRange[] = [
  range('0.0.0.0/8', '"this network"', 'error', 'RFC 791, RFC 6890'),
  range('127.0.0.0/8', 'loopback', 'error', 'RFC 1122'),
  // Cloud metadata services (169.254.169.254) and node-local DNS caches live here; AKS forbids
  // it for cluster networks and OpenShift reserves 169.254.0.0/17.
  range('169.254.0.0/16', 'link-local', 'error', 'RFC 3927'),
  range('224.0.0.0/4', 'multicast', 'error', 'RFC 5771'),
  range('240.0.0.0/4', 'reserved for future use and broadcast', 'error', 'RFC 1112, RFC 919'),
  range('192.0.2.0/24', 'documentation (TEST-NET-1)', 'warning', 'RFC 5737'),
  range('198.51.100.0/24', 'documentation (TEST-NET-2)', 'warning', 'RFC 5737'),
  range('203.0.113.0/24', 'documentation (TEST-NET-3)', 'warning', 'RFC 5737'),
  range('::/127', 'unspecified and loopback', 'error', 'RFC 4291'),
  range('fe80::/10', 'link-local', 'error', 'RFC 4291'),
  range('ff00::/8', 'multicast', 'error', 'RFC 4291'),
  range('2001:db8::/32', 'documentation', 'warning', 'RFC 3849'),
];

// Ranges a cluster may use without surprising anyone: RFC 1918, the shared address space that
// Gardener uses for pods by default (RFC 6598), and IPv6 unique local and global unicast space.
export const privateRanges: readonly Cidr[] = [
  cidr('10.0.0.0/8'),
  cidr('172.16.0.0/12'),
  cidr('192.168.0.0/16'),
  cidr('100.64.0.0/10'),
];
