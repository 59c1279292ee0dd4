// The cluster DNS zone as a table, built from Services and Pods after the Kubernetes
// DNS-Based Service Discovery specification (kubernetes/dns docs/specification.md):
//   <svc>.<ns>.svc.<zone>              A: the ClusterIP, or for a headless Service the published
//                                      endpoint IPs (no published endpoint: NXDOMAIN)
//   <host>.<svc>.<ns>.svc.<zone>       A: a headless Service's endpoint; <host> is the pod's
//                                      spec.hostname, else its IP with dashes (a-b-c-d)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV for every named port
//   <d>.<c>.<b>.<a>.in-addr.arpa       PTR back to the names above
//   <svc>.<ns>.svc.<zone>              CNAME for an ExternalName Service
//   <a-b-c-d>.<ns>.pod.<zone>          A: only for IPs of existing pods in that namespace (as
//                                      CoreDNS "pods verified"; the spec's deprecated form
//                                      answers any address)
//   dns-version.<zone>                 TXT: the schema version
// The table is rebuilt whole on every change; it is small, and lookups are one Map access.
import { isIPv4 } from 'node:net';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { endpointIsPublished, endpointsForService } from './service-endpoints.ts';

export type DnsRecord =
  | { type: 'A'; address: string }
  | { type: 'CNAME'; target: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'PTR'; target: string }
  | { type: 'TXT'; text: string };

export type DnsRecordType = DnsRecord['type'];

export interface DnsTable {
  readonly clusterDomain: string;
  /** How many names the table holds, empty non-terminals included. */
  readonly size: number;
  /**
   * The records of `type` at `name` ('ANY' for all). Undefined when the name does not exist
   * (NXDOMAIN); an empty list when it exists without such records (NOERROR, no data). A name
   * that is an alias answers every type but CNAME with its CNAME record, as DNS does; the
   * caller follows it. Names are case-insensitive; a trailing dot is ignored.
   */
  lookup(name: string, type: string): readonly DnsRecord[] | undefined;
  /** Whether `name` is the cluster domain or below it, where the table is the authority. */
  isClusterName(name: string): boolean;
}

export interface DnsTableSource {
  services: readonly V1Service[];
  pods: readonly V1Pod[];
  clusterDomain?: string;
}

/** The schema version of the Kubernetes DNS specification this table follows. */
export const dnsSchemaVersion = '1.0.1';

export function normalizeDnsName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') && lower.length > 1 ? lower.slice(0, -1) : lower;
}

export function reverseDnsName(ipv4: string): string {
  return `${ipv4.split('.').reverse().join('.')}.in-addr.arpa`;
}

function dashedAddress(ipv4: string): string {
  return ipv4.replaceAll('.', '-');
}

function recordKey(record: DnsRecord): string {
  return JSON.stringify(record);
}

class DnsTableBuilder {
  readonly names = new Map<string, DnsRecord[]>();
  readonly clusterDomain: string;

  constructor(clusterDomain: string) {
    this.clusterDomain = clusterDomain;
  }

  add(name: string, record: DnsRecord): void {
    const key = normalizeDnsName(name);
    const records = this.names.get(key);
    if (!records) {
      this.names.set(key, [record]);
      this.addAncestors(key);
      return;
    }
    const wanted = recordKey(record);
    if (!records.some((r) => recordKey(r) === wanted)) records.push(record);
  }

  // Names between a record and the cluster domain exist without data (empty non-terminals),
  // so `default.svc.cluster.local` is NOERROR rather than NXDOMAIN (RFC 8020).
  private addAncestors(name: string): void {
    const suffix = `.${this.clusterDomain}`;
    if (!name.endsWith(suffix)) return;
    let ancestor = name;
    while (ancestor.length > this.clusterDomain.length) {
      ancestor = ancestor.slice(ancestor.indexOf('.') + 1);
      if (this.names.has(ancestor)) return;
      this.names.set(ancestor, []);
    }
  }
}

function clusterIPv4s(service: V1Service): string[] {
  const spec = service.spec;
  const ips = new Set([...(spec?.clusterIPs ?? []), ...(spec?.clusterIP ? [spec.clusterIP] : [])]);
  return [...ips].filter((ip) => isIPv4(ip));
}

