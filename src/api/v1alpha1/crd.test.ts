import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildClusterCrd, clusterCrdFileName, clusterCrdYaml } from './crd.ts';
import { toStructuralSchema } from '../structural-schema.ts';
import { Type } from '@sinclair/typebox';

const checkedIn = new URL(`../../../deploy/crds/${clusterCrdFileName}`, import.meta.url);

test('the checked-in Cluster CRD is the one generated from cluster.ts', async () => {
  const onDisk = await readFile(checkedIn, 'utf8').catch(() => '');
  assert.ok(
    onDisk === clusterCrdYaml(),
    `deploy/crds/${clusterCrdFileName} is out of date with src/api/v1alpha1/cluster.ts: run \`npm run crds\` and commit the result`,
  );
});

type Node = Record<string, unknown>;
function* nodes(node: Node, at: string): Generator<[string, Node]> {
  yield [at, node];
  for (const [name, child] of Object.entries((node['properties'] as Record<string, Node> | undefined) ?? {})) yield* nodes(child, `${at}.${name}`);
  if (node['items']) yield* nodes(node['items'] as Node, `${at}[]`);
  if (typeof node['additionalProperties'] === 'object') yield* nodes(node['additionalProperties'] as Node, `${at}.*`);
}

test('the Cluster schema is structural: every node typed, no $schema, no additionalProperties beside properties', () => {
  const schema = buildClusterCrd().spec.versions[0]!.schema.openAPIV3Schema;
  for (const [at, node] of nodes(schema, '')) {
    assert.ok(node['type'] !== undefined || node['x-kubernetes-preserve-unknown-fields'] === true, `${at} has no type`);
    for (const keyword of ['$schema', '$id', '$ref', 'anyOf', 'oneOf', 'allOf', 'const', 'patternProperties']) assert.ok(!(keyword in node), `${at} has ${keyword}`);
    assert.ok(!(node['properties'] && 'additionalProperties' in node), `${at} has additionalProperties beside properties`);
  }
});

test('embedded core/v1 objects keep their fields unchecked', () => {
  const spec = (buildClusterCrd().spec.versions[0]!.schema.openAPIV3Schema['properties'] as Record<string, Node>)['spec']!;
  const controlPlane = (spec['properties'] as Record<string, Node>)['controlPlane']!['properties'] as Record<string, Node>;
  const tolerations = (controlPlane['placement']!['properties'] as Record<string, Node>)['tolerations']!;
  assert.deepEqual(tolerations['items'], { description: 'A core/v1 Toleration.', type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
  const storage = (controlPlane['etcd']!['properties'] as Record<string, Node>)['storage']!;
  assert.equal((storage['properties'] as Record<string, Node>)['volumeSource']!['x-kubernetes-preserve-unknown-fields'], true);
});

test('the structural conversion turns records, literals and closed objects into what CRDs accept', () => {
  const schema = Type.Object(
    {
      labels: Type.Record(Type.String(), Type.String()),
      mode: Type.Union([Type.Literal('a'), Type.Literal('b')], { default: 'a' }),
      fixed: Type.Literal(3),
    },
    { additionalProperties: false, $id: 'x' },
  );
  assert.deepEqual(toStructuralSchema(schema), {
    type: 'object',
    required: ['labels', 'mode', 'fixed'],
    properties: {
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
      fixed: { type: 'integer', enum: [3] },
    },
  });
});

test('the structural conversion refuses what a CRD cannot hold, naming the node', () => {
  assert.throws(() => toStructuralSchema(Type.Object({ anything: Type.Unknown() })), /<root>\.anything: every node of a CRD schema needs a type/);
  assert.throws(() => toStructuralSchema(Type.Object({ either: Type.Union([Type.String(), Type.Integer()]) })), /<root>\.either: keyword anyOf cannot be used/);
});
