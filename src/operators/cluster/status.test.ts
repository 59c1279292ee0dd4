import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterConditionSchema, clusterConditionTypes } from '../../api/v1alpha1/cluster.ts';
import { CLUSTER_COMPONENTS } from './components.ts';
import { CONTROL_PLANE_INPUTS, ConditionType, PASS_CONDITIONS, READY_INPUTS } from './status.ts';

test('every declared condition has exactly one producer, and every produced condition is declared', () => {
  const declared = Object.values(ConditionType).sort();
  const fromComponents = CLUSTER_COMPONENTS.flatMap((component) => (component.condition ? [component.condition] : []));
  const produced = [...fromComponents, ...PASS_CONDITIONS].sort();
  assert.deepEqual(produced, declared);
  assert.equal(new Set(produced).size, produced.length, 'no condition has two producers');
});

test('the summaries read only declared conditions, and Ready leaves out Upgrading and VersionSupported', () => {
  const declared = new Set<string>(Object.values(ConditionType));
  for (const type of [...READY_INPUTS, ...CONTROL_PLANE_INPUTS]) assert.ok(declared.has(type), type);
  assert.ok(!READY_INPUTS.includes(ConditionType.Upgrading), 'an upgrade in progress does not make the guest unready');
  assert.ok(!READY_INPUTS.includes(ConditionType.VersionSupported), 'a refused version leaves the guest Ready on what it runs');
});

test('the API declares exactly the condition types the operator sets', () => {
  assert.deepEqual([...clusterConditionTypes, 'Ready'].sort(), Object.values(ConditionType).sort());
});

test('the CRD documents every condition type', () => {
  const description = ClusterConditionSchema.properties.type.description ?? '';
  for (const type of Object.values(ConditionType)) assert.match(description, new RegExp(`\\b${type}\\b`), `${type} in the CRD's condition description`);
});
