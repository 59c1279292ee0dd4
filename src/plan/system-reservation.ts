// What a node keeps for itself (kubelet, container runtime, OS, eviction headroom) before pods
// get anything: Allocatable = Capacity - kube-reserved - system-reserved - eviction threshold.
//
// The amounts follow GKE's published reservation tiers, "Memory and CPU reservations" in
// https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes :
//   memory: 255 MiB on machines under 1 GiB; otherwise 25% of the first 4 GiB, 20% of the next
//           4 GiB, 10% of the next 8 GiB, 6% of the next 112 GiB and 2% above 128 GiB,
//           plus a 100 MiB hard eviction threshold;
//   CPU:    6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% above.
// GKE's tiers are chosen because they scale with the machine (a flat reservation starves large
// nodes' daemons or wastes small nodes) and because they are stated as a formula anyone can check.
// ACK splits its reservation the same way between kube and system daemons.
export interface NodeResources {
  cpu: number;
  memoryGiB: number;
}

export interface SystemReservation {
  cpu: number;
  memoryGiB: number;
  /** Part of memoryGiB: the kubelet's hard eviction threshold. */
  evictionMemoryGiB: number;
}

interface Tier {
  size: number;
  rate: number;
}

const memoryTiersGiB: readonly Tier[] = [
  { size: 4, rate: 0.25 },
  { size: 4, rate: 0.2 },
  { size: 8, rate: 0.1 },
  { size: 112, rate: 0.06 },
  { size: Infinity, rate: 0.02 },
];

const cpuTiersCores: readonly Tier[] = [
  { size: 1, rate: 0.06 },
  { size: 1, rate: 0.01 },
  { size: 2, rate: 0.005 },
  { size: Infinity, rate: 0.0025 },
];

const smallMachineMemoryGiB = 255 / 1024;
const evictionThresholdGiB = 100 / 1024;

function tiered(amount: number, tiers: readonly Tier[]): number {
  let remaining = amount;
  let reserved = 0;
  for (const tier of tiers) {
    const inTier = Math.min(remaining, tier.size);
    reserved += inTier * tier.rate;
    remaining -= inTier;
    if (remaining <= 0) break;
  }
  return reserved;
}

export function systemReservation(node: NodeResources): SystemReservation {
  const memory = node.memoryGiB < 1 ? smallMachineMemoryGiB : tiered(node.memoryGiB, memoryTiersGiB);
  return {
    cpu: tiered(node.cpu, cpuTiersCores),
    memoryGiB: memory + evictionThresholdGiB,
    evictionMemoryGiB: evictionThresholdGiB,
  };
}

export function allocatable(node: NodeResources): NodeResources {
  const reserved = systemReservation(node);
  return { cpu: node.cpu - reserved.cpu, memoryGiB: node.memoryGiB - reserved.memoryGiB };
}
