import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readClusterPlan } from './cluster-plan-schema.ts';
import { listImmutableFields } from './immutable-fields.ts';
import { checkClusterNetwork } from './network-rules.ts';

function fieldsOf(document: unknown) {
  const { plan } = readClusterPlan(document);
  assert.ok(plan);
  const network = checkClusterNetwork({ clusterType: plan.cluster.type, network: plan.cluster.network, networkPath: plan.paths.network });
  return listImmutableFields(plan, network);
}

test('defaults are marked as defaults, with the value the cluster would get', () => {
  const fields = fieldsOf({
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'ClusterPlan',
    metadata: { name: 'x' },
    spec: { cluster: { network: { podCIDR: '10.0.0.0/16', serviceCIDR: '10.1.0.0/20' } } },
  });
  const byField = Object.fromEntries(fields.map((f) => [f.field, f]));
  assert.deepEqual(byField['spec.cluster.type'], { field: 'spec.cluster.type', value: 'Managed', defaulted: true, why: byField['spec.cluster.type']?.why });
  assert.equal(byField['spec.cluster.network.nodeCIDRMaskSize']?.value, 24);
  assert.equal(byField['spec.cluster.network.nodeCIDRMaskSize']?.defaulted, true);
  assert.equal(byField['spec.cluster.network.proxyMode']?.value, 'iptables');
  assert.equal(byField['spec.cluster.network.maxPodsPerNode']?.value, 110);
  assert.ok(fields.every((f) => f.why.length > 0));
});

test('a Cluster lists its network fields under spec.network and has no type or disks', () => {
  const fields = fieldsOf({
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'x' },
    spec: { network: { podCIDR: '10.0.0.0/16', serviceCIDR: '10.1.0.0/20', nodeCIDRMaskSize: 24, proxyMode: 'ipvs' } },
  });
  assert.deepEqual(fields.map((f) => f.field), ['spec.network.podCIDR', 'spec.network.serviceCIDR', 'spec.network.nodeCIDRMaskSize', 'spec.network.maxPodsPerNode', 'spec.network.proxyMode']);
});
