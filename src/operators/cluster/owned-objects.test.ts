import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstDifference, isSubset } from './owned-objects.ts';

test('a live object with extra, server-defaulted fields matches what we rendered', () => {
  assert.equal(isSubset({ spec: { ports: [{ port: 6443 }] } }, { spec: { ports: [{ port: 6443, protocol: 'TCP' }], clusterIP: '10.0.0.1' } }), true);
});

test('a field with another value, or a list of another length, is a difference', () => {
  assert.equal(isSubset({ spec: { replicas: 3 } }, { spec: { replicas: 1 } }), false);
  assert.equal(isSubset({ spec: { args: ['a', 'b'] } }, { spec: { args: ['a'] } }), false);
  assert.equal(isSubset({ metadata: { labels: { a: 'b' } } }, { metadata: {} }), false);
});

test('zero values the API server omits (false, 0, empty) match their absence: a converged Service costs no write', () => {
  assert.equal(isSubset({ spec: { publishNotReadyAddresses: false, clusterIP: 'None' } }, { spec: { clusterIP: 'None' } }), true);
  assert.equal(isSubset({ spec: { selector: {}, ports: [] } }, { spec: {} }), true);
  assert.equal(isSubset({ spec: { publishNotReadyAddresses: true } }, { spec: {} }), false);
});

test('quantities compare by value where the server stores them canonically, and the first difference is named', () => {
  const rendered = { spec: { template: { spec: { containers: [{ name: 'a', resources: { requests: { cpu: '1000m' }, limits: { memory: '1024Mi' } } }] } } } };
  const stored = { spec: { template: { spec: { containers: [{ name: 'a', resources: { requests: { cpu: '1' }, limits: { memory: '1Gi' } } }] } } } };
  assert.equal(firstDifference(rendered, stored), undefined);
  assert.equal(isSubset(rendered, stored), true);
  const grown = { spec: { template: { spec: { containers: [{ name: 'a', resources: { requests: { cpu: '1' }, limits: { memory: '2Gi' } } }] } } } };
  assert.equal(firstDifference(rendered, grown), 'spec.template.spec.containers[0].resources.limits.memory');
  // Outside a quantity map a string is a string: "1024Mi" in a label is not "1Gi".
  assert.equal(firstDifference({ metadata: { labels: { size: '1024Mi' } } }, { metadata: { labels: { size: '1Gi' } } }), 'metadata.labels.size');
  assert.equal(firstDifference({ spec: { args: ['a', 'b'] } }, { spec: { args: ['a'] } }), 'spec.args');
});
