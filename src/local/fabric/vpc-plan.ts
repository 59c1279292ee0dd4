// The local VPC's addressing, as pure functions. Every address here lives only inside network
// namespaces Tessera creates (the switch and the hosts), except the hosts' SSH addresses, which
// are loopback addresses of the box (Linux routes all of 127.0.0.0/8 to `lo`).
import { cidr, cidrFromAddress, formatCidr } from '../../plan/cidr.ts';

/** One local fabric per $TESSERA_HOME; `slot` keeps the loopback addresses of two homes apart. */
export type FabricIdentity = {
  /** Short random id that prefixes every namespace name of this fabric. */
  id: string;
  /** 0..49: the fabric's hosts answer SSH on 127.<200 + slot>.x.y. */
  slot: number;
};

/** The VPC inside the switch namespace. Guest pod (10.244/16) and service (10.96/12) defaults stay clear of it. */
export const VPC_CIDR = '10.240.0.0/16';
export const VPC_PREFIX_LENGTH = 16;
/** The switch's own address on its bridge: every host's default gateway (the VPC router). */
export const VPC_GATEWAY = '10.240.0.1';
/** Hosts are numbered from 1; host n has 10.240.<n / 250>.<n % 250 + 5>. */
export const MAX_HOSTS = 250 * 250;

export const FABRIC_SLOTS = 50;

export function vpcAddressOf(index: number): string {
  assertIndex(index);
  return `10.240.${Math.floor(index / 250)}.${(index % 250) + 5}`;
}

/** The loopback address (port 22) the meta cluster dials to reach host `index` over SSH. */
export function sshAddressOf(identity: FabricIdentity, index: number): string {
  assertIndex(index);
  if (!Number.isInteger(identity.slot) || identity.slot < 0 || identity.slot >= FABRIC_SLOTS) {
    throw new Error(`fabric slot ${identity.slot} is out of range 0..${FABRIC_SLOTS - 1}: delete $TESSERA_HOME/hosts/fabric.json to choose a new one`);
  }
  return `127.${200 + identity.slot}.${Math.floor(index / 250)}.${(index % 250) + 1}`;
}

function assertIndex(index: number): void {
  if (!Number.isInteger(index) || index < 1 || index >= MAX_HOSTS) throw new Error(`host index ${index} must be an integer from 1 to ${MAX_HOSTS - 1}`);
}

/** Network namespace names, as `ip netns` keeps them under /run/netns. */
export function switchNamespace(identity: FabricIdentity): string {
  return `tessera-${identity.id}-vpc`;
}

/** A name for the box's own network namespace, so relays can dial back into it with nsenter. */
export function boxNamespace(identity: FabricIdentity): string {
  return `tessera-${identity.id}-box`;
}

export function hostNamespace(identity: FabricIdentity, hostName: string): string {
  return `tessera-${identity.id}-${hostName}`;
}

/** The switch's end of host `index`'s cable; interface names have at most 15 characters. */
export function switchPortOf(index: number): string {
  assertIndex(index);
  return `port${index}`;
}

/** Host names become hostnames, namespace names and Kubernetes object names: DNS labels. */
export function validateHostName(name: string): string | undefined {
  if (!/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(name)) {
    return `host name "${name}" must be a DNS label of at most 40 characters: lower-case letters, digits and '-', starting and ending with a letter or digit`;
  }
  if (name === 'vpc' || name === 'box') return `host name "${name}" is reserved for a namespace of the fabric: choose another`;
  return undefined;
}

/**
 * An address every host has on its loopback device and where each host relays to the guest API
 * server: the guest's `kubernetes` Service endpoints point here, so pods reach the API through
 * the first Service IP. Inside the VPC range, never routed (each host answers it itself).
 */
export const API_RELAY_ADDRESS = '10.240.255.254';
export const API_RELAY_PORT = 6443;

/** The abstract Unix socket of the fabric's egress proxy (per network namespace, like a port). */
export function egressSocketName(identity: FabricIdentity): string {
  return `@tessera-egress-${identity.id}`;
}

/**
 * Host `index`'s block of the guest's pod range (`spec.network.podCIDR` split into
 * `nodeCIDRMaskSize` blocks), for guests whose network plugin is `none`: the fabric, like a
 * cloud route table, decides each host's pod subnet and routes it to the host.
 */
export function podSubnetOf(podCIDR: string, nodeMaskSize: number, index: number): string {
  const range = cidr(podCIDR);
  if (nodeMaskSize < range.prefixLength || nodeMaskSize > 30) throw new Error(`node pod block /${nodeMaskSize} does not fit in ${podCIDR}: use a mask size from ${range.prefixLength} to 30`);
  const blocks = 1n << BigInt(nodeMaskSize - range.prefixLength);
  if (BigInt(index) >= blocks) throw new Error(`host index ${index} has no pod block: ${podCIDR} holds ${blocks} blocks of /${nodeMaskSize}`);
  const size = 1n << BigInt(32 - nodeMaskSize);
  return formatCidr(cidrFromAddress(range.family, range.first + BigInt(index) * size, nodeMaskSize));
}
