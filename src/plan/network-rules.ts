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
      message: `${label} "${text}" has host bits set after the /${parsed.cidr.prefixLength} prefix; Kubernetes and cloud APIs reject it`,
      fix: `use ${parsed.canonical}`,
    });
  }
  return parsed.cidr;
}

function suggest(family: IpFamily, prefixLength: number, taken: readonly Cidr[], pools?: readonly Cidr[]): string {
  const free = findFreeCidr(family, prefixLength, [...taken, ...reservedRanges.map((r) => r.cidr)], pools);
  return free ? formatCidr(free) : `a free /${prefixLength}`;
}

/**
 * All network rules for one cluster. `findings` in the result carry field paths relative to the
 * input's layout given by networkPath and vpcPath.
 */
export function checkClusterNetwork(input: NetworkInput): NetworkCheck {
  const findings: Finding[] = [];
  const net = input.networkPath;
  const vpcPath = input.vpcPath;
  const vpcFindings = vpcPath === undefined ? null : findings;
  const serverless = input.clusterType === 'Serverless';

  const pod = readCidr(`${net}.podCIDR`, 'pod CIDR', input.network.podCIDR, findings);
  const service = readCidr(`${net}.serviceCIDR`, 'service CIDR', input.network.serviceCIDR, findings);
  const vpc = readCidr(`${vpcPath ?? 'vpc'}.cidr`, 'VPC CIDR', input.vpc?.cidr, vpcFindings);
  const zones: ZoneNetwork[] = (input.vpc?.zones ?? []).map((zone: ZoneSpec, index) => {
    const field = `${vpcPath ?? 'vpc'}.zones[${index}].vswitchCIDR`;
    return { name: zone.name, field, cidr: readCidr(field, `vSwitch CIDR of zone ${zone.name}`, zone.vswitchCIDR, vpcFindings) };
  });
  const others = (input.vpc?.otherClusters ?? []).map((other, index) => {
    const base = `${vpcPath ?? 'vpc'}.otherClusters[${index}]`;
    return {
      name: other.name,
      pod: readCidr(`${base}.podCIDR`, `pod CIDR of cluster ${other.name}`, other.podCIDR, vpcFindings),
      service: readCidr(`${base}.serviceCIDR`, `service CIDR of cluster ${other.name}`, other.serviceCIDR, vpcFindings),
    };
  });

  const family: IpFamily | null = pod?.family ?? service?.family ?? null;
  const everything: Cidr[] = [pod, service, vpc, ...zones.map((z) => z.cidr), ...others.flatMap((o) => [o.pod, o.service])].filter(
    (c): c is Cidr => c !== null,
  );
  const allBut = (excluded: Cidr | null) => everything.filter((c) => c !== excluded);
  const podFamily: IpFamily = family ?? vpc?.family ?? 'IPv4';

  // Required ranges. A Serverless cluster's pods take addresses from the zones' vSwitches (each
  // pod is its own instance), so only a service CIDR is required there.
  if (input.network.podCIDR === undefined && !serverless) {
    findings.push({
      severity: 'error',
      field: `${net}.podCIDR`,
      message: 'no pod CIDR: it decides how many nodes and pods the cluster can ever have and cannot be changed later',
      fix: `set ${net}.podCIDR to a range unique in the VPC, e.g. ${suggest(podFamily, defaultPodPrefix[podFamily], everything)}`,
    });
  }
  if (input.network.podCIDR !== undefined && serverless) {
    findings.push({
      severity: 'warning',
      field: `${net}.podCIDR`,
      message: 'a Serverless cluster gives each pod an address from its zone vSwitch; the pod CIDR is not used',
      fix: `remove ${net}.podCIDR, and size the vSwitches for the pod count instead`,
    });
  }
  if (input.network.serviceCIDR === undefined) {
    findings.push({
      severity: 'error',
      field: `${net}.serviceCIDR`,
      message: 'no service CIDR: service addresses come from it and it cannot be changed later',
      fix: `set ${net}.serviceCIDR, e.g. ${suggest(podFamily, defaultServicePrefix[podFamily], everything)}`,
    });
  }

  // Families: a single-stack cluster has pods, services and nodes in one family.
  if (pod && service && pod.family !== service.family) {
    findings.push({
      severity: 'error',
      field: `${net}.serviceCIDR`,
      message: `the pod CIDR is ${pod.family} but the service CIDR is ${service.family}; a single-stack cluster uses one family`,
      fix: `use an ${pod.family} service CIDR, e.g. ${suggest(pod.family, defaultServicePrefix[pod.family], allBut(service))}`,
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
  for (const zone of zones) {
    if (vpc && zone.cidr && zone.cidr.family !== vpc.family) {
      vpcFindings?.push({
        severity: 'error',
        field: zone.field,
        message: `vSwitch CIDR of zone ${zone.name} is ${zone.cidr.family} but the VPC is ${vpc.family}`,
        fix: `use an ${vpc.family} vSwitch CIDR inside ${formatCidr(vpc)}`,
      });
    }
  }

  // Reserved and public ranges.
  const checkReserved = (range: NamedRange, sink: Finding[] | null) => {
    for (const reserved of reservedRanges) {
      if (!cidrsOverlap(range.cidr, reserved.cidr)) continue;
      sink?.push({
        severity: reserved.severity,
        field: range.field,
        message: `${describe(range.label, range.cidr)} overlaps ${reserved.text}, ${reserved.name} (${reserved.source})`,
        fix: `use a private range instead, e.g. ${suggest(range.cidr.family, range.cidr.prefixLength, allBut(range.cidr))}`,
      });
    }
  };
  const isPublicIPv4 = (range: Cidr) =>
    range.family === 'IPv4' &&
    !privateRanges.some((p) => cidrContains(p, range)) &&
    !reservedRanges.some((r) => cidrsOverlap(r.cidr, range));
  const clusterRanges: NamedRange[] = [];
  if (pod && !serverless) clusterRanges.push({ field: `${net}.podCIDR`, label: 'pod CIDR', cidr: pod });
  if (service) clusterRanges.push({ field: `${net}.serviceCIDR`, label: 'service CIDR', cidr: service });
  for (const range of clusterRanges) {
    checkReserved(range, findings);
    if (isPublicIPv4(range.cidr)) {
      findings.push({
        severity: 'warning',
        field: range.field,
        message: `${describe(range.label, range.cidr)} is public address space: pods could not reach the real hosts at those addresses`,
        fix: `use a private range (RFC 1918 or 100.64.0.0/10), e.g. ${suggest('IPv4', range.cidr.prefixLength, allBut(range.cidr))}`,
      });
    }
  }
  if (vpc && vpcPath !== undefined) checkReserved({ field: `${vpcPath}.cidr`, label: 'VPC CIDR', cidr: vpc }, vpcFindings);
  for (const zone of zones) {
    if (zone.cidr) checkReserved({ field: zone.field, label: `vSwitch CIDR of zone ${zone.name}`, cidr: zone.cidr }, vpcFindings);
  }

  // Service CIDR size.
  if (service) {
    const hostBits = addressBits(service.family) - service.prefixLength;
    if (hostBits > maxServiceHostBits) {
      const longest = addressBits(service.family) - maxServiceHostBits;
      findings.push({
        severity: 'error',
        field: `${net}.serviceCIDR`,
        message: `service CIDR ${formatCidr(service)} has ${hostBits} host bits; Kubernetes allows at most ${maxServiceHostBits} (/${longest} for ${service.family})`,
        fix: `use /${longest} or longer, e.g. ${formatCidr(cidrFromAddress(service.family, service.first, longest))} (${service.family === 'IPv4' ? '/20, 4096 services, is usual' : '/112 is usual'})`,
      });
    } else if (2 ** hostBits <= dnsServiceIndex + 1) {
      findings.push({
        severity: 'warning',
        field: `${net}.serviceCIDR`,
        message: `service CIDR ${formatCidr(service)} has only ${2 ** hostBits} addresses; the cluster DNS service conventionally takes the ${dnsServiceIndex}th`,
        fix: `use /${addressBits(service.family) - 8} or shorter`,
      });
    }
  }

  // Overlaps between this cluster's own ranges.
  if (pod && service && !serverless && cidrsOverlap(pod, service)) {
    findings.push({
      severity: 'error',
      field: `${net}.serviceCIDR`,
      message: `service CIDR ${formatCidr(service)} overlaps the pod CIDR ${formatCidr(pod)}: kube-proxy would capture pod addresses as service addresses`,
      fix: `use a service CIDR outside the pod CIDR, e.g. ${suggest(service.family, service.prefixLength, allBut(service))}`,
    });
  }

  // Cluster ranges vs the VPC and its vSwitches.
  for (const range of clusterRanges) {
    const overlappedZones = zones.filter(
      (z): z is ZoneNetwork & { cidr: Cidr } => z.cidr !== null && cidrsOverlap(z.cidr, range.cidr),
    );
    if (vpc && cidrsOverlap(vpc, range.cidr)) {
      const zoneNote = overlappedZones.length > 0 ? ` (and the vSwitches of ${overlappedZones.map((z) => z.name).join(', ')})` : '';
      findings.push({
        severity: 'error',
        field: range.field,
        message: `${describe(range.label, range.cidr)} overlaps the VPC CIDR ${formatCidr(vpc)}${zoneNote}: node and cloud addresses would be routed into the cluster`,
        fix: `use a range outside the VPC, e.g. ${suggest(range.cidr.family, range.cidr.prefixLength, allBut(range.cidr))}`,
      });
      continue;
    }
    for (const zone of overlappedZones) {
      findings.push({
        severity: 'error',
        field: range.field,
        message: `${describe(range.label, range.cidr)} overlaps the vSwitch CIDR ${formatCidr(zone.cidr)} of zone ${zone.name}`,
        fix: `use a range outside every vSwitch, e.g. ${suggest(range.cidr.family, range.cidr.prefixLength, allBut(range.cidr))}`,
      });
    }
  }

  // vSwitches: inside the VPC, disjoint from each other, unique zone names.
  const zoneCidrs = zones.map((z) => z.cidr);
  zones.forEach((zone, index) => {
    if (!zone.cidr) return;
    const siblings = zoneCidrs.filter((c, i): c is Cidr => c !== null && i !== index);
    if (vpc && zone.cidr.family === vpc.family && !cidrContains(vpc, zone.cidr)) {
      vpcFindings?.push({
        severity: 'error',
        field: zone.field,
        message: `vSwitch CIDR ${formatCidr(zone.cidr)} of zone ${zone.name} is not inside the VPC CIDR ${formatCidr(vpc)}`,
        fix: `use a block inside the VPC, e.g. ${suggest(vpc.family, Math.max(zone.cidr.prefixLength, vpc.prefixLength), siblings, [vpc])}`,
      });
    }
    for (const earlier of zones.slice(0, index)) {
      if (earlier.cidr && cidrsOverlap(earlier.cidr, zone.cidr)) {
        vpcFindings?.push({
          severity: 'error',
          field: zone.field,
          message: `vSwitch CIDR ${formatCidr(zone.cidr)} of zone ${zone.name} overlaps ${formatCidr(earlier.cidr)} of zone ${earlier.name}`,
          fix: `give each zone its own block, e.g. ${vpc ? suggest(zone.cidr.family, zone.cidr.prefixLength, siblings, [vpc]) : suggest(zone.cidr.family, zone.cidr.prefixLength, [...siblings, ...clusterRanges.map((r) => r.cidr)])}`,
        });
      }
    }
    const firstWithName = zones.findIndex((z) => z.name === zone.name);
    if (firstWithName !== index && vpcPath !== undefined) {
      findings.push({
        severity: 'error',
        field: `${vpcPath}.zones[${index}].name`,
        message: `zone ${zone.name} is listed twice (also zones[${firstWithName}])`,
        fix: 'list each zone once, with one vSwitch',
      });
    }
  });

  // This cluster vs the other clusters in the VPC.
  for (const other of others) {
    const theirs = [
      { label: `the pod CIDR of cluster ${other.name}`, cidr: other.pod },
      { label: `the service CIDR of cluster ${other.name}`, cidr: other.service },
    ];
    for (const range of clusterRanges) {
      for (const their of theirs) {
        if (!their.cidr || !cidrsOverlap(range.cidr, their.cidr)) continue;
        findings.push({
          severity: 'error',
          field: range.field,
          message: `${describe(range.label, range.cidr)} overlaps ${their.label} ${formatCidr(their.cidr)} in the same VPC`,
          fix: `use a range no other cluster in the VPC uses, e.g. ${suggest(range.cidr.family, range.cidr.prefixLength, allBut(range.cidr))}`,
        });
      }
    }
  }

  const addressing = serverless
    ? { nodeCIDRMaskSize: null, podAddressesPerNode: null, maxNodes: null, maxPodsPerNode: null, findings: [] }
    : planNodeAddressing({
        podCIDR: pod,
        podAddressesPerNode: input.network.podAddressesPerNode,
        nodeCIDRMaskSize: input.network.nodeCIDRMaskSize,
        maxPodsPerNode: input.network.maxPodsPerNode,
        networkPath: net,
      });

  return {
    ...addressing,
    findings: [...findings, ...addressing.findings],
    family,
    podCIDR: serverless ? null : pod,
    serviceCIDR: service,
    vpcCIDR: vpc,
    zones,
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