function addService(table: DnsTableBuilder, service: V1Service, pods: readonly V1Pod[]): void {
  const name = service.metadata?.name;
  const namespace = service.metadata?.namespace ?? 'default';
  if (!name) return;
  const serviceName = `${name}.${namespace}.svc.${table.clusterDomain}`;
  const spec = service.spec ?? {};

  if (spec.type === 'ExternalName') {
    if (spec.externalName) table.add(serviceName, { type: 'CNAME', target: normalizeDnsName(spec.externalName) });
    return;
  }

  if (spec.clusterIP !== 'None') {
    const ips = clusterIPv4s(service);
    if (ips.length === 0) return; // not allocated yet
    for (const ip of ips) {
      table.add(serviceName, { type: 'A', address: ip });
      table.add(reverseDnsName(ip), { type: 'PTR', target: serviceName });
    }
    for (const port of spec.ports ?? []) {
      if (!port.name) continue; // the spec gives unnamed ports no SRV record
      const srvName = `_${port.name}._${(port.protocol ?? 'TCP').toLowerCase()}.${serviceName}`;
      table.add(srvName, { type: 'SRV', priority: 0, weight: 100, port: port.port, target: serviceName });
    }
    return;
  }

  // Headless: the Service name stands for its published endpoints; none published is NXDOMAIN.
  for (const endpoint of endpointsForService(service, pods)) {
    if (!endpointIsPublished(service, endpoint) || !isIPv4(endpoint.ip)) continue;
    const hostName = `${endpoint.hostname ?? dashedAddress(endpoint.ip)}.${serviceName}`;
    table.add(serviceName, { type: 'A', address: endpoint.ip });
    table.add(hostName, { type: 'A', address: endpoint.ip });
    table.add(reverseDnsName(endpoint.ip), { type: 'PTR', target: hostName });
    for (const port of endpoint.ports) {
      if (!port.name) continue;
      const srvName = `_${port.name}._${port.protocol.toLowerCase()}.${serviceName}`;
      table.add(srvName, { type: 'SRV', priority: 0, weight: 100, port: port.targetPort, target: hostName });
    }
  }
}

function addPod(table: DnsTableBuilder, pod: V1Pod): void {
  const namespace = pod.metadata?.namespace ?? 'default';
  const ips = new Set([...(pod.status?.podIPs ?? []).map((p) => p.ip), pod.status?.podIP]);
  for (const ip of ips) {
    if (ip && isIPv4(ip)) table.add(`${dashedAddress(ip)}.${namespace}.pod.${table.clusterDomain}`, { type: 'A', address: ip });
  }
}

export function buildDnsTable({ services, pods, clusterDomain = 'cluster.local' }: DnsTableSource): DnsTable {
  const domain = normalizeDnsName(clusterDomain);
  const table = new DnsTableBuilder(domain);
  table.add(`dns-version.${domain}`, { type: 'TXT', text: dnsSchemaVersion });

  const podsByNamespace = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const namespace = pod.metadata?.namespace ?? 'default';
    const list = podsByNamespace.get(namespace);
    if (list) list.push(pod);
    else podsByNamespace.set(namespace, [pod]);
    addPod(table, pod);
  }
  for (const service of services) {
    addService(table, service, podsByNamespace.get(service.metadata?.namespace ?? 'default') ?? []);
  }

  const names = table.names;
  const suffix = `.${domain}`;
  return {
    clusterDomain: domain,
    size: names.size,
    lookup(name, type) {
      const records = names.get(normalizeDnsName(name));
      if (!records) return undefined;
      const wanted = type.toUpperCase();
      if (wanted === 'ANY') return records;
      const alias = records.find((r) => r.type === 'CNAME');
      if (alias && wanted !== 'CNAME') return [alias];
      return records.filter((r) => r.type === wanted);
    },
    isClusterName(name) {
      const normalized = normalizeDnsName(name);
      return normalized === domain || normalized.endsWith(suffix);
    },
  };
}
