import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reviewClusterNetwork, type AdmissionReview, type ClusterLike } from './cluster-network-review.ts';

const cluster = (name: string, vpc: string | undefined, podCIDR: string, serviceCIDR: string): ClusterLike => ({
  metadata: { name, namespace: 'default' },
  spec: { network: { vpc, podCIDR, serviceCIDR } },
});

const review = (object: ClusterLike, operation = 'CREATE'): AdmissionReview => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', operation, object } });

test('a cluster whose pod CIDR overlaps another cluster in the same VPC is rejected naming the field and a fix', () => {
  const existing = cluster('prod', 'vpc-1', '10.0.0.0/16', '10.1.0.0/20');
  const answer = reviewClusterNetwork(review(cluster('shop', 'vpc-1', '10.0.128.0/17', '172.19.0.0/20')), [existing]);
  assert.equal(answer.response?.uid, 'u-1');
  assert.equal(answer.response?.allowed, false);
  assert.match(answer.response?.status?.message ?? '', /spec\.network\.podCIDR/);
  assert.match(answer.response?.status?.message ?? '', /prod/);
  assert.match(answer.response?.status?.message ?? '', /fix: /);
});

test('the same ranges in another VPC, or with no VPC named, are allowed', () => {
  const existing = cluster('prod', 'vpc-1', '10.0.0.0/16', '10.1.0.0/20');
  assert.equal(reviewClusterNetwork(review(cluster('shop', 'vpc-2', '10.0.0.0/16', '10.1.0.0/20')), [existing]).response?.allowed, true);
  assert.equal(reviewClusterNetwork(review(cluster('shop', undefined, '10.0.0.0/16', '10.1.0.0/20')), [existing]).response?.allowed, true);
});

test("a cluster's own pod and service CIDRs must not overlap, whatever the VPC", () => {
  const answer = reviewClusterNetwork(review(cluster('shop', undefined, '10.0.0.0/16', '10.0.16.0/20')), []);
  assert.equal(answer.response?.allowed, false);
  assert.match(answer.response?.status?.message ?? '', /spec\.network\.serviceCIDR|spec\.network\.podCIDR/);
});

test('an update is checked against the others but not against itself; deletes pass', () => {
  const self = cluster('shop', 'vpc-1', '10.2.0.0/16', '10.3.0.0/20');
  assert.equal(reviewClusterNetwork(review(self, 'UPDATE'), [self]).response?.allowed, true);
  assert.equal(reviewClusterNetwork(review(self, 'DELETE'), []).response?.allowed, true);
});
