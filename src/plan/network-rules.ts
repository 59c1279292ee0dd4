// The network rules: CIDR syntax, address families, reserved ranges and every overlap that makes
// traffic ambiguous (pod vs service, cluster ranges vs the VPC and its vSwitches, vSwitches vs
// each other, this cluster vs the other clusters in the VPC). Planning and Cluster admission both
// call checkClusterNetwork, so a conflict reads the same wherever it is found.
//
// Why each overlap matters (seed 000, Kubespray, Gardener's ValidateNetworkDisjointedness):
// - pod CIDR vs service CIDR: kube-proxy captures service addresses on every node, so pods in the
//   overlap are unreachable;
// - pod CIDR vs VPC / vSwitches / other clusters: pod routes are written into the VPC route table
//   (Flannel VPC) or pods are addressed directly in the VPC, so the pod CIDR must be unique in it;
// - service CIDR vs VPC / vSwitches: nodes would send traffic for those hosts into kube-proxy;
// - service CIDR vs other clusters: a service range only acts inside its cluster, but Tessera
//   keeps every cluster range unique in a VPC so clusters can later be peered, meshed or migrated
//   without renumbering (stricter than seed 000, which allows reuse across clusters).
import {
  addressBits,
  cidrContains,
  cidrFromAddress,
  cidrsOverlap,
  formatCidr,
  parseCidr,
  type Cidr,
  type IpFamily,
} from './cidr.ts';
import type { ClusterNetworkSpec, ClusterType, VpcSpec, ZoneSpec } from './cluster-plan.ts';
import type { Finding } from './finding.ts';
import { findFreeCidr } from './free-cidr.ts';
import { planNodeAddressing, type NodeAddressing } from './node-addressing.ts';
import { privateRanges, reservedRanges } from './reserved-ranges.ts';

export interface NetworkInput {
  clusterType: ClusterType;
  network: ClusterNetworkSpec;
  /** Dotted path of the network section in the input, e.g. `spec.cluster.network` or `spec.network`. */
  networkPath: string;
  vpc?: VpcSpec;
  /** Dotted path of the VPC section; when undefined the VPC came from elsewhere (admission) and
   * problems inside it are not this object's to report. */
  vpcPath?: string;
}

export interface ZoneNetwork {
  name: string;
  field: string;
  cidr: Cidr | null;
}

export interface NetworkCheck extends NodeAddressing {
  family: IpFamily | null;
  podCIDR: Cidr | null;
  serviceCIDR: Cidr | null;
  vpcCIDR: Cidr | null;
  zones: ZoneNetwork[];
}

// kubeadm's MaximumBitsForServiceSubnet: the apiserver's service IP allocator keeps a bitmap of
// the whole range, so a service CIDR may have at most 20 host bits (/12 for IPv4, /108 for IPv6).
export const maxServiceHostBits = 20;
// kubeadm hands the cluster DNS service the 10th address of the service CIDR.
const dnsServiceIndex = 10;
const defaultPodPrefix = { IPv4: 16, IPv6: 56 } as const;
const defaultServicePrefix = { IPv4: 20, IPv6: 112 } as const;

interface NamedRange {
  field: string;
  label: string;
  cidr: Cidr;
}

function describe(label: string, range: Cidr): string {
  return `${label} ${formatCidr(range)}`;
}

function readCidr(field: string, label: string, text: string | undefined, findings: Finding[] | null): Cidr | null {
  if (text === undefined) return null;
  const parsed = parseCidr(text);
  if (!parsed.ok) {
    findings?.push({
      severity: 'error',
      field,
      message: `${label} "${text}" is not a CIDR: it ${parsed.reason}`,
      fix: 'write it as address/prefix length with the host bits zero, e.g. 172.16.0.0/16 or fd00:10::/56',
    });
    return null;
  }
  if (parsed.hostBitsSet) {
    findings?.push({
      severity: 'error',
      field,
      message: `${label} "${text}" has host bits set after the /${parsed.cidr.prefixLength} prefix, so it is not a network address; APIs reject or silently rewrite such values`,
      fix: `use ${parsed.canonical}`,
    });
  }
  return parsed.cidr;
}

