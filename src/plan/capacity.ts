// How many worker nodes the workloads need, and whether the chosen count fits the network.
//
// Seed 000's rule made computable:
//   demand       = sum(replicas x requests) of the workloads (per-node workloads such as
//                  DaemonSets are taken off every node's allocatable instead);
//   allocatable  = instance - system reservation (GKE tiers, see system-reservation.ts);
//   worker nodes = ceil(1.2 x demand / allocatable per node) + 1
// for CPU and memory alike, and at least ceil(pods / pods per node) + 1 for the pod count. The
// 1.2 is the 20% redundancy the seed recommends; the + 1 means the loss of any one node leaves
// room for its pods elsewhere (the seed's "worker capacity reserve").
import type { NodesSpec, WorkloadSpec } from './cluster-plan.ts';
import type { Finding } from './finding.ts';
import { systemReservation } from './system-reservation.ts';
import type { ZoneCapacity } from './zone-capacity.ts';

export const redundancyFactor = { numerator: 6n, denominator: 5n } as const; // 1.2
export const spareNodes = 1;
// Kubernetes scalability thresholds (kubernetes/community sig-scalability): 5,000 nodes and
// 150,000 pods per cluster are the largest sizes upstream tests.
export const maxTestedNodes = 5000;
export const maxTestedPods = 150_000;

export interface CapacityInput {
  serverless: boolean;
  nodes?: NodesSpec;
  workloads: readonly WorkloadSpec[];
  maxPodsPerNode: number | null;
  maxNodes: number | null;
  zones: readonly ZoneCapacity[];
  /** Where the zones sit in the input, or undefined when no VPC was given. */
  zonesPath?: string;
  /** The field to blame when the recommended count outgrows the pod CIDR. */
  podCIDRField: string;
}

export interface NodeShape {
  cpu: number;
  memoryGiB: number;
  systemReservedCpu: number;
  systemReservedMemoryGiB: number;
  perNodeWorkloadCpu: number;
  perNodeWorkloadMemoryGiB: number;
  /** What is left for the replicated workloads on each node. */
  allocatableCpu: number;
  allocatableMemoryGiB: number;
  /** Max pods per node minus the per-node workloads' pods. */
  podsPerNode: number | null;
}

export interface CapacityReport {
  /** The checked count (spec.nodes.count) or the recommendation; null when it cannot be planned. */
  workerNodes: number | null;
  recommendedWorkerNodes: number | null;
  workerNodesSource: 'spec.nodes.count' | 'recommended' | 'none';
  demand: { cpu: number; memoryGiB: number; pods: number };
  node: NodeShape | null;
  /** Nodes needed for each resource before the spare node is added. */
  nodesFor: { cpu: number; memory: number; pods: number } | null;
}

const bytesPerGiB = 2 ** 30;

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function withRedundancy(demand: bigint, perNode: bigint): number {
  if (demand === 0n) return 0;
  return Number(ceilDiv(demand * redundancyFactor.numerator, perNode * redundancyFactor.denominator));
}

