import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkNodeDisks } from './node-disks.ts';

test('a data disk under 500 GiB is a warning; 500 GiB or no disk given is fine', () => {
  assert.deepEqual(checkNodeDisks({ dataDisk: { type: 'cloud_essd', sizeGiB: 100 } }).map((f) => [f.severity, f.field]), [['warning', 'spec.nodes.dataDisk.sizeGiB']]);
  assert.deepEqual(checkNodeDisks({ dataDisk: { type: 'cloud_essd', sizeGiB: 500 } }), []);
  assert.deepEqual(checkNodeDisks({}), []);
  assert.deepEqual(checkNodeDisks(undefined), []);
});
