// How many nodes a zone can hold: every node takes one address from its zone's vSwitch, minus the
// addresses the cloud keeps for itself. Alibaba Cloud reserves the first and the last three
// addresses of an IPv4 vSwitch and the first and the last nine of an IPv6 one (VPC CreateVSwitch
// API reference: 192.168.1.0/24 keeps .0, .253, .254 and .255), so a /24 holds 252 nodes.
import { cidrAddressCount, formatCidr, type Cidr } from './cidr.ts';

export const vswitchReservedAddresses = { IPv4: 4n, IPv6: 10n } as const;

export interface ZoneCapacity {
  name: string;
  vswitchCIDR: string | null;
  nodeCapacity: number;
}

export function vswitchNodeCapacity(vswitch: Cidr): number {
  const usable = cidrAddressCount(vswitch) - vswitchReservedAddresses[vswitch.family];
  if (usable <= 0n) return 0;
  return usable > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(usable);
}

export function zoneCapacities(zones: readonly { name: string; cidr: Cidr | null }[]): ZoneCapacity[] {
  return zones.map((zone) => ({
    name: zone.name,
    vswitchCIDR: zone.cidr ? formatCidr(zone.cidr) : null,
    nodeCapacity: zone.cidr ? vswitchNodeCapacity(zone.cidr) : 0,
  }));
}
