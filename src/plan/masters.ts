// Control-plane sizing by worker count.
//
// Seed 000 (ACK): masters are at least 4 CPU / 8 GiB; up to 100 nodes 8 CPU / 32 GiB; 100 to 200
// nodes 16 CPU / 64 GiB; three masters, all the same size. The seed stops at 200 nodes, so the
// larger tiers are ours: they continue its pattern (CPU and memory double, 4 GiB per CPU) at the
// same ratio to the upstream reference. Kubernetes' kube-up (cluster/gce, get-master-size) gives
// masters 4 vCPU for 11-100 nodes, 8 up to 250, 16 up to 500 and 32 above; the seed's tiers are
// twice that, so Tessera continues at twice it:
//   201-500 nodes: 32 CPU / 128 GiB;  more than 500: 64 CPU / 256 GiB.
// Beyond 5,000 nodes upstream gives no guarantee at all (scalability thresholds), and capacity.ts
// warns about that separately.
import type { ClusterType, InstanceSpec } from './cluster-plan.ts';
import type { Finding } from './finding.ts';

export interface MasterTier {
  /** Largest worker count this tier serves. */
  upToNodes: number;
  cpu: number;
  memoryGiB: number;
}

export const masterMinimum: InstanceSpec = { cpu: 4, memoryGiB: 8 };
export const masterTiers: readonly MasterTier[] = [
  { upToNodes: 100, cpu: 8, memoryGiB: 32 },
  { upToNodes: 200, cpu: 16, memoryGiB: 64 },
  { upToNodes: 500, cpu: 32, memoryGiB: 128 },
  { upToNodes: Infinity, cpu: 64, memoryGiB: 256 },
];
export const highlyAvailableMasters = 3;

export interface MasterSizing {
  count: number;
  cpu: number;
  memoryGiB: number;
  /** False for Serverless: the provider runs a control plane nobody sees or sizes. */
  userVisible: boolean;
  tier: string;
  note: string;
}

export function masterTierFor(workerNodes: number): MasterTier {
  const tier = masterTiers.find((t) => workerNodes <= t.upToNodes);
  // The last tier is unbounded, so find always succeeds.
  return tier ?? (masterTiers[masterTiers.length - 1] as MasterTier);
}

function tierLabel(tier: MasterTier, index: number): string {
  const previous = masterTiers[index - 1]?.upToNodes;
  if (previous === undefined) return `up to ${tier.upToNodes} nodes`;
  return tier.upToNodes === Infinity ? `more than ${previous} nodes` : `${previous + 1}-${tier.upToNodes} nodes`;
}

export interface MasterInput {
  clusterType: ClusterType;
  workerNodes: number | null;
  /** Replicas fixed by the source (a Cluster's Minimal mode runs one), and where they were set. */
  replicas?: number;
  replicasField?: string;
  /** A Dedicated cluster's own master instance, to check against the tier. */
  instance?: InstanceSpec;
  instanceField: string;
}

export function sizeMasters(input: MasterInput): { masters: MasterSizing; findings: Finding[] } {
  const findings: Finding[] = [];
  if (input.clusterType === 'Serverless') {
    return {
      masters: {
        count: 0,
        cpu: 0,
        memoryGiB: 0,
        userVisible: false,
        tier: 'none',
        note: 'none user visible: in a Serverless cluster the platform runs the control plane, so there is nothing to size',
      },
      findings,
    };
  }
  const workers = input.workerNodes ?? 0;
  const tier = masterTierFor(workers);
  const label = tierLabel(tier, masterTiers.indexOf(tier));
  const count = input.replicas ?? highlyAvailableMasters;
  const who = input.clusterType === 'Dedicated' ? 'your own master instances' : 'hosted by Tessera';
  const masters: MasterSizing = {
    count,
    cpu: tier.cpu,
    memoryGiB: tier.memoryGiB,
    userVisible: true,
    tier: label,
    note: `${count} master${count === 1 ? '' : 's'} (${who}) sized for ${label}; etcd on SSD disks`,
  };
  if (count === 1) {
    findings.push({
      severity: 'warning',
      field: input.replicasField ?? input.instanceField,
      message: 'one master: any restart or node loss stops the API and etcd has no quorum to fall back on',
      fix: 'use Standard mode (3 masters) for anything but tests',
    });
  }
  const instance = input.instance;
  if (instance && input.clusterType === 'Managed') {
    findings.push({
      severity: 'warning',
      field: input.instanceField,
      message: 'a Managed cluster\'s masters are sized by Tessera; the given master instance is ignored',
      fix: 'remove it, or choose a Dedicated cluster to run your own masters',
    });
  } else if (instance) {
    if (instance.cpu < masterMinimum.cpu || instance.memoryGiB < masterMinimum.memoryGiB) {
      findings.push({
        severity: 'error',
        field: input.instanceField,
        message: `masters of ${instance.cpu} CPU / ${instance.memoryGiB} GiB are below the minimum of ${masterMinimum.cpu} CPU / ${masterMinimum.memoryGiB} GiB`,
        fix: `use at least ${tier.cpu} CPU / ${tier.memoryGiB} GiB for ${label}`,
      });
    } else if (instance.cpu < tier.cpu || instance.memoryGiB < tier.memoryGiB) {
      findings.push({
        severity: 'warning',
        field: input.instanceField,
        message: `masters of ${instance.cpu} CPU / ${instance.memoryGiB} GiB are smaller than the ${tier.cpu} CPU / ${tier.memoryGiB} GiB recommended for ${label}`,
        fix: `use ${tier.cpu} CPU / ${tier.memoryGiB} GiB masters, all three the same size`,
      });
    }
  }
  return { masters, findings };
}
