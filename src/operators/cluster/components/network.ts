// Network: the planner's rules against the other Clusters in the same VPC. Admission runs them
// too, but admission may have been down (failurePolicy Ignore): nothing is created for a Cluster
// whose network conflicts.
import { checkClusterNetworkAgainstVpc } from '../../../plan/network-rules.ts';
import type { ClusterComponent } from '../component.ts';
import { ConditionType, Reason } from '../status.ts';

export const network: ClusterComponent = {
  name: 'network',
  dependsOn: [],
  reason: 'nothing is created for a Cluster whose ranges conflict',
  condition: ConditionType.NetworkValid,
  render: () => [],
  observe(pass) {
    const vpc = pass.spec.network.vpc;
    const others = vpc ? pass.options.caches.clusters.list().filter((other) => other.spec.network?.vpc === vpc) : [];
    const errors = checkClusterNetworkAgainstVpc(pass.cluster, others).filter((finding) => finding.severity === 'error');
    if (errors.length > 0) {
      const message = errors.map((finding) => `${finding.field}: ${finding.message} (fix: ${finding.fix})`).join('; ');
      pass.warning(Reason.NetworkConflict, message);
      return { ready: false, condition: { status: 'False', reason: Reason.NetworkConflict, message } };
    }
    const message = vpc ? `no conflicts with the ${others.length - 1} other cluster(s) in VPC ${vpc}` : 'pod and service ranges are consistent';
    return { ready: true, condition: { status: 'True', reason: Reason.NoConflicts, message } };
  },
};
