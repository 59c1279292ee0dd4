import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkProxyMode } from './proxy-mode.ts';

const net = 'spec.cluster.network';

test('ipvs from Kubernetes 1.35 on is a warning (deprecated, KEP-5495)', () => {
  assert.deepEqual(checkProxyMode('ipvs', '1.35.0', net).map((f) => [f.severity, f.field]), [['warning', `${net}.proxyMode`]]);
  assert.equal(checkProxyMode('ipvs', '2.0.0', net).length, 1);
  assert.equal(checkProxyMode('ipvs', undefined, net).length, 1);
});

test('ipvs before 1.35 and iptables are fine', () => {
  assert.deepEqual(checkProxyMode('ipvs', '1.34.2', net), []);
  assert.deepEqual(checkProxyMode('iptables', '1.35.0', net), []);
});

test('no mode: a note that iptables is the default and the choice is final', () => {
  const findings = checkProxyMode(undefined, '1.35.0', net);
  assert.deepEqual(findings.map((f) => f.severity), ['info']);
  assert.match(findings[0]?.fix ?? '', /cannot be changed later/);
});
