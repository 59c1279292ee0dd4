// The planner: a ClusterPlan (or a Cluster) in, a report out. Pure: no I/O, no clock, so the CLI,
// the console's create wizard and admission all get the same answer for the same input.
import { cidrAddressCount, formatCidr, type IpFamily } from './cidr.ts';
import { planCapacity, type CapacityReport } from './capacity.ts';
import type { ClusterPlan, ClusterType, ProxyMode } from './cluster-plan.ts';
import { readClusterPlan } from './cluster-plan-schema.ts';
import { countFindings, sortFindings, type Finding } from './finding.ts';
import { listImmutableFields, type ImmutableField } from './immutable-fields.ts';
import { sizeMasters, type MasterSizing } from './masters.ts';
import { checkClusterNetwork } from './network-rules.ts';
import { checkNodeDisks } from './node-disks.ts';
import { checkProxyMode } from './proxy-mode.ts';
import { zoneCapacities, type ZoneCapacity } from './zone-capacity.ts';

export interface NetworkReport {
  family: IpFamily | null;
  podCIDR: string | null;
  serviceCIDR: string | null;
  nodeCIDRMaskSize: number | null;
  podAddressesPerNode: number | null;
  maxNodes: number | null;
  maxPodsPerNode: number | null;
  /** maxNodes x maxPodsPerNode: the most pods the cluster can ever run. */
  maxPods: number | null;
  serviceAddresses: number | null;
  proxyMode: ProxyMode;
  vpcCIDR: string | null;
  zones: ZoneCapacity[];
  /** Sum of the zones' node capacities. */
  zoneNodeCapacity: number | null;
}

export interface PlanReport {
  apiVersion: 'tessera.dev/v1alpha1';
  kind: 'ClusterPlanReport';
  name: string | null;
  sourceKind: 'ClusterPlan' | 'Cluster' | null;
  /** True when there is no error finding. */
  ok: boolean;
  summary: { errors: number; warnings: number; infos: number };
  findings: Finding[];
  cluster: { type: ClusterType | null; version: string | null };
  network: NetworkReport;
  capacity: CapacityReport;
  masters: MasterSizing;
  immutableFields: ImmutableField[];
}

function unplannedCapacity(): CapacityReport {
  return {
    workerNodes: null,
    recommendedWorkerNodes: null,
    workerNodesSource: 'none',
    demand: { cpu: 0, memoryGiB: 0, pods: 0 },
    node: null,
    nodesFor: null,
  };
}

function toSafeNumber(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

export function planCluster(plan: ClusterPlan): PlanReport {
  const findings: Finding[] = [];
  const serverless = plan.cluster.type === 'Serverless';
  const vpcPath = plan.sourceKind === 'ClusterPlan' && plan.vpc ? 'spec.vpc' : undefined;

  const network = checkClusterNetwork({
    clusterType: plan.cluster.type,
    network: plan.cluster.network,
    networkPath: plan.paths.network,
    vpc: plan.vpc,
    vpcPath,
  });
  findings.push(...network.findings);
  if (plan.sourceKind === 'ClusterPlan' && !plan.vpc) {
    findings.push({
      severity: 'info',
      field: 'spec.vpc',
      message: 'no VPC given: overlaps with the VPC, its vSwitches and other clusters are not checked, and zone capacity is unknown',
      fix: 'add spec.vpc with cidr, zones and otherClusters',
    });
  }
  findings.push(...checkProxyMode(plan.cluster.network.proxyMode, plan.cluster.version, plan.paths.network));

  const zones = zoneCapacities(network.zones);
  // A Cluster object carries no nodes or workloads: its capacity is planned elsewhere.
  const { capacity, findings: capacityFindings } = plan.sourceKind === 'Cluster' ? { capacity: unplannedCapacity(), findings: [] } : planCapacity({
    serverless,
    nodes: plan.nodes,
    workloads: plan.workloads,
    maxPodsPerNode: network.maxPodsPerNode,
    maxNodes: network.maxNodes,
    zones,
    zonesPath: vpcPath === undefined ? undefined : `${vpcPath}.zones`,
    podCIDRField: `${plan.paths.network}.podCIDR`,
  });
  findings.push(...capacityFindings, ...checkNodeDisks(plan.nodes));

  const { masters, findings: masterFindings } = sizeMasters({
    clusterType: plan.cluster.type,
    workerNodes: capacity.workerNodes,
    replicas: plan.cluster.masterReplicas,
    replicasField: `${plan.paths.cluster}.mode`,
    instance: plan.masters?.instance,
    instanceField: 'spec.masters.instance',
  });
  findings.push(...masterFindings);

  const sorted = sortFindings(findings);
  const summary = countFindings(sorted);
  return {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'ClusterPlanReport',
    name: plan.name === '' ? null : plan.name,
    sourceKind: plan.sourceKind,
    ok: summary.errors === 0,
    summary,
    findings: sorted,
    cluster: { type: plan.cluster.type, version: plan.cluster.version ?? null },
    network: {
      family: network.family,
      podCIDR: network.podCIDR ? formatCidr(network.podCIDR) : null,
      serviceCIDR: network.serviceCIDR ? formatCidr(network.serviceCIDR) : null,
      nodeCIDRMaskSize: network.nodeCIDRMaskSize,
      podAddressesPerNode: network.podAddressesPerNode,
      maxNodes: network.maxNodes,
      maxPodsPerNode: network.maxPodsPerNode,
      maxPods: network.maxNodes !== null && network.maxPodsPerNode !== null ? network.maxNodes * network.maxPodsPerNode : null,
      serviceAddresses: network.serviceCIDR ? toSafeNumber(cidrAddressCount(network.serviceCIDR)) : null,
      proxyMode: plan.cluster.network.proxyMode ?? 'iptables',
      vpcCIDR: network.vpcCIDR ? formatCidr(network.vpcCIDR) : null,
      zones,
      zoneNodeCapacity: zones.length === 0 ? null : zones.reduce((sum, zone) => sum + zone.nodeCapacity, 0),
    },
    capacity,
    masters,
    immutableFields: listImmutableFields(plan, network),
  };
}

/** The report for a document that is not a plan at all: only the schema's findings. */
function emptyReport(findings: Finding[]): PlanReport {
  const sorted = sortFindings(findings);
  const summary = countFindings(sorted);
  return {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'ClusterPlanReport',
    name: null,
    sourceKind: null,
    ok: summary.errors === 0,
    summary,
    findings: sorted,
    cluster: { type: null, version: null },
    network: {
      family: null,
      podCIDR: null,
      serviceCIDR: null,
      nodeCIDRMaskSize: null,
      podAddressesPerNode: null,
      maxNodes: null,
      maxPodsPerNode: null,
      maxPods: null,
      serviceAddresses: null,
      proxyMode: 'iptables',
      vpcCIDR: null,
      zones: [],
      zoneNodeCapacity: null,
    },
    capacity: unplannedCapacity(),
    masters: { count: 0, cpu: 0, memoryGiB: 0, userVisible: false, tier: 'none', note: 'not planned: the document is not a ClusterPlan or Cluster' },
    immutableFields: [],
  };
}

/** Validates a parsed YAML/JSON document and plans it. */
export function planDocument(document: unknown): PlanReport {
  const { plan, findings } = readClusterPlan(document);
  if (!plan) return emptyReport(findings);
  const report = planCluster(plan);
  const merged = sortFindings([...findings, ...report.findings]);
  const summary = countFindings(merged);
  return { ...report, findings: merged, summary, ok: summary.errors === 0 };
}