/** What every rule below reads: the parsed ranges, where findings go, and the fix proposer. */
interface NetworkContext {
  net: string;
  vpcPath: string | undefined;
  serverless: boolean;
  findings: Finding[];
  /** Where problems inside the VPC section go: nowhere when the VPC is not the input's (admission). */
  vpcFindings: Finding[] | null;
  pod: Cidr | null;
  service: Cidr | null;
  vpc: Cidr | null;
  zones: ZoneNetwork[];
  others: { name: string; pod: Cidr | null; service: Cidr | null }[];
  /** This cluster's own ranges that must stay clear of everything else. */
  clusterRanges: NamedRange[];
  /** Every parsed range in the input, so a proposed fix avoids all of them. */
  everything: Cidr[];
  propose: (field: string, family: IpFamily, prefixLength: number, taken: readonly Cidr[], pools?: readonly Cidr[]) => string;
}

function allBut(context: NetworkContext, excluded: Cidr): Cidr[] {
  return context.everything.filter((c) => c !== excluded);
}

function readNetwork(input: NetworkInput): NetworkContext {
  const findings: Finding[] = [];
  const net = input.networkPath;
  const vpcPath = input.vpcPath;
  const vpcFindings = vpcPath === undefined ? null : findings;
  const section = vpcPath ?? 'vpc';
  const serverless = input.clusterType === 'Serverless';

  const pod = readCidr(`${net}.podCIDR`, 'pod CIDR', input.network.podCIDR, findings);
  const service = readCidr(`${net}.serviceCIDR`, 'service CIDR', input.network.serviceCIDR, findings);
  const vpc = readCidr(`${section}.cidr`, 'VPC CIDR', input.vpc?.cidr, vpcFindings);
  const zones = (input.vpc?.zones ?? []).map((zone, index): ZoneNetwork => {
    const field = `${section}.zones[${index}].vswitchCIDR`;
    return { name: zone.name, field, cidr: readCidr(field, `vSwitch CIDR of zone ${zone.name}`, zone.vswitchCIDR, vpcFindings) };
  });
  const others = (input.vpc?.otherClusters ?? []).map((other, index) => {
    const base = `${section}.otherClusters[${index}]`;
    return {
      name: other.name,
      pod: readCidr(`${base}.podCIDR`, `pod CIDR of cluster ${other.name}`, other.podCIDR, vpcFindings),
      service: readCidr(`${base}.serviceCIDR`, `service CIDR of cluster ${other.name}`, other.serviceCIDR, vpcFindings),
    };
  });
  const everything = [pod, service, vpc, ...zones.map((z) => z.cidr), ...others.flatMap((o) => [o.pod, o.service])].filter(
    (c): c is Cidr => c !== null,
  );
  const clusterRanges: NamedRange[] = [];
  if (pod && !serverless) clusterRanges.push({ field: `${net}.podCIDR`, label: 'pod CIDR', cidr: pod });
  if (service) clusterRanges.push({ field: `${net}.serviceCIDR`, label: 'service CIDR', cidr: service });

  // A fix names a concrete free block. One proposal per field, and proposals never overlap each
  // other, so following every fix of a report gives ranges that are all distinct.
  const proposals = new Map<string, string>();
  const proposed: Cidr[] = [];
  const propose: NetworkContext['propose'] = (field, family, prefixLength, taken, pools) => {
    const known = proposals.get(field);
    if (known !== undefined) return known;
    const free = findFreeCidr(family, prefixLength, [...taken, ...proposed, ...reservedRanges.map((r) => r.cidr)], pools);
    const text = free ? formatCidr(free) : `a free /${prefixLength}`;
    if (free) proposed.push(free);
    proposals.set(field, text);
    return text;
  };

  return { net, vpcPath, serverless, findings, vpcFindings, pod, service, vpc, zones, others, clusterRanges, everything, propose };
}

// A Serverless cluster's pods take addresses from the zones' vSwitches (each pod is its own
// instance), so only a service CIDR is required there.
function checkRequiredRanges(context: NetworkContext, network: ClusterNetworkSpec): void {
  const { net, findings, propose, everything } = context;
  const family: IpFamily = context.pod?.family ?? context.service?.family ?? context.vpc?.family ?? 'IPv4';
  if (network.podCIDR === undefined && !context.serverless) {
    findings.push({
      severity: 'error',
      field: `${net}.podCIDR`,
      message: 'no pod CIDR: it decides how many nodes and pods the cluster can ever have and cannot be changed later',
      fix: `set ${net}.podCIDR to a range unique in the VPC, e.g. ${propose(`${net}.podCIDR`, family, defaultPodPrefix[family], everything)}`,
    });
  }
  if (network.podCIDR !== undefined && context.serverless) {
    findings.push({
      severity: 'warning',
      field: `${net}.podCIDR`,
      message: 'a Serverless cluster gives each pod an address from its zone vSwitch; the pod CIDR is not used',
      fix: `remove ${net}.podCIDR, and size the vSwitches for the pod count instead`,
    });
  }
  if (network.serviceCIDR === undefined) {
    findings.push({
      severity: 'error',
      field: `${net}.serviceCIDR`,
      message: 'no service CIDR: service addresses come from it and it cannot be changed later',
      fix: `set ${net}.serviceCIDR, e.g. ${propose(`${net}.serviceCIDR`, family, defaultServicePrefix[family], everything)}`,
    });
  }
}

