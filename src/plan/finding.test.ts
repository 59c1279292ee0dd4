import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countFindings, sortFindings, type Finding } from './finding.ts';

const finding = (severity: Finding['severity'], field: string): Finding => ({ severity, field, message: field, fix: field });

test('findings sort errors first, then warnings, then notes, keeping their order within each', () => {
  const sorted = sortFindings([finding('info', 'a'), finding('error', 'b'), finding('warning', 'c'), finding('error', 'd'), finding('info', 'e')]);
  assert.deepEqual(sorted.map((f) => f.field), ['b', 'd', 'c', 'a', 'e']);
  assert.deepEqual(countFindings(sorted), { errors: 2, warnings: 1, infos: 2 });
});
