import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSubset } from './owned-objects.ts';

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