// A single-stack cluster has its pods, services and nodes in one family.
function checkFamilies(context: NetworkContext): void {
  const { net, findings, pod, service, vpc } = context;
  const family = pod?.family ?? service?.family;
  if (pod && service && pod.family !== service.family) {
    findings.push({
      severity: 'error',
      field: `${net}.serviceCIDR`,
      message: `the pod CIDR is ${pod.family} but the service CIDR is ${service.family}; a single-stack cluster uses one family`,
      fix: `use an ${pod.family} service CIDR, e.g. ${context.propose(`${net}.serviceCIDR`, pod.family, defaultServicePrefix[pod.family], allBut(context, service))}`,
    });
  }
  if (vpc && family && vpc.family !== family) {
    findings.push({
      severity: 'error',
      field: pod ? `${net}.podCIDR` : `${net}.serviceCIDR`,
      message: `the cluster's addresses are ${family} but the VPC ${formatCidr(vpc)} is ${vpc.family}, so nodes would have no ${family} address`,
      fix: `use ${vpc.family} pod and service CIDRs, or a ${family} VPC`,
    });
  }
  for (const zone of context.zones) {
    if (vpc && zone.cidr && zone.cidr.family !== vpc.family) {
      context.vpcFindings?.push({
        severity: 'error',
        field: zone.field,
        message: `vSwitch CIDR of zone ${zone.name} is ${zone.cidr.family} but the VPC is ${vpc.family}`,
        fix: `use an ${vpc.family} vSwitch CIDR inside ${formatCidr(vpc)}`,
      });
    }
  }
}

function checkReservedRanges(context: NetworkContext): void {
  const againstReserved = (range: NamedRange, sink: Finding[] | null) => {
    for (const reserved of reservedRanges) {
      if (!cidrsOverlap(range.cidr, reserved.cidr)) continue;
      sink?.push({
        severity: reserved.severity,
        field: range.field,
        message: `${describe(range.label, range.cidr)} overlaps ${reserved.text}, ${reserved.name} (${reserved.source})`,
        fix: `use a private range instead, e.g. ${context.propose(range.field, range.cidr.family, range.cidr.prefixLength, allBut(context, range.cidr))}`,
      });
    }
  };
  const isPublicIPv4 = (range: Cidr) =>
    range.family === 'IPv4' && !privateRanges.some((p) => cidrContains(p, range)) && !reservedRanges.some((r) => cidrsOverlap(r.cidr, range));

  for (const range of context.clusterRanges) {
    againstReserved(range, context.findings);
    if (isPublicIPv4(range.cidr)) {
      context.findings.push({
        severity: 'warning',
        field: range.field,
        message: `${describe(range.label, range.cidr)} is public address space: pods could not reach the real hosts at those addresses`,
        fix: `use a private range (RFC 1918 or 100.64.0.0/10), e.g. ${context.propose(range.field, 'IPv4', range.cidr.prefixLength, allBut(context, range.cidr))}`,
      });
    }
  }
  if (context.vpc && context.vpcPath !== undefined) {
    againstReserved({ field: `${context.vpcPath}.cidr`, label: 'VPC CIDR', cidr: context.vpc }, context.vpcFindings);
  }
  for (const zone of context.zones) {
    if (zone.cidr) againstReserved({ field: zone.field, label: `vSwitch CIDR of zone ${zone.name}`, cidr: zone.cidr }, context.vpcFindings);
  }
}

function checkServiceSize(context: NetworkContext): void {
  const service = context.service;
  if (!service) return;
  const field = `${context.net}.serviceCIDR`;
  const bits = addressBits(service.family);
  const hostBits = bits - service.prefixLength;
  if (hostBits > maxServiceHostBits) {
    const longest = bits - maxServiceHostBits;
    context.findings.push({
      severity: 'error',
      field,
      message: `service CIDR ${formatCidr(service)} has ${hostBits} host bits; Kubernetes allows at most ${maxServiceHostBits} (/${longest} for ${service.family})`,
      fix: `use /${longest} or longer, e.g. ${formatCidr(cidrFromAddress(service.family, service.first, longest))} (${service.family === 'IPv4' ? '/20, 4096 services, is usual' : '/112 is usual'})`,
    });
  } else if (2 ** hostBits <= dnsServiceIndex + 1) {
    context.findings.push({
      severity: 'warning',
      field,
      message: `service CIDR ${formatCidr(service)} has only ${2 ** hostBits} addresses; the cluster DNS service conventionally takes the ${dnsServiceIndex}th`,
      fix: `use /${bits - 8} or shorter`,
    });
  }
}

