// Worker disks. Seed 000: the container runtime's storage holds images and emptyDir data and
// churns with every release, so it should be an SSD of 500 GB or more; disk types cannot be
// changed once nodes exist.
import type { NodesSpec } from './cluster-plan.ts';
import type { Finding } from './finding.ts';

export const recommendedDataDiskGiB = 500;

export function checkNodeDisks(nodes: NodesSpec | undefined): Finding[] {
  const findings: Finding[] = [];
  const data = nodes?.dataDisk;
  if (data?.sizeGiB !== undefined && data.sizeGiB < recommendedDataDiskGiB) {
    findings.push({
      severity: 'warning',
      field: 'spec.nodes.dataDisk.sizeGiB',
      message: `a ${data.sizeGiB} GiB data disk fills quickly with images and emptyDir data on a busy node`,
      fix: `use ${recommendedDataDiskGiB} GiB or more (SSD)`,
    });
  }
  return findings;
}