export function planCapacity(input: CapacityInput): { capacity: CapacityReport; findings: Finding[] } {
  const findings: Finding[] = [];
  const replicated = input.workloads.filter((w) => !w.perNode);
  const perNode = input.workloads.filter((w) => w.perNode);
  // CPU in millicores and memory in bytes, rounded up per replica as the scheduler does, so the
  // arithmetic is exact integers.
  const milli = (cores: number) => BigInt(Math.ceil(cores * 1000 - 1e-9));
  const bytes = (value: number) => BigInt(Math.ceil(value));
  const demandMilli = replicated.reduce((sum, w) => sum + BigInt(w.replicas) * milli(w.cpu), 0n);
  const demandBytes = replicated.reduce((sum, w) => sum + BigInt(w.replicas) * bytes(w.memoryBytes), 0n);
  const demandPods = replicated.reduce((sum, w) => sum + w.replicas, 0);
  const capacity: CapacityReport = {
    workerNodes: null,
    recommendedWorkerNodes: null,
    workerNodesSource: 'none',
    demand: { cpu: round(Number(demandMilli) / 1000), memoryGiB: round(Number(demandBytes) / bytesPerGiB), pods: demandPods },
    node: null,
    nodesFor: null,
  };

  if (input.serverless) {
    capacity.workerNodes = 0;
    capacity.recommendedWorkerNodes = 0;
    const addresses = input.zones.reduce((sum, zone) => sum + zone.nodeCapacity, 0);
    if (input.zonesPath !== undefined && input.zones.length > 0 && demandPods > addresses) {
      findings.push({
        severity: 'warning',
        field: input.zonesPath,
        message: `${demandPods} pods need ${demandPods} vSwitch addresses in a Serverless cluster but the zones have ${addresses}`,
        fix: 'use larger vSwitches or more zones',
      });
    }
    if (input.nodes?.count !== undefined || input.nodes?.instance !== undefined) {
      findings.push({
        severity: 'warning',
        field: 'spec.nodes',
        message: 'a Serverless cluster has no worker nodes: each pod runs as its own instance',
        fix: 'remove spec.nodes, or choose a Managed cluster to run pods on nodes',
      });
    }
    return { capacity, findings };
  }

  const instance = input.nodes?.instance;
  if (!instance) {
    if (input.nodes?.count !== undefined) {
      capacity.workerNodes = input.nodes.count;
      capacity.workerNodesSource = 'spec.nodes.count';
    }
    findings.push({
      severity: 'info',
      field: 'spec.nodes.instance',
      message: 'no node instance size: the worker count is not checked against the workloads',
      fix: 'set spec.nodes.instance {cpu, memoryGiB} to plan capacity',
    });
    checkCountAgainstNetwork(input, capacity, findings);
    return { capacity, findings };
  }

  const reserved = systemReservation(instance);
  const perNodeMilli = perNode.reduce((sum, w) => sum + milli(w.cpu), 0n);
  const perNodeBytes = perNode.reduce((sum, w) => sum + bytes(w.memoryBytes), 0n);
  const usableMilli = BigInt(Math.floor((instance.cpu - reserved.cpu) * 1000 + 1e-9)) - perNodeMilli;
  const usableBytes = BigInt(Math.floor((instance.memoryGiB - reserved.memoryGiB) * bytesPerGiB)) - perNodeBytes;
  const podsPerNode = input.maxPodsPerNode === null ? null : input.maxPodsPerNode - perNode.length;
  capacity.node = {
    cpu: instance.cpu,
    memoryGiB: instance.memoryGiB,
    systemReservedCpu: round(reserved.cpu),
    systemReservedMemoryGiB: round(reserved.memoryGiB),
    perNodeWorkloadCpu: round(Number(perNodeMilli) / 1000),
    perNodeWorkloadMemoryGiB: round(Number(perNodeBytes) / bytesPerGiB),
    allocatableCpu: round(Number(usableMilli) / 1000),
    allocatableMemoryGiB: round(Number(usableBytes) / bytesPerGiB),
    podsPerNode,
  };

  if (usableMilli <= 0n || usableBytes <= 0n || (podsPerNode !== null && podsPerNode <= 0)) {
    findings.push({
      severity: 'error',
      field: 'spec.nodes.instance',
      message: `a ${instance.cpu} CPU / ${instance.memoryGiB} GiB node has nothing left after the system reservation and the per-node workloads`,
      fix: 'choose a larger instance, or lower the per-node workloads\' requests',
    });
    return { capacity, findings };
  }

  input.workloads.forEach((workload, index) => {
    if (workload.perNode) return;
    if (milli(workload.cpu) > usableMilli) {
      findings.push({
        severity: 'error',
        field: `spec.workloads[${index}].cpu`,
        message: `one replica of ${workload.name} requests ${round(workload.cpu)} CPU but a node has ${capacity.node?.allocatableCpu} CPU allocatable, so it can never be scheduled`,
        fix: `lower the request to at most ${capacity.node?.allocatableCpu}, or choose an instance with more CPU`,
      });
    }
    if (bytes(workload.memoryBytes) > usableBytes) {
      findings.push({
        severity: 'error',
        field: `spec.workloads[${index}].memory`,
        message: `one replica of ${workload.name} requests ${round(workload.memoryBytes / bytesPerGiB)} GiB but a node has ${capacity.node?.allocatableMemoryGiB} GiB allocatable, so it can never be scheduled`,
        fix: `lower the request to at most ${capacity.node?.allocatableMemoryGiB}Gi, or choose an instance with more memory`,
      });
    }
  });

  const nodesFor = {
    cpu: withRedundancy(demandMilli, usableMilli),
    memory: withRedundancy(demandBytes, usableBytes),
    pods: podsPerNode === null || demandPods === 0 ? 0 : Math.ceil(demandPods / podsPerNode),
  };
  capacity.nodesFor = nodesFor;
  const recommended = Math.max(nodesFor.cpu, nodesFor.memory, nodesFor.pods) + spareNodes;
  capacity.recommendedWorkerNodes = recommended;
  const count = input.nodes?.count;
  capacity.workerNodes = count ?? recommended;
  capacity.workerNodesSource = count === undefined ? 'recommended' : 'spec.nodes.count';

  if (count !== undefined) {
    const fitCpu = demandMilli === 0n ? 0 : Number(ceilDiv(demandMilli, usableMilli));
    const fitMemory = demandBytes === 0n ? 0 : Number(ceilDiv(demandBytes, usableBytes));
    const bare = Math.max(fitCpu, fitMemory, nodesFor.pods);
    const formula = `ceil(1.2 x demand / allocatable per node) + ${spareNodes}`;
    if (count < bare) {
      findings.push({
        severity: 'error',
        field: 'spec.nodes.count',
        message:
          `${count} node${count === 1 ? '' : 's'} cannot hold the workloads (${capacity.demand.cpu} CPU, ${capacity.demand.memoryGiB} GiB, ${demandPods} pods ` +
          `need at least ${bare} node${bare === 1 ? '' : 's'} of ${capacity.node.allocatableCpu} CPU / ${capacity.node.allocatableMemoryGiB} GiB allocatable)`,
        fix: `set spec.nodes.count to at least ${recommended} (${formula}), or choose a larger instance`,
      });
    } else if (count < recommended) {
      findings.push({
        severity: 'warning',
        field: 'spec.nodes.count',
        message: `${count} nodes hold the workloads but without the 20% redundancy and a spare node for the loss of any one node`,
        fix: `set spec.nodes.count to at least ${recommended} (${formula})`,
      });
    }
  } else if (input.workloads.length === 0) {
    findings.push({
      severity: 'info',
      field: 'spec.workloads',
      message: `no workloads given, so the recommendation is only the spare node (${recommended})`,
      fix: 'list the workloads with replicas and requests to size the cluster',
    });
  }
  checkCountAgainstNetwork(input, capacity, findings);
  return { capacity, findings };
}

