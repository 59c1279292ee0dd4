import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePlanSource } from './plan-source.ts';

test('reads YAML and JSON mappings', () => {
  assert.deepEqual(parsePlanSource('kind: ClusterPlan\nspec: {a: 1}\n'), { ok: true, document: { kind: 'ClusterPlan', spec: { a: 1 } } });
  assert.deepEqual(parsePlanSource('{"kind": "ClusterPlan"}'), { ok: true, document: { kind: 'ClusterPlan' } });
});

test('a syntax error comes with its line and column', () => {
  const result = parsePlanSource('kind: ClusterPlan\nspec:\n  network: {podCIDR: 10.0.0.0/16\n  nodes: 3\n');
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.line === 4 && result.column !== null, JSON.stringify(result));
  assert.ok(!result.ok && !/ at line /.test(result.message));
});

test('duplicate keys are an error at the second key', () => {
  const result = parsePlanSource('kind: ClusterPlan\nkind: Cluster\n');
  assert.ok(!result.ok && result.line === 2 && /unique/.test(result.message));
});

test('empty files, several documents and scalars are not plans', () => {
  assert.ok(!parsePlanSource('').ok);
  assert.ok(!parsePlanSource('# only a comment\n').ok);
  const two = parsePlanSource('kind: A\n---\nkind: B\n');
  assert.ok(!two.ok && /2 documents/.test(two.message) && two.line === 2);
  const scalar = parsePlanSource('just text\n');
  assert.ok(!scalar.ok && /not a YAML or JSON mapping/.test(scalar.message));
  assert.ok(!parsePlanSource('- a\n- b\n').ok);
});

test('alias bombs are refused', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
  const result = parsePlanSource(`${lines.join('\n')}\n`);
  assert.equal(result.ok, false);
});