function checkPodServiceOverlap(context: NetworkContext): void {
  const { pod, service } = context;
  if (!pod || !service || context.serverless || !cidrsOverlap(pod, service)) return;
  const field = `${context.net}.serviceCIDR`;
  context.findings.push({
    severity: 'error',
    field,
    message: `service CIDR ${formatCidr(service)} overlaps the pod CIDR ${formatCidr(pod)}: kube-proxy would capture pod addresses as service addresses`,
    fix: `use a service CIDR outside the pod CIDR, e.g. ${context.propose(field, service.family, service.prefixLength, allBut(context, service))}`,
  });
}

// One error per range when it overlaps the VPC (naming the vSwitches it covers); vSwitches are
// checked one by one only when they are not inside a known VPC CIDR.
function checkClusterRangesAgainstVpc(context: NetworkContext): void {
  const { vpc } = context;
  for (const range of context.clusterRanges) {
    const overlappedZones = context.zones.filter(
      (z): z is ZoneNetwork & { cidr: Cidr } => z.cidr !== null && cidrsOverlap(z.cidr, range.cidr),
    );
    const fixRange = () => context.propose(range.field, range.cidr.family, range.cidr.prefixLength, allBut(context, range.cidr));
    if (vpc && cidrsOverlap(vpc, range.cidr)) {
      const zoneNote = overlappedZones.length > 0 ? ` (and the vSwitches of ${overlappedZones.map((z) => z.name).join(', ')})` : '';
      context.findings.push({
        severity: 'error',
        field: range.field,
        message: `${describe(range.label, range.cidr)} overlaps the VPC CIDR ${formatCidr(vpc)}${zoneNote}: node and cloud addresses would be routed into the cluster`,
        fix: `use a range outside the VPC, e.g. ${fixRange()}`,
      });
      continue;
    }
    for (const zone of overlappedZones) {
      context.findings.push({
        severity: 'error',
        field: range.field,
        message: `${describe(range.label, range.cidr)} overlaps the vSwitch CIDR ${formatCidr(zone.cidr)} of zone ${zone.name}`,
        fix: `use a range outside every vSwitch, e.g. ${fixRange()}`,
      });
    }
  }
}

// vSwitches sit inside the VPC, do not overlap each other, and each zone has one.
function checkVswitches(context: NetworkContext): void {
  const { vpc, zones } = context;
  zones.forEach((zone, index) => {
    if (!zone.cidr) return;
    const siblings = zones.filter((z, i) => i !== index && z.cidr !== null).map((z) => z.cidr as Cidr);
    if (vpc && zone.cidr.family === vpc.family && !cidrContains(vpc, zone.cidr)) {
      context.vpcFindings?.push({
        severity: 'error',
        field: zone.field,
        message: `vSwitch CIDR ${formatCidr(zone.cidr)} of zone ${zone.name} is not inside the VPC CIDR ${formatCidr(vpc)}`,
        fix: `use a block inside the VPC, e.g. ${context.propose(zone.field, vpc.family, Math.max(zone.cidr.prefixLength, vpc.prefixLength), siblings, [vpc])}`,
      });
    }
    for (const earlier of zones.slice(0, index)) {
      if (!earlier.cidr || !cidrsOverlap(earlier.cidr, zone.cidr)) continue;
      // Inside a VPC only the sibling vSwitches matter; without one, keep clear of the cluster too.
      const taken = vpc ? siblings : [...siblings, ...context.clusterRanges.map((r) => r.cidr)];
      context.vpcFindings?.push({
        severity: 'error',
        field: zone.field,
        message: `vSwitch CIDR ${formatCidr(zone.cidr)} of zone ${zone.name} overlaps ${formatCidr(earlier.cidr)} of zone ${earlier.name}`,
        fix: `give each zone its own block, e.g. ${context.propose(zone.field, zone.cidr.family, zone.cidr.prefixLength, taken, vpc ? [vpc] : undefined)}`,
      });
    }
    const firstWithName = zones.findIndex((z) => z.name === zone.name);
    if (firstWithName !== index && context.vpcPath !== undefined) {
      context.findings.push({
        severity: 'error',
        field: `${context.vpcPath}.zones[${index}].name`,
        message: `zone ${zone.name} is listed twice (also zones[${firstWithName}])`,
        fix: 'list each zone once, with one vSwitch',
      });
    }
  });
}

