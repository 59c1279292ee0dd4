import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapTokenSecret, clusterDnsAddress } from './guest-join.ts';

test('the cluster DNS address is the tenth address of the Service range', () => {
  assert.equal(clusterDnsAddress('10.96.0.0/12'), '10.96.0.10');
  assert.equal(clusterDnsAddress('172.20.0.0/16'), '172.20.0.10');
});

test('a bootstrap token authenticates in the kubeadm node group and expires', () => {
  const secret = bootstrapTokenSecret('abc123', '0123456789abcdef', new Date('2026-12-06T13:00:00.123Z')) as { metadata: { name: string; namespace: string }; type: string; stringData: Record<string, string> };
  assert.equal(secret.metadata.name, 'bootstrap-token-abc123');
  assert.equal(secret.metadata.namespace, 'kube-system');
  assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
  assert.equal(secret.stringData['auth-extra-groups'], 'system:bootstrappers:kubeadm:default-node-token');
  assert.equal(secret.stringData['usage-bootstrap-authentication'], 'true');
  assert.equal(secret.stringData['expiration'], '2026-12-06T13:00:00Z');
});
