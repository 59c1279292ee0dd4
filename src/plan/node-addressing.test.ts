import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidr } from './cidr.ts';
import { planNodeAddressing, type NodeAddressingInput } from './node-addressing.ts';

const net = 'spec.cluster.network';
const plan = (input: Partial<NodeAddressingInput>) => planNodeAddressing({ podCIDR: null, networkPath: net, ...input });
const errorsOn = (result: ReturnType<typeof planNodeAddressing>) => result.findings.filter((f) => f.severity === 'error').map((f) => f.field);

test("the seed's example: a /16 with 128 addresses per node gives /25 blocks and 512 nodes", () => {
  const result = plan({ podCIDR: cidr('172.16.0.0/16'), podAddressesPerNode: 128 });
  assert.equal(result.nodeCIDRMaskSize, 25);
  assert.equal(result.podAddressesPerNode, 128);
  assert.equal(result.maxNodes, 512);
  assert.equal(result.maxPodsPerNode, 110);
  assert.deepEqual(errorsOn(result), []);
});

test('max nodes is 2^(node mask - pod prefix), as in Gardener\'s examples', () => {
  assert.equal(plan({ podCIDR: cidr('100.96.0.0/16'), nodeCIDRMaskSize: 24 }).maxNodes, 256);
  assert.equal(plan({ podCIDR: cidr('100.96.0.0/20'), nodeCIDRMaskSize: 24 }).maxNodes, 16);
  assert.equal(plan({ podCIDR: cidr('100.96.0.0/20'), nodeCIDRMaskSize: 25 }).maxNodes, 32);
});

test('without a block size the kube-controller-manager defaults apply, /24 and /64', () => {
  const v4 = plan({ podCIDR: cidr('10.0.0.0/16') });
  assert.equal(v4.nodeCIDRMaskSize, 24);
  assert.equal(v4.maxNodes, 256);
  assert.ok(v4.findings.some((f) => f.severity === 'info' && f.field === `${net}.nodeCIDRMaskSize`));
  const v6 = plan({ podCIDR: cidr('fd00:10::/56') });
  assert.equal(v6.nodeCIDRMaskSize, 64);
  assert.equal(v6.maxNodes, 256);
  assert.equal(v6.maxPodsPerNode, 110);
});

test('a node mask shorter than the pod prefix is an error and leaves room for no node', () => {
  const result = plan({ podCIDR: cidr('172.16.0.0/26'), nodeCIDRMaskSize: 24 });
  assert.equal(result.maxNodes, 0);
  assert.deepEqual(errorsOn(result), [`${net}.nodeCIDRMaskSize`]);
  assert.match(result.findings[0]?.fix ?? '', /\/26 or longer/);
});

test('more than 16 bits between pod prefix and node mask is an error', () => {
  const ok = plan({ podCIDR: cidr('10.0.0.0/8'), nodeCIDRMaskSize: 24 });
  assert.deepEqual(errorsOn(ok), []);
  assert.equal(ok.maxNodes, 65536);
  const tooMany = plan({ podCIDR: cidr('10.0.0.0/8'), podAddressesPerNode: 16 });
  assert.equal(tooMany.maxNodes, 2 ** 20);
  assert.deepEqual(errorsOn(tooMany), [`${net}.podAddressesPerNode`]);
  assert.match(tooMany.findings.find((f) => f.severity === 'error')?.fix ?? '', /\/12 or longer.*\/24 or shorter/);
});

test('addresses per node must be a power of two; the fix rounds up', () => {
  const result = plan({ podCIDR: cidr('10.0.0.0/16'), podAddressesPerNode: 100 });
  assert.deepEqual(errorsOn(result), [`${net}.podAddressesPerNode`]);
  assert.match(result.findings[0]?.fix ?? '', /use 128 \(a \/25 block per node\)/);
  assert.equal(result.maxNodes, null);
});

test('podAddressesPerNode and nodeCIDRMaskSize must agree when both are given', () => {
  assert.deepEqual(errorsOn(plan({ podCIDR: cidr('10.0.0.0/16'), podAddressesPerNode: 128, nodeCIDRMaskSize: 24 })), [`${net}.nodeCIDRMaskSize`]);
  assert.deepEqual(errorsOn(plan({ podCIDR: cidr('10.0.0.0/16'), podAddressesPerNode: 256, nodeCIDRMaskSize: 24 })), []);
});

test('max pods per node may use the block up to 2 addresses short of it', () => {
  assert.deepEqual(errorsOn(plan({ podCIDR: cidr('10.0.0.0/16'), nodeCIDRMaskSize: 25, maxPodsPerNode: 126 })), []);
  const over = plan({ podCIDR: cidr('10.0.0.0/16'), nodeCIDRMaskSize: 25, maxPodsPerNode: 127 });
  assert.deepEqual(errorsOn(over), [`${net}.maxPodsPerNode`]);
  assert.match(over.findings.find((f) => f.severity === 'error')?.fix ?? '', /at most 126, or use a \/24 block/);
});

test('the default max pods drops below 110 when the block is smaller', () => {
  const result = plan({ podCIDR: cidr('10.0.0.0/16'), nodeCIDRMaskSize: 26 });
  assert.equal(result.maxPodsPerNode, 62);
  assert.ok(result.findings.some((f) => f.severity === 'info' && /lowered from 110 to 62/.test(f.message)));
});

test('more than 110 pods per node is a warning, not an error', () => {
  const result = plan({ podCIDR: cidr('10.0.0.0/16'), nodeCIDRMaskSize: 23, maxPodsPerNode: 250 });
  assert.deepEqual(errorsOn(result), []);
  assert.ok(result.findings.some((f) => f.severity === 'warning' && f.field === `${net}.maxPodsPerNode`));
});

test('a /31 or /32 block leaves no address for pods', () => {
  assert.deepEqual(errorsOn(plan({ podCIDR: cidr('10.0.0.0/24'), nodeCIDRMaskSize: 31 })), [`${net}.nodeCIDRMaskSize`]);
  assert.deepEqual(errorsOn(plan({ podCIDR: cidr('10.0.0.0/24'), nodeCIDRMaskSize: 33 })), [`${net}.nodeCIDRMaskSize`]);
});

test('without a pod CIDR nothing is computed but the mask is still validated', () => {
  const result = plan({ nodeCIDRMaskSize: 24 });
  assert.equal(result.maxNodes, null);
  assert.equal(result.nodeCIDRMaskSize, 24);
});
