// Reads a parsed YAML/JSON document into a ClusterPlan. Two shapes are accepted:
// - kind ClusterPlan: the planning document (spec.cluster, spec.vpc, spec.nodes, spec.workloads);
// - kind Cluster: a tessera.dev/v1alpha1 Cluster object; its spec.version and spec.network stand
//   in for spec.cluster, so a Cluster can be checked before it is applied.
// Every problem becomes a finding with the field's dotted path; fields with a wrong shape are left
// out of the plan so the remaining rules still run.
import {
  clusterTypes,
  proxyModes,
  type ClusterNetworkSpec,
  type ClusterPlan,
  type ClusterType,
  type DiskSpec,
  type InstanceSpec,
  type NodesSpec,
  type OtherClusterSpec,
  type ProxyMode,
  type VpcSpec,
  type WorkloadSpec,
  type ZoneSpec,
} from './cluster-plan.ts';
import type { Finding } from './finding.ts';
import { parseQuantity } from './quantity.ts';

export const planApiVersion = 'tessera.dev/v1alpha1';
export const planKinds = ['ClusterPlan', 'Cluster'] as const;

export interface SchemaResult {
  /** Null when the document is not a ClusterPlan or Cluster at all. */
  plan: ClusterPlan | null;
  findings: Finding[];
}

type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string "${value}"`;
  return `${typeof value} ${String(value)}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      const left = row[j - 1] ?? 0;
      row[j] = Math.min(above + 1, left + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

function fieldPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Collects findings while reading one document. */
class DocumentReader {
  readonly findings: Finding[] = [];

  error(field: string, message: string, fix: string): void {
    this.findings.push({ severity: 'error', field, message, fix });
  }

  warning(field: string, message: string, fix: string): void {
    this.findings.push({ severity: 'warning', field, message, fix });
  }

  /** Warns about fields this version does not know, most often typos such as `podCidr`. */
  unknownFields(fields: Fields, path: string, known: readonly string[]): void {
    for (const key of Object.keys(fields)) {
      if (known.includes(key)) continue;
      const close = known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? known.find((k) => editDistance(k, key) <= 2);
      this.warning(
        fieldPath(path, key),
        `unknown field "${key}" is ignored`,
        close ? `did you mean "${close}"?` : `remove it; known fields here: ${known.join(', ')}`,
      );
    }
  }

  mapping(parent: Fields, key: string, path: string, required = false): Fields | undefined {
    const value = parent[key];
    const field = fieldPath(path, key);
    if (value === undefined || value === null) {
      if (required) this.error(field, `${key} is missing`, `add ${field}`);
      return undefined;
    }
    if (!isFields(value)) {
      this.error(field, `${key} must be a mapping, not ${describeValue(value)}`, `write ${field} as key: value pairs`);
      return undefined;
    }
    return value;
  }

  list(parent: Fields, key: string, path: string): unknown[] {
    const value = parent[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.error(fieldPath(path, key), `${key} must be a list, not ${describeValue(value)}`, `write ${fieldPath(path, key)} as a YAML list (- item)`);
      return [];
    }
    return value;
  }

  string(parent: Fields, key: string, path: string, required = false): string | undefined {
    const value = parent[key];
    const field = fieldPath(path, key);
    if (value === undefined || value === null) {
      if (required) this.error(field, `${key} is missing`, `add ${field}`);
      return undefined;
    }
    if (typeof value !== 'string') {
      this.error(field, `${key} must be a string, not ${describeValue(value)}`, `quote the value: ${key}: "${String(value)}"`);
      return undefined;
    }
    return value;
  }

  integer(parent: Fields, key: string, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = parent[key];
    const field = fieldPath(path, key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
      this.error(field, `${key} must be a whole number ${range}, not ${describeValue(value)}`, `set ${field} to a whole number ${range}`);
      return undefined;
    }
    return value;
  }

  positiveNumber(parent: Fields, key: string, path: string, required = false): number | undefined {
    const value = parent[key];
    const field = fieldPath(path, key);
    if (value === undefined || value === null) {
      if (required) this.error(field, `${key} is missing`, `add ${field}`);
      return undefined;
    }
    const number = typeof value === 'string' ? parseQuantity(value) : typeof value === 'number' ? value : undefined;
    if (number === undefined || !Number.isFinite(number) || number <= 0) {
      this.error(field, `${key} must be a positive number, not ${describeValue(value)}`, `set ${field} to a number above 0`);
      return undefined;
    }
    return number;
  }

  quantity(parent: Fields, key: string, path: string, example: string): number | undefined {
    const value = parent[key];
    const field = fieldPath(path, key);
    if (value === undefined || value === null) return undefined;
    const parsed = typeof value === 'string' || typeof value === 'number' ? parseQuantity(value) : undefined;
    if (parsed === undefined || parsed < 0) {
      this.error(field, `${key} must be a Kubernetes quantity, not ${describeValue(value)}`, `write it as in a pod's requests, e.g. ${key}: ${example}`);
      return undefined;
    }
    return parsed;
  }

  oneOf<T extends string>(parent: Fields, key: string, path: string, allowed: readonly T[]): T | undefined {
    const value = parent[key];
    const field = fieldPath(path, key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      const close = typeof value === 'string' ? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) : undefined;
      this.error(field, `${key} must be one of ${allowed.join(', ')}, not ${describeValue(value)}`, close ? `write ${close}` : `set ${field} to one of ${allowed.join(', ')}`);
      return undefined;
    }
    return value as T;
  }

  version(parent: Fields, key: string, path: string): string | undefined {
    const value = parent[key];
    const field = fieldPath(path, key);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number') {
      this.error(field, `version ${value} was read as a number, so trailing zeros and the patch level are lost`, `quote it with the patch level, e.g. ${key}: "${value}.0"`);
      return undefined;
    }
    if (typeof value !== 'string' || !/^v?\d+\.\d+\.\d+$/.test(value)) {
      this.error(field, `version must be MAJOR.MINOR.PATCH, not ${describeValue(value)}`, `write the Kubernetes version like ${key}: "1.35.0"`);
      return undefined;
    }
    return value;
  }
}

