import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults } from '../../api/v1alpha1/cluster.ts';
import { withoutRefusedExtraArgs } from './spec-checks.ts';

test('protected flags and values with control characters are left out of what is rendered, each named', () => {
  const spec = withDefaults({
    version: '1.37.2',
    controlPlane: { apiServer: { extraArgs: { 'authorization-mode': 'AlwaysAllow', v: '4' } }, etcd: { extraArgs: { 'snapshot-count': '1000\n--data-dir=/tmp' } } },
  });
  const { spec: rendered, violations } = withoutRefusedExtraArgs(spec);
  assert.deepEqual(rendered.controlPlane.apiServer.extraArgs, { v: '4' });
  assert.deepEqual(rendered.controlPlane.etcd.extraArgs, {});
  assert.equal(violations.length, 2);
  assert.match(violations.join('\n'), /spec\.controlPlane\.apiServer\.extraArgs\.authorization-mode is set by Tessera/);
  assert.match(violations.join('\n'), /spec\.controlPlane\.etcd\.extraArgs\.snapshot-count must not contain control characters/);
});

test('an acceptable spec passes unchanged', () => {
  const spec = withDefaults({ version: '1.37.2', controlPlane: { apiServer: { extraArgs: { 'audit-log-maxage': '7' } } } });
  const result = withoutRefusedExtraArgs(spec);
  assert.equal(result.spec, spec);
  assert.deepEqual(result.violations, []);
});