function checkCountAgainstNetwork(input: CapacityInput, capacity: CapacityReport, findings: Finding[]): void {
  const workers = capacity.workerNodes;
  if (workers === null) return;
  const given = capacity.workerNodesSource === 'spec.nodes.count';
  const what = given ? `${workers} nodes` : `the recommended ${workers} nodes`;
  const countField = given ? 'spec.nodes.count' : input.podCIDRField;

  if (input.maxNodes !== null && workers > input.maxNodes) {
    findings.push({
      severity: 'warning',
      field: countField,
      message: `${what} exceed the ${input.maxNodes} nodes the pod CIDR can address; the rest would get no pod block`,
      fix: 'use a larger pod CIDR or smaller per-node blocks (both fixed at creation), or fewer, larger nodes',
    });
  }
  if (workers > maxTestedNodes) {
    findings.push({
      severity: 'warning',
      field: countField,
      message: `${what} are beyond the ${maxTestedNodes} nodes upstream Kubernetes tests per cluster`,
      fix: 'split the workloads across several clusters',
    });
  }
  if (capacity.demand.pods > maxTestedPods) {
    findings.push({
      severity: 'warning',
      field: 'spec.workloads',
      message: `${capacity.demand.pods} pods are beyond the ${maxTestedPods} pods upstream Kubernetes tests per cluster`,
      fix: 'split the workloads across several clusters',
    });
  }

  const zonesPath = input.zonesPath;
  if (zonesPath === undefined) return;
  const zones = input.zones.filter((zone) => zone.vswitchCIDR !== null);
  if (input.zones.length === 1) {
    findings.push({
      severity: 'warning',
      field: zonesPath,
      message: 'one zone only: losing that zone stops every node at once',
      fix: 'add a second and a third zone with their own vSwitches (seed 000 recommends a multi-zone layout)',
    });
  }
  const total = zones.reduce((sum, zone) => sum + zone.nodeCapacity, 0);
  input.zones.forEach((zone, index) => {
    if (zone.vswitchCIDR !== null && zone.nodeCapacity === 0) {
      findings.push({
        severity: 'warning',
        field: `${zonesPath}[${index}].vswitchCIDR`,
        message: `vSwitch ${zone.vswitchCIDR} of zone ${zone.name} has no address left for nodes after the cloud's reserved addresses`,
        fix: 'use a /28 or larger vSwitch',
      });
    }
  });
  if (zones.length === 0) return;
  if (workers > total) {
    findings.push({
      severity: 'warning',
      field: zonesPath,
      message: `${what} exceed the ${total} node addresses of the zones' vSwitches`,
      fix: 'use larger vSwitches (a /23 holds 508 nodes) or add zones',
    });
    return;
  }
  const perZone = Math.ceil(workers / zones.length);
  input.zones.forEach((zone, index) => {
    if (zone.vswitchCIDR === null || zone.nodeCapacity >= perZone) return;
    findings.push({
      severity: 'warning',
      field: `${zonesPath}[${index}].vswitchCIDR`,
      message: `spread evenly, ${what} put ${perZone} in each zone but zone ${zone.name}'s vSwitch ${zone.vswitchCIDR} holds ${zone.nodeCapacity}`,
      fix: `give zone ${zone.name} a larger vSwitch so the zones stay balanced`,
    });
  });
  if (workers > 0 && workers < zones.length) {
    findings.push({
      severity: 'info',
      field: zonesPath,
      message: `${what} cannot cover all ${zones.length} zones`,
      fix: `run at least ${zones.length} nodes so each zone has one`,
    });
  }
}