const networkFields = ['podCIDR', 'serviceCIDR', 'podAddressesPerNode', 'nodeCIDRMaskSize', 'maxPodsPerNode', 'proxyMode'];

function readNetwork(reader: DocumentReader, parent: Fields, path: string, warnUnknown: boolean): ClusterNetworkSpec {
  const network = reader.mapping(parent, 'network', path);
  const net = `${path}.network`;
  if (!network) return {};
  if (warnUnknown) reader.unknownFields(network, net, networkFields);
  return {
    podCIDR: reader.string(network, 'podCIDR', net),
    serviceCIDR: reader.string(network, 'serviceCIDR', net),
    podAddressesPerNode: reader.integer(network, 'podAddressesPerNode', net, 1),
    nodeCIDRMaskSize: reader.integer(network, 'nodeCIDRMaskSize', net, 0, 128),
    maxPodsPerNode: reader.integer(network, 'maxPodsPerNode', net, 1),
    proxyMode: reader.oneOf<ProxyMode>(network, 'proxyMode', net, proxyModes),
  };
}

function readInstance(reader: DocumentReader, parent: Fields, path: string): InstanceSpec | undefined {
  const instance = reader.mapping(parent, 'instance', path);
  if (!instance) return undefined;
  const at = `${path}.instance`;
  reader.unknownFields(instance, at, ['cpu', 'memoryGiB']);
  const cpu = reader.positiveNumber(instance, 'cpu', at, true);
  const memoryGiB = reader.positiveNumber(instance, 'memoryGiB', at, true);
  return cpu === undefined || memoryGiB === undefined ? undefined : { cpu, memoryGiB };
}

function readDisk(reader: DocumentReader, parent: Fields, key: string, path: string): DiskSpec | undefined {
  const disk = reader.mapping(parent, key, path);
  if (!disk) return undefined;
  const at = `${path}.${key}`;
  reader.unknownFields(disk, at, ['type', 'sizeGiB']);
  return { type: reader.string(disk, 'type', at), sizeGiB: reader.positiveNumber(disk, 'sizeGiB', at) };
}