function checkOtherClusters(context: NetworkContext): void {
  for (const other of context.others) {
    const theirs = [
      { label: `the pod CIDR of cluster ${other.name}`, cidr: other.pod },
      { label: `the service CIDR of cluster ${other.name}`, cidr: other.service },
    ];
    for (const range of context.clusterRanges) {
      for (const their of theirs) {
        if (!their.cidr || !cidrsOverlap(range.cidr, their.cidr)) continue;
        context.findings.push({
          severity: 'error',
          field: range.field,
          message: `${describe(range.label, range.cidr)} overlaps ${their.label} ${formatCidr(their.cidr)} in the same VPC`,
          fix: `use a range no other cluster in the VPC uses, e.g. ${context.propose(range.field, range.cidr.family, range.cidr.prefixLength, allBut(context, range.cidr))}`,
        });
      }
    }
  }
}

/**
 * All network rules for one cluster. Findings carry field paths into the input as laid out by
 * networkPath and vpcPath; the order of the checks is the order of the report.
 */
export function checkClusterNetwork(input: NetworkInput): NetworkCheck {
  const context = readNetwork(input);
  checkRequiredRanges(context, input.network);
  checkFamilies(context);
  checkReservedRanges(context);
  checkServiceSize(context);
  checkPodServiceOverlap(context);
  checkClusterRangesAgainstVpc(context);
  checkVswitches(context);
  checkOtherClusters(context);

  const addressing: NodeAddressing = context.serverless
    ? { nodeCIDRMaskSize: null, podAddressesPerNode: null, maxNodes: null, maxPodsPerNode: null, findings: [] }
    : planNodeAddressing({
        podCIDR: context.pod,
        podAddressesPerNode: input.network.podAddressesPerNode,
        nodeCIDRMaskSize: input.network.nodeCIDRMaskSize,
        maxPodsPerNode: input.network.maxPodsPerNode,
        networkPath: context.net,
      });

  return {
    ...addressing,
    findings: [...context.findings, ...addressing.findings],
    family: context.pod?.family ?? context.service?.family ?? null,
    podCIDR: context.serverless ? null : context.pod,
    serviceCIDR: context.service,
    vpcCIDR: context.vpc,
    zones: context.zones,
  };
}

/** The parts of a tessera.dev/v1alpha1 Cluster object that the network rules read. */
export interface ClusterNetworkObject {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    network?: {
      podCIDR?: unknown;
      serviceCIDR?: unknown;
      nodeCIDRMaskSize?: unknown;
      maxPodsPerNode?: unknown;
    };
  };
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function integerField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/**
 * For Cluster admission: the network rules for `cluster` against the other Clusters in the same
 * VPC (and the VPC itself when known). Findings name fields of the Cluster object
 * (`spec.network.podCIDR`). `others` may include the cluster itself (an update lists it too); it
 * is skipped by namespace and name. Ranges of other clusters that do not parse are skipped, since
 * they are not the object under review. Information findings are left out: admission only needs
 * what to reject (errors) and what to warn about.
 */
export function checkClusterNetworkAgainstVpc(
  cluster: ClusterNetworkObject,
  others: readonly ClusterNetworkObject[],
  vpc?: { cidr?: string; zones?: ZoneSpec[] },
): Finding[] {
  const network = cluster.spec?.network ?? {};
  const sameObject = (other: ClusterNetworkObject) =>
    other.metadata?.name !== undefined &&
    other.metadata.name === cluster.metadata?.name &&
    (other.metadata.namespace ?? '') === (cluster.metadata?.namespace ?? '');
  const check = checkClusterNetwork({
    clusterType: 'Managed',
    networkPath: 'spec.network',
    network: {
      podCIDR: stringField(network.podCIDR),
      serviceCIDR: stringField(network.serviceCIDR),
      nodeCIDRMaskSize: integerField(network.nodeCIDRMaskSize),
      maxPodsPerNode: integerField(network.maxPodsPerNode),
    },
    vpc: {
      cidr: vpc?.cidr,
      zones: vpc?.zones ?? [],
      otherClusters: others
        .filter((other) => !sameObject(other))
        .map((other, index) => ({
          name: other.metadata?.name ?? `#${index}`,
          podCIDR: stringField(other.spec?.network?.podCIDR),
          serviceCIDR: stringField(other.spec?.network?.serviceCIDR),
        })),
    },
  });
  return check.findings.filter((finding) => finding.severity !== 'info');
}
