// The human-readable report `tessera plan` prints: the verdict first, then the numbers a person
// needs to judge the plan, the choices that are final, and every finding with its fix.
import type { Finding } from './finding.ts';
import type { PlanReport } from './plan.ts';

function plural(count: number, word: string): string {
  if (count === 1) return `${count} ${word}`;
  return `${count} ${word}${word.endsWith('s') ? 'es' : 's'}`;
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(16)}${value}`;
}

function renderFinding(finding: Finding): string[] {
  const indent = ' '.repeat(11);
  return [
    `  ${finding.severity.padEnd(8)} ${finding.field || '(document)'}`,
    `${indent}${finding.message}`,
    `${indent}fix: ${finding.fix}`,
  ];
}

function renderCapacity(capacity: PlanReport['capacity']): string[] {
  const lines = ['Capacity', row('demand', `${capacity.demand.cpu} CPU, ${capacity.demand.memoryGiB} GiB, ${plural(capacity.demand.pods, 'pod')}`)];
  const node = capacity.node;
  if (node) {
    const daemons =
      node.perNodeWorkloadCpu > 0 || node.perNodeWorkloadMemoryGiB > 0
        ? `, ${node.perNodeWorkloadCpu} CPU / ${node.perNodeWorkloadMemoryGiB} GiB per-node workloads`
        : '';
    const shape = `${node.cpu} CPU / ${node.memoryGiB} GiB, ${node.systemReservedCpu} CPU / ${node.systemReservedMemoryGiB} GiB system reserved${daemons}`;
    lines.push(row('per node', `${shape} -> ${node.allocatableCpu} CPU / ${node.allocatableMemoryGiB} GiB allocatable`));
  }
  if (capacity.workerNodes !== null) {
    const nodesFor = capacity.nodesFor;
    const formula = nodesFor ? ` = max(cpu ${nodesFor.cpu}, memory ${nodesFor.memory}, pods ${nodesFor.pods}) + 1 spare` : '';
    let detail = '';
    if (capacity.workerNodesSource === 'recommended') detail = ` (recommended${formula})`;
    if (capacity.workerNodesSource === 'spec.nodes.count') {
      const recommendation = capacity.recommendedWorkerNodes !== null ? `; recommended ${capacity.recommendedWorkerNodes}${formula}` : '';
      detail = ` (spec.nodes.count${recommendation})`;
    }
    lines.push(row('worker nodes', `${capacity.workerNodes}${detail}`));
  }
  return lines;
}

export function renderPlanReportText(report: PlanReport, source?: string): string {
  const lines: string[] = [];
  const { errors, warnings, infos } = report.summary;
  const verdict = report.ok ? 'OK' : 'NOT OK';
  const what = report.name ? `"${report.name}"` : '(unnamed)';
  const from = source ? ` from ${source}` : '';
  lines.push(`Plan ${what}${report.sourceKind ? ` (${report.sourceKind})` : ''}${from}: ${verdict}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${plural(infos, 'note')}`);

  if (report.sourceKind !== null) {
    lines.push('');
    const version = report.cluster.version ? `, Kubernetes ${report.cluster.version}` : '';
    lines.push(`Cluster           ${report.cluster.type}${version}`);
    const network = report.network;
    lines.push(`Network           ${network.family ?? 'unknown family'}, kube-proxy ${network.proxyMode}`);
    if (network.podCIDR) {
      const block = network.nodeCIDRMaskSize !== null ? `, a /${network.nodeCIDRMaskSize} block (${network.podAddressesPerNode} addresses) per node` : '';
      lines.push(row('pod CIDR', `${network.podCIDR}${block}`));
    }
    if (network.maxNodes !== null) lines.push(row('max nodes', String(network.maxNodes)));
    if (network.maxPodsPerNode !== null) {
      const total = network.maxPods !== null ? ` (at most ${network.maxPods} pods in the cluster)` : '';
      lines.push(row('pods per node', `${network.maxPodsPerNode}${total}`));
    }
    if (network.serviceCIDR) lines.push(row('service CIDR', `${network.serviceCIDR} (${network.serviceAddresses} addresses)`));
    if (network.vpcCIDR) lines.push(row('VPC', network.vpcCIDR));
    const nameWidth = Math.max(0, ...network.zones.map((zone) => zone.name.length));
    const cidrWidth = Math.max(0, ...network.zones.map((zone) => (zone.vswitchCIDR ?? 'invalid').length));
    // In a Serverless cluster the vSwitch addresses go to pods, not nodes.
    const unit = report.cluster.type === 'Serverless' ? 'pod address' : 'node';
    network.zones.forEach((zone, index) => {
      const value = `${zone.name.padEnd(nameWidth)}  ${(zone.vswitchCIDR ?? 'invalid').padEnd(cidrWidth)}  ${plural(zone.nodeCapacity, unit)}`;
      lines.push(index === 0 ? row('zones', value) : `${' '.repeat(18)}${value}`);
    });

    if (report.sourceKind === 'ClusterPlan') lines.push(...renderCapacity(report.capacity));
    const masters = report.masters;
    lines.push(
      masters.userVisible
        ? `Masters           ${masters.count} x ${masters.cpu} CPU / ${masters.memoryGiB} GiB (${masters.tier})`
        : `Masters           ${masters.note}`,
    );

    if (report.immutableFields.length > 0) {
      lines.push('');
      lines.push('Fixed at creation (cannot be changed later)');
      const width = Math.max(...report.immutableFields.map((field) => field.field.length));
      for (const field of report.immutableFields) {
        const value = field.value === null ? 'not set' : String(field.value);
        lines.push(`  ${field.field.padEnd(width)}  ${value}${field.defaulted ? ' (default)' : ''}`);
      }
    }
  }

  if (report.findings.length > 0) {
    lines.push('');
    lines.push('Findings');
    for (const finding of report.findings) lines.push(...renderFinding(finding));
  }
  return `${lines.join('\n')}\n`;
}