function readVpc(reader: DocumentReader, spec: Fields): VpcSpec | undefined {
  const vpc = reader.mapping(spec, 'vpc', 'spec');
  if (!vpc) return undefined;
  reader.unknownFields(vpc, 'spec.vpc', ['cidr', 'zones', 'otherClusters']);
  const zones: ZoneSpec[] = [];
  reader.list(vpc, 'zones', 'spec.vpc').forEach((item, index) => {
    const at = `spec.vpc.zones[${index}]`;
    if (!isFields(item)) {
      reader.error(at, `a zone must be a mapping, not ${describeValue(item)}`, 'write each zone as {name: zone-a, vswitchCIDR: 192.168.0.0/24}');
      return;
    }
    reader.unknownFields(item, at, ['name', 'vswitchCIDR']);
    zones.push({ name: reader.string(item, 'name', at, true) ?? `zones[${index}]`, vswitchCIDR: reader.string(item, 'vswitchCIDR', at, true) });
  });
  const otherClusters: OtherClusterSpec[] = [];
  reader.list(vpc, 'otherClusters', 'spec.vpc').forEach((item, index) => {
    const at = `spec.vpc.otherClusters[${index}]`;
    if (!isFields(item)) {
      reader.error(at, `a cluster must be a mapping, not ${describeValue(item)}`, 'write each cluster as {name, podCIDR, serviceCIDR}');
      return;
    }
    reader.unknownFields(item, at, ['name', 'podCIDR', 'serviceCIDR']);
    otherClusters.push({
      name: reader.string(item, 'name', at, true) ?? `otherClusters[${index}]`,
      podCIDR: reader.string(item, 'podCIDR', at),
      serviceCIDR: reader.string(item, 'serviceCIDR', at),
    });
  });
  return { cidr: reader.string(vpc, 'cidr', 'spec.vpc'), zones, otherClusters };
}

function readNodes(reader: DocumentReader, spec: Fields): NodesSpec | undefined {
  const nodes = reader.mapping(spec, 'nodes', 'spec');
  if (!nodes) return undefined;
  reader.unknownFields(nodes, 'spec.nodes', ['instance', 'count', 'systemDisk', 'dataDisk']);
  return {
    instance: readInstance(reader, nodes, 'spec.nodes'),
    count: reader.integer(nodes, 'count', 'spec.nodes', 0),
    systemDisk: readDisk(reader, nodes, 'systemDisk', 'spec.nodes'),
    dataDisk: readDisk(reader, nodes, 'dataDisk', 'spec.nodes'),
  };
}

function readWorkloads(reader: DocumentReader, spec: Fields): WorkloadSpec[] {
  const workloads: WorkloadSpec[] = [];
  reader.list(spec, 'workloads', 'spec').forEach((item, index) => {
    const at = `spec.workloads[${index}]`;
    if (!isFields(item)) {
      reader.error(at, `a workload must be a mapping, not ${describeValue(item)}`, 'write each workload as {name: web, replicas: 3, cpu: 500m, memory: 1Gi}');
      return;
    }
    reader.unknownFields(item, at, ['name', 'replicas', 'cpu', 'memory', 'perNode']);
    const name = reader.string(item, 'name', at, true) ?? `workloads[${index}]`;
    const perNode = item['perNode'] === true;
    if (item['perNode'] !== undefined && typeof item['perNode'] !== 'boolean') {
      reader.error(`${at}.perNode`, `perNode must be true or false, not ${describeValue(item['perNode'])}`, 'set perNode: true for a DaemonSet-like workload');
    }
    const replicas = reader.integer(item, 'replicas', at, 0);
    if (replicas === undefined && !perNode && item['replicas'] === undefined) {
      reader.error(`${at}.replicas`, `workload ${name} has no replicas`, `add ${at}.replicas, or perNode: true for one replica on every node`);
    }
    const cpu = reader.quantity(item, 'cpu', at, '500m');
    const memory = reader.quantity(item, 'memory', at, '1Gi');
    for (const [key, value] of [['cpu', cpu], ['memory', memory]] as const) {
      if (value === undefined && item[key] === undefined) {
        reader.warning(`${at}.${key}`, `workload ${name} has no ${key} request, so it counts as 0`, `add ${at}.${key} with the pod's ${key} request`);
      }
    }
    workloads.push({ name, replicas: replicas ?? 0, perNode, cpu: cpu ?? 0, memoryBytes: memory ?? 0 });
  });
  return workloads;
}

