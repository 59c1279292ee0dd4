import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planDocument } from './plan.ts';
import { renderPlanReportText } from './plan-report-text.ts';

const document = {
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'ClusterPlan',
  metadata: { name: 'shop' },
  spec: {
    cluster: { type: 'Managed', version: '1.35.0', network: { podCIDR: '172.16.1.0/16', serviceCIDR: '172.19.0.0/20', podAddressesPerNode: 128, proxyMode: 'iptables' } },
    vpc: { cidr: '192.168.0.0/16', zones: [{ name: 'zone-a', vswitchCIDR: '192.168.0.0/24' }, { name: 'zone-b', vswitchCIDR: '192.168.1.0/24' }] },
    nodes: { instance: { cpu: 16, memoryGiB: 64 } },
    workloads: [{ name: 'web', replicas: 30, cpu: '500m', memory: '1Gi' }],
  },
};

test('the text report gives the verdict, the numbers, the final choices and each finding with its fix', () => {
  const text = renderPlanReportText(planDocument(document), 'shop.yaml');
  const lines = text.split('\n');
  assert.equal(lines[0], 'Plan "shop" (ClusterPlan) from shop.yaml: NOT OK, 1 error, 0 warnings, 1 note');
  assert.match(text, /max nodes {7}512\n/);
  assert.match(text, /zone-a {2}192\.168\.0\.0\/24 {2}252 nodes/);
  assert.match(text, /worker nodes {4}3 \(recommended = max\(cpu 2, memory 1, pods 1\) \+ 1 spare\)/);
  assert.match(text, /Masters {11}3 x 8 CPU \/ 32 GiB \(up to 100 nodes\)/);
  assert.match(text, /Fixed at creation \(cannot be changed later\)\n {2}spec\.cluster\.type +Managed/);
  assert.match(text, / {2}error {4}spec\.cluster\.network\.podCIDR\n.*host bits.*\n {11}fix: use 172\.16\.0\.0\/16\n/);
  assert.ok(text.endsWith('\n'));
});

test('a Serverless report says the masters are not user visible', () => {
  const serverless = structuredClone(document) as Record<string, unknown> & typeof document;
  serverless.spec = { ...document.spec, cluster: { ...document.spec.cluster, type: 'Serverless', network: { serviceCIDR: '172.19.0.0/20' } as never } };
  const text = renderPlanReportText(planDocument(serverless));
  assert.match(text, /^Plan "shop" \(ClusterPlan\): OK/);
  assert.match(text, /Masters {11}none user visible/);
});

test('a document that is not a plan shows only the findings', () => {
  const text = renderPlanReportText(planDocument({ kind: 'Pod' }));
  assert.match(text, /^Plan \(unnamed\): NOT OK, 1 error/);
  assert.doesNotMatch(text, /Network/);
  assert.match(text, /error {4}kind\n/);
});
