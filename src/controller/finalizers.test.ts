import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer } from '../../test/harness/api-server.ts';
import { addFinalizer, hasFinalizer, removeFinalizer } from './finalizers.ts';
import type { KubeObject } from './informer.ts';
import { isNotFound } from './rest-client.ts';

// One real API server for this file.
const api = await startTestApiServer();
const client = api.client;
const configMaps = '/api/v1/namespaces/default/configmaps';
const ours = 'tessera.dev/cleanup';
const theirs = 'example.com/other';

const patches = () => client.requestCounts.get('PATCH') ?? 0;

test('adding a finalizer twice writes once and keeps other finalizers', async () => {
  const created = await client.create<KubeObject>(configMaps, { metadata: { name: 'add-twice', finalizers: [theirs] } });
  const before = patches();
  const first = await addFinalizer(client, `${configMaps}/add-twice`, created, ours);
  assert.deepEqual(first.metadata?.finalizers, [theirs, ours]);
  const second = await addFinalizer(client, `${configMaps}/add-twice`, first, ours);
  assert.equal(second, first, 'nothing to do returns the object as given');
  assert.equal(patches() - before, 1, 'the second add made no request');
  await removeFinalizer(client, `${configMaps}/add-twice`, second, theirs);
});

test('an add from a stale copy retries on conflict and does not clobber a concurrent finalizer', async () => {
  const stale = await client.create<KubeObject>(configMaps, { metadata: { name: 'stale' } });
  // Another controller adds its finalizer after we read the object.
  await client.patch(`${configMaps}/stale`, [{ op: 'add', path: '/metadata/finalizers', value: [theirs] }], 'json');
  const before = patches();
  const written = await addFinalizer(client, `${configMaps}/stale`, stale, ours);
  assert.deepEqual(written.metadata?.finalizers, [theirs, ours]);
  assert.equal(patches() - before, 2, 'one conflicting patch, then one that applied');
  await removeFinalizer(client, `${configMaps}/stale`, written, theirs);
});

test('removal takes only our finalizer, is idempotent, and lets deletion finish', async () => {
  const path = `${configMaps}/being-deleted`;
  const created = await client.create<KubeObject>(configMaps, { metadata: { name: 'being-deleted', finalizers: [theirs, ours] } });
  await client.delete(path);
  const deleting = await client.get<KubeObject>(path);
  assert.ok(deleting.metadata?.deletionTimestamp, 'finalizers hold the deletion');
  await assert.rejects(addFinalizer(client, path, deleting, 'tessera.dev/late'), /being deleted/);

  // From the copy read before deletion: a conflict, then a clean removal.
  const afterOurs = await removeFinalizer(client, path, created, ours);
  assert.deepEqual(afterOurs?.metadata?.finalizers, [theirs]);
  const before = patches();
  assert.equal(await removeFinalizer(client, path, afterOurs, ours), afterOurs);
  assert.equal(patches(), before, 'removing an absent finalizer writes nothing');

  const last = await removeFinalizer(client, path, afterOurs, theirs);
  assert.equal(hasFinalizer(last, theirs), false);
  await assert.rejects(client.get(path), (error: unknown) => isNotFound(error), 'the last finalizer gone, the object is deleted');
  assert.equal(await removeFinalizer(client, path, deleting, ours), undefined, 'removing from a gone object is done, not an error');
});

test('finalizer calls refuse a /status path and an empty name', async () => {
  await assert.rejects(addFinalizer(client, `${configMaps}/x/status`, { metadata: {} }, ours), /not its \/status/);
  await assert.rejects(addFinalizer(client, `${configMaps}/x`, { metadata: {} }, ''), /finalizer name is empty/);
});
