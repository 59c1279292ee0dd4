import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCondition, formatConditionTime, isConditionTrue, removeCondition, setCondition, summarizeReady, type Condition } from './conditions.ts';

const t0 = new Date('2026-03-01T10:00:00.750Z');
const t1 = new Date('2026-03-01T10:05:00Z');

test('a new condition gets the time in metav1.Time form and the generation it describes', () => {
  const conditions = setCondition(undefined, { type: 'EtcdReady', status: 'False', reason: 'MembersStarting', message: '1 of 3 members ready' }, 4, t0);
  assert.deepEqual(conditions, [
    { type: 'EtcdReady', status: 'False', reason: 'MembersStarting', message: '1 of 3 members ready', lastTransitionTime: '2026-03-01T10:00:00Z', observedGeneration: 4 },
  ]);
  assert.equal(formatConditionTime(t0), '2026-03-01T10:00:00Z');
});

test('the transition time stays while the status stays, even as reason and message change', () => {
  const first = setCondition(undefined, { type: 'EtcdReady', status: 'False', reason: 'MembersStarting', message: '1 of 3' }, 1, t0);
  const second = setCondition(first, { type: 'EtcdReady', status: 'False', reason: 'MembersStarting', message: '2 of 3' }, 2, t1);
  assert.equal(second[0]?.lastTransitionTime, '2026-03-01T10:00:00Z');
  assert.equal(second[0]?.message, '2 of 3');
  assert.equal(second[0]?.observedGeneration, 2);
  const third = setCondition(second, { type: 'EtcdReady', status: 'True', reason: 'MembersReady' }, 2, t1);
  assert.equal(third[0]?.lastTransitionTime, '2026-03-01T10:05:00Z', 'a status change moves the time');
  assert.equal(first[0]?.message, '1 of 3', 'inputs are not modified');
});

test('order is kept, new types are appended, removal and lookup work by type', () => {
  let conditions = setCondition(undefined, { type: 'A', status: 'True', reason: 'Ok' }, 1, t0);
  conditions = setCondition(conditions, { type: 'B', status: 'True', reason: 'Ok' }, 1, t0);
  conditions = setCondition(conditions, { type: 'A', status: 'False', reason: 'Broken' }, 1, t1);
  assert.deepEqual(conditions.map((c) => c.type), ['A', 'B']);
  assert.equal(isConditionTrue(conditions, 'B'), true);
  assert.equal(isConditionTrue(conditions, 'A'), false);
  assert.equal(findCondition(removeCondition(conditions, 'A'), 'A'), undefined);
});

function conditionsOf(...entries: [string, Condition['status'], string, string?][]): Condition[] {
  return entries.map(([type, status, reason, message]) => ({ type, status, reason, message: message ?? '', lastTransitionTime: '2026-03-01T10:00:00Z', observedGeneration: 3 }));
}

test('Ready is True when every summarized condition is True', () => {
  const ready = summarizeReady(conditionsOf(['EtcdReady', 'True', 'MembersReady'], ['APIServerAvailable', 'True', 'Available']), ['EtcdReady', 'APIServerAvailable']);
  assert.deepEqual(ready, { type: 'Ready', status: 'True', reason: 'Ready', message: '' });
});

test('Ready is False naming every failing condition, with the first failure as reason', () => {
  const conditions = conditionsOf(['EtcdReady', 'False', 'QuorumLost', '1 of 3 members ready'], ['APIServerAvailable', 'False', 'NoReplicas', '0 of 3 replicas available'], ['AddonsReady', 'True', 'Applied']);
  const ready = summarizeReady(conditions, ['EtcdReady', 'APIServerAvailable', 'AddonsReady', 'CertificatesValid']);
  assert.equal(ready.status, 'False');
  assert.equal(ready.reason, 'QuorumLost');
  assert.equal(ready.message, 'EtcdReady: 1 of 3 members ready; APIServerAvailable: 0 of 3 replicas available; CertificatesValid: not reported yet');
});

test('Ready is Unknown while a condition is missing, Unknown, or stale for the current generation', () => {
  const conditions = conditionsOf(['EtcdReady', 'True', 'MembersReady'], ['APIServerAvailable', 'Unknown', 'Probing', 'waiting for /readyz']);
  const ready = summarizeReady(conditions, ['EtcdReady', 'APIServerAvailable']);
  assert.deepEqual(ready, { type: 'Ready', status: 'Unknown', reason: 'Probing', message: 'APIServerAvailable: waiting for /readyz' });
  const stale = summarizeReady(conditionsOf(['EtcdReady', 'True', 'MembersReady']), ['EtcdReady'], { generation: 4 });
  assert.equal(stale.status, 'Unknown');
  assert.equal(stale.message, 'EtcdReady: not yet observed for generation 4');
});

test('a negative-polarity condition holds Ready back while it is True', () => {
  const conditions = conditionsOf(['EtcdReady', 'True', 'MembersReady'], ['Degraded', 'True', 'MemberReplacing', 'replacing etcd-1']);
  const ready = summarizeReady(conditions, ['EtcdReady', 'Degraded'], { negativePolarity: ['Degraded'] });
  assert.equal(ready.status, 'False');
  assert.equal(ready.message, 'Degraded: replacing etcd-1');
});

test('the summary plugs into setCondition', () => {
  const conditions = conditionsOf(['EtcdReady', 'True', 'MembersReady']);
  const withReady = setCondition(conditions, summarizeReady(conditions, ['EtcdReady']), 3, t1);
  assert.equal(findCondition(withReady, 'Ready')?.status, 'True');
});