function readMasters(reader: DocumentReader, spec: Fields): { instance?: InstanceSpec } | undefined {
  const masters = reader.mapping(spec, 'masters', 'spec');
  if (!masters) return undefined;
  reader.unknownFields(masters, 'spec.masters', ['instance']);
  return { instance: readInstance(reader, masters, 'spec.masters') };
}

function readName(reader: DocumentReader, document: Fields): string {
  const metadata = reader.mapping(document, 'metadata', '');
  const name = metadata ? reader.string(metadata, 'name', 'metadata') : undefined;
  if (name === undefined || name === '') {
    reader.warning('metadata.name', 'the plan has no name', 'add metadata: {name: my-cluster}');
    return '';
  }
  return name;
}

function readPlanDocument(reader: DocumentReader, document: Fields): ClusterPlan | null {
  reader.unknownFields(document, '', ['apiVersion', 'kind', 'metadata', 'spec']);
  const name = readName(reader, document);
  const spec = reader.mapping(document, 'spec', '', true);
  if (!spec) return null;
  reader.unknownFields(spec, 'spec', ['cluster', 'vpc', 'nodes', 'masters', 'workloads']);
  const cluster = reader.mapping(spec, 'cluster', 'spec', true) ?? {};
  reader.unknownFields(cluster, 'spec.cluster', ['type', 'version', 'network']);
  let type = reader.oneOf<ClusterType>(cluster, 'type', 'spec.cluster', clusterTypes);
  const typeGiven = type !== undefined;
  if (cluster['type'] === undefined) {
    reader.warning('spec.cluster.type', 'no cluster type given: planning as Managed', `set spec.cluster.type to ${clusterTypes.join(', ')}; it cannot be changed later`);
  }
  type ??= 'Managed';
  return {
    name,
    sourceKind: 'ClusterPlan',
    paths: { cluster: 'spec.cluster', network: 'spec.cluster.network' },
    cluster: {
      type,
      typeGiven,
      version: reader.version(cluster, 'version', 'spec.cluster'),
      network: readNetwork(reader, cluster, 'spec.cluster', true),
    },
    vpc: readVpc(reader, spec),
    nodes: readNodes(reader, spec),
    masters: readMasters(reader, spec),
    workloads: readWorkloads(reader, spec),
  };
}

// A Cluster's other fields (placement, components, certificates, addons) belong to the Cluster
// API and are not the planner's to judge, so only the fields it reads are validated.
function readClusterObject(reader: DocumentReader, document: Fields): ClusterPlan | null {
  const name = readName(reader, document);
  const spec = reader.mapping(document, 'spec', '', true);
  if (!spec) return null;
  const mode = typeof spec['mode'] === 'string' ? spec['mode'] : undefined;
  return {
    name,
    sourceKind: 'Cluster',
    paths: { cluster: 'spec', network: 'spec.network' },
    cluster: {
      // A Cluster is a control plane hosted by Tessera on the meta cluster.
      type: 'Managed',
      typeGiven: true,
      version: reader.version(spec, 'version', 'spec'),
      masterReplicas: mode === 'Minimal' ? 1 : 3,
      network: readNetwork(reader, spec, 'spec', false),
    },
    workloads: [],
  };
}

export function readClusterPlan(document: unknown): SchemaResult {
  const reader = new DocumentReader();
  if (!isFields(document)) {
    reader.error('', `the document must be a mapping with apiVersion, kind and spec, not ${describeValue(document)}`, `start from a ClusterPlan: apiVersion: ${planApiVersion}, kind: ClusterPlan`);
    return { plan: null, findings: reader.findings };
  }
  const apiVersion = document['apiVersion'];
  const kind = document['kind'];
  if (!(planKinds as readonly unknown[]).includes(kind)) {
    reader.error('kind', `kind must be ClusterPlan or Cluster, not ${describeValue(kind)}`, 'set kind: ClusterPlan');
    return { plan: null, findings: reader.findings };
  }
  if (apiVersion !== planApiVersion) {
    reader.error('apiVersion', `apiVersion must be ${planApiVersion} for a ${String(kind)}, not ${describeValue(apiVersion)}`, `set apiVersion: ${planApiVersion}`);
  }
  const plan = kind === 'Cluster' ? readClusterObject(reader, document) : readPlanDocument(reader, document);
  return { plan, findings: reader.findings };
}
