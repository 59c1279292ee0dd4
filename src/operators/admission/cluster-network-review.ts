// Admission review of a Cluster's network: the planner's rules (src/plan) against the other
// Clusters that name the same VPC. Pure: the server hands in the review and the other clusters.
import { checkClusterNetworkAgainstVpc, type ClusterNetworkObject } from '../../plan/network-rules.ts';

export type ClusterLike = ClusterNetworkObject & { spec?: { network?: { vpc?: unknown } } };

export type AdmissionReview = {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: { uid: string; operation: string; object?: ClusterLike; oldObject?: ClusterLike; kind?: { kind: string } };
  response?: { uid: string; allowed: boolean; status?: { code: number; reason: string; message: string }; warnings?: string[] };
};

export function vpcOf(cluster: ClusterLike): string | undefined {
  const vpc = cluster.spec?.network?.vpc;
  return typeof vpc === 'string' && vpc ? vpc : undefined;
}

/** Clusters that share the reviewed cluster's VPC; none when it names no VPC. */
export function clustersInSameVpc(cluster: ClusterLike, all: readonly ClusterLike[]): ClusterLike[] {
  const vpc = vpcOf(cluster);
  return vpc ? all.filter((other) => vpcOf(other) === vpc) : [];
}

export function reviewClusterNetwork(review: AdmissionReview, allClusters: readonly ClusterLike[]): AdmissionReview {
  const request = review.request;
  const uid = request?.uid ?? '';
  const cluster = request?.object;
  if (!request || !cluster || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) {
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } };
  }
  const findings = checkClusterNetworkAgainstVpc(cluster, clustersInSameVpc(cluster, allClusters));
  const errors = findings.filter((finding) => finding.severity === 'error');
  const warnings = findings.filter((finding) => finding.severity === 'warning').map((finding) => `${finding.field}: ${finding.message}`);
  if (errors.length === 0) {
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true, ...(warnings.length ? { warnings } : {}) } };
  }
  const message = errors.map((finding) => `${finding.field}: ${finding.message} (fix: ${finding.fix})`).join('; ');
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid, allowed: false, status: { code: 422, reason: 'Invalid', message }, ...(warnings.length ? { warnings } : {}) },
  };
}
