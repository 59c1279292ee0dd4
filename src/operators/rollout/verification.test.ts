import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtInChecks, judgeSamples, runDeclaredCheck, type HttpGet, type MachineObservation } from './verification.ts';
import type { NodeRollout } from '../../api/v1alpha1/package-rollout.ts';

const answers = (table: Record<string, { status: number; body: string }>): { get: HttpGet; asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    get: async (url) => {
      asked.push(url);
      const answer = table[url];
      if (!answer) throw new Error('connect ECONNREFUSED');
      return answer;
    },
  };
};

test('an http check passes on the expected status and body, with {node} filled in; another status, a missing text or no answer fails saying so', async () => {
  const { get, asked } = answers({ 'http://probe/w1': { status: 200, body: 'all good' }, 'http://probe/w2': { status: 503, body: '' } });
  const check = { name: 'probe', http: { url: 'http://probe/{node}', bodyContains: 'good' } };
  assert.deepEqual(await runDeclaredCheck(check, 'w1', get), { check: 'probe', ok: true, message: 'GET http://probe/w1 answered 200' });
  assert.equal((await runDeclaredCheck(check, 'w2', get)).message, 'GET http://probe/w2 answered 503, expected 200');
  assert.match((await runDeclaredCheck({ name: 'probe', http: { url: 'http://probe/w1', bodyContains: 'bad' } }, 'w1', get)).message, /does not contain "bad"/);
  assert.match((await runDeclaredCheck(check, 'w3', get)).message, /GET failed: connect ECONNREFUSED/);
  assert.deepEqual(asked.slice(0, 2), ['http://probe/w1', 'http://probe/w2']);
});

test('a prometheus check passes when every sample is within bounds; a sample outside, no samples, or an error status fails', async () => {
  const vector = (...values: number[]) => JSON.stringify({ status: 'success', data: { resultType: 'vector', result: values.map((value) => ({ metric: {}, value: [0, String(value)] })) } });
  assert.equal(judgeSamples('errors', 'q', vector(0.01, 0.05), undefined, 0.1).ok, true);
  assert.equal(judgeSamples('errors', 'q', vector(0.01, 0.5), undefined, 0.1).message, 'query q returned 0.5, outside [-inf, 0.1]');
  assert.equal(judgeSamples('errors', 'q', vector(), undefined, 0.1).message, 'query q returned no samples');
  assert.equal(judgeSamples('up', 'q', vector(1), 1, undefined).ok, true);
  assert.equal(judgeSamples('up', 'q', JSON.stringify({ status: 'error' }), 1, undefined).ok, false);
  const { get, asked } = answers({ [`http://prom/api/v1/query?query=${encodeURIComponent('rate(errors{node="w1"}[5m])')}`]: { status: 200, body: vector(0) } });
  assert.equal((await runDeclaredCheck({ name: 'errors', prometheus: { url: 'http://prom/', query: 'rate(errors{node="{node}"}[5m])', max: 0 } }, 'w1', get)).ok, true);
  assert.equal(asked.length, 1);
});

test('the built-in checks pass only once the Node operator has seen the override and the host and Node report the new kubelet', () => {
  const entry: NodeRollout = { machine: 'w1', node: 'w1', step: 0, toVersion: '1.37.2', state: 'Verifying', time: '2027-01-01T00:00:00Z' };
  const machine: MachineObservation = { name: 'w1', zone: 'a', labels: {}, nodeName: 'w1', generation: 2, observedGeneration: 2, override: '1.37.2', hostVersion: '1.37.2', ready: true, readyMessage: '', remediating: { status: 'False', reason: 'Healthy', message: '', observedGeneration: 2 } };
  const node = { ready: true, message: '', unschedulable: true, kubeletVersion: 'v1.37.2' };
  assert.deepEqual(builtInChecks(entry, 'kubelet', machine, node).map((result) => result.ok), [true, true, true]);
  assert.equal(builtInChecks(entry, 'kubelet', { ...machine, observedGeneration: 1 }, node)[0]?.ok, false, 'an older generation says nothing about the new version');
  assert.match(builtInChecks(entry, 'kubelet', { ...machine, remediating: { status: 'True', reason: 'ServiceRestarted', message: 'the kubelet does not answer /healthz', observedGeneration: 2 } }, node)[1]?.message ?? '', /does not answer \/healthz/);
  assert.equal(builtInChecks(entry, 'kubelet', machine, { ...node, kubeletVersion: 'v1.36.3' })[2]?.message, 'Node w1 reports kubelet v1.36.3, not v1.37.2');
});
