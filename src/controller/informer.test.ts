import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApiServer } from '../../test/harness/api-server.ts';
import { Informer, SharedInformers, splitObjectKey, withoutManagedFields, type KubeObject } from './informer.ts';
import { ownerUidIndex } from './owner-references.ts';
import { ApiError, isNotFound } from './rest-client.ts';

// One real API server for this file.
const api = await startTestApiServer();

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

test('informer lists, then follows creates, updates and deletes from a real API server', async () => {
  const path = '/api/v1/namespaces/default/configmaps';
  await api.client.create(path, { metadata: { name: 'before', labels: { app: 'x' } }, data: { a: '1' } });
  const informer = new Informer<KubeObject & { data?: Record<string, string> }>(api.client, path, { labelSelector: 'app=x' });
  const seen: string[] = [];
  informer.on((event) => seen.push(`${event.type}:${event.object.metadata?.name}`));
  await informer.start();
  assert.deepEqual(seen, ['add:before']);

  await api.client.create(path, { metadata: { name: 'after', labels: { app: 'x' } } });
  await api.client.create(path, { metadata: { name: 'other', labels: { app: 'y' } } });
  await api.client.patch(`${path}/before`, { data: { a: '2' } }, 'merge');
  await api.client.delete(`${path}/after`);
  await eventually(() => seen.length === 4);
  assert.deepEqual(seen, ['add:before', 'add:after', 'update:before', 'delete:after']);
  assert.equal(informer.get('default/before')?.data?.['a'], '2');
  assert.equal(informer.get('default/other'), undefined, 'the label selector filters');
  await informer.stop();
});

test('listed objects carry their apiVersion and kind, as watched ones do', async (t) => {
  const path = '/api/v1/namespaces/default/configmaps';
  await api.client.create(path, { metadata: { name: 'typed-listed', labels: { app: 'typed' } } });
  const informer = new Informer<KubeObject>(api.client, path, { labelSelector: 'app=typed' });
  t.after(() => informer.stop());
  await informer.start();
  await api.client.create(path, { metadata: { name: 'typed-watched', labels: { app: 'typed' } } });
  await eventually(() => informer.get('default/typed-watched') !== undefined);
  for (const name of ['typed-listed', 'typed-watched']) {
    const object = informer.get(`default/${name}`);
    assert.deepEqual([object?.apiVersion, object?.kind], ['v1', 'ConfigMap'], name);
  }
});

test('a silent watch is restarted and changes made meanwhile are not lost', async () => {
  const path = '/api/v1/namespaces/default/secrets';
  const informer = new Informer<KubeObject>(api.client, path, { idleTimeoutMs: 300 });
  const errors: unknown[] = [];
  const informerWithErrors = new Informer<KubeObject>(api.client, path, { idleTimeoutMs: 300, onError: (e) => errors.push(e) });
  await informer.start();
  await informerWithErrors.start();
  await sleep(800); // several idle timeouts pass with no events
  await api.client.create(path, { metadata: { name: 's1' }, stringData: { k: 'v' } });
  await eventually(() => informer.get('default/s1') !== undefined && informerWithErrors.get('default/s1') !== undefined);
  assert.ok(errors.length >= 1, 'the dead watch was reported');
  await informer.stop();
  await informerWithErrors.stop();
});

test('API errors carry the status code and the server message', async () => {
  await assert.rejects(api.client.get('/api/v1/namespaces/default/configmaps/missing'), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.ok(isNotFound(error));
    assert.match(error.message, /configmaps "missing" not found/);
    return true;
  });
});

test('an index by owner uid lists an owner’s objects from the cache and follows changes', async () => {
  const path = '/api/v1/namespaces/default/configmaps';
  const informer = new Informer<KubeObject>(api.client, path, { labelSelector: 'test=index' });
  const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: '00000000-0000-0000-0000-00000000000a', controller: true };
  await api.client.create(path, { metadata: { name: 'owned-1', labels: { test: 'index' }, ownerReferences: [owner] } });
  await informer.start();
  informer.addIndexer('owner', ownerUidIndex);
  assert.deepEqual(informer.byIndex('owner', owner.uid).map((object) => object.metadata?.name), ['owned-1'], 'objects cached before the index was added are indexed');
  await api.client.create(path, { metadata: { name: 'owned-2', labels: { test: 'index' }, ownerReferences: [owner] } });
  await api.client.create(path, { metadata: { name: 'unowned', labels: { test: 'index' } } });
  await eventually(() => informer.byIndex('owner', owner.uid).length === 2);
  await api.client.patch(`${path}/owned-1`, { metadata: { ownerReferences: null } }, 'merge');
  await eventually(() => informer.byIndex('owner', owner.uid).length === 1);
  assert.deepEqual(informer.byIndex('owner', owner.uid).map((object) => object.metadata?.name), ['owned-2']);
  assert.throws(() => informer.byIndex('nope', 'x'), /no index "nope"; add it with addIndexer/);
  await informer.stop();
});

test('resync re-delivers every cached object as an update, periodically', async () => {
  const path = '/api/v1/namespaces/default/configmaps';
  await api.client.create(path, { metadata: { name: 'resynced', labels: { test: 'resync' } } });
  const informer = new Informer<KubeObject>(api.client, path, { labelSelector: 'test=resync', resyncPeriodMs: 150 });
  const resyncs: string[] = [];
  informer.on((event) => {
    if (event.type === 'update' && event.old === event.object) resyncs.push(event.object.metadata?.name ?? '');
  });
  await informer.start();
  await sleep(500);
  assert.ok(resyncs.length >= 2 && resyncs.every((name) => name === 'resynced'), `resyncs: ${resyncs.join(',')}`);
  const lists = informer.lists;
  await informer.stop();
  assert.equal(informer.lists, lists, 'a resync reads the cache, it does not list again');
});

test('a throwing handler is reported and does not stop the watch or other handlers', async () => {
  const path = '/api/v1/namespaces/default/configmaps';
  const errors: unknown[] = [];
  const informer = new Informer<KubeObject>(api.client, path, { labelSelector: 'test=throwing', onError: (error) => errors.push(error) });
  const seen: string[] = [];
  informer.on(() => {
    throw new Error('handler bug');
  });
  informer.on((event) => seen.push(`${event.type}:${event.object.metadata?.name}`));
  await informer.start();
  await api.client.create(path, { metadata: { name: 'one', labels: { test: 'throwing' } } });
  await api.client.create(path, { metadata: { name: 'two', labels: { test: 'throwing' } } });
  await eventually(() => seen.length === 2);
  assert.deepEqual(seen, ['add:one', 'add:two']);
  assert.equal(informer.lists, 1, 'the watch was not restarted through a relist');
  assert.equal(errors.length, 2);
  await informer.stop();
});

test('a transform shapes what is cached: managedFields stay out, listed and watched alike', async () => {
  const path = '/api/v1/namespaces/default/configmaps';
  await api.client.apply(`${path}/transform-listed`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'transform-listed', labels: { app: 'transform' } }, data: { a: '1' } }, 'informer-test', true);
  const informer = new Informer<KubeObject & { data?: Record<string, string> }>(api.client, path, { labelSelector: 'app=transform', transform: withoutManagedFields });
  const delivered: KubeObject[] = [];
  informer.on((event) => delivered.push(event.object));
  await informer.start();
  const watched = await api.client.apply<KubeObject>(`${path}/transform-watched`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'transform-watched', labels: { app: 'transform' } }, data: { b: '2' } }, 'informer-test', true);
  assert.ok(watched.metadata?.managedFields?.length, 'the server does record managedFields');
  await eventually(() => informer.get('default/transform-watched') !== undefined);
  for (const key of ['default/transform-listed', 'default/transform-watched']) {
    assert.equal(informer.get(key)?.metadata?.managedFields, undefined, key);
    assert.ok(informer.get(key)?.metadata?.resourceVersion, `${key} keeps the rest of its metadata`);
  }
  assert.equal(informer.get('default/transform-listed')?.data?.['a'], '1');
  assert.ok(delivered.length === 2 && delivered.every((object) => object.metadata?.managedFields === undefined), 'handlers see the transformed objects');
  await informer.stop();
});

test('a metadata-only informer caches names and labels, never the data', async () => {
  const path = '/api/v1/namespaces/default/secrets';
  await api.client.create(path, { metadata: { name: 'meta-only-listed', labels: { app: 'meta-only' } }, stringData: { password: 'listed' } });
  const informer = new Informer<KubeObject & { data?: Record<string, string> }>(api.client, path, { labelSelector: 'app=meta-only', metadataOnly: true });
  await informer.start();
  await api.client.create(path, { metadata: { name: 'meta-only-watched', labels: { app: 'meta-only' } }, stringData: { password: 'watched' } });
  await eventually(() => informer.get('default/meta-only-watched') !== undefined);
  for (const key of ['default/meta-only-listed', 'default/meta-only-watched']) {
    const cached = informer.get(key);
    assert.equal(cached?.metadata?.labels?.['app'], 'meta-only', key);
    assert.equal(cached?.data, undefined, `${key}: no data`);
    assert.equal(cached?.kind, 'PartialObjectMetadata', key);
  }
  await informer.stop();
});

test('shared informers: one list and watch per collection for every user, stopped with the last', async () => {
  const path = '/api/v1/namespaces/default/configmaps';
  const shared = new SharedInformers(api.client);
  const first = shared.informer<KubeObject>(path, { labelSelector: 'app=shared' });
  const second = shared.informer<KubeObject>(path, { labelSelector: 'app=shared' });
  const other = shared.informer<KubeObject>(path, { labelSelector: 'app=other' });
  assert.equal(first, second, 'the same collection and selector: the same informer');
  assert.notEqual(first, other, 'another selector: another informer');
  // Each user adds the index it needs: the same function is one index, another is refused.
  const byApp = (object: KubeObject) => [object.metadata?.labels?.['app'] ?? ''];
  first.addIndexer('app', byApp);
  second.addIndexer('app', byApp);
  assert.throws(() => second.addIndexer('app', (object: KubeObject) => [object.metadata?.name ?? '']), /exists already with another function/);
  const seenByFirst: string[] = [];
  const seenBySecond: string[] = [];
  first.on((event) => seenByFirst.push(event.object.metadata?.name ?? ''));
  second.on((event) => seenBySecond.push(event.object.metadata?.name ?? ''));
  await Promise.all([first.start(), second.start()]);
  assert.equal(first.lists, 1, 'listed once for both users');
  await first.stop();
  await api.client.create(path, { metadata: { name: 'shared-after-one-stop', labels: { app: 'shared' } } });
  await eventually(() => seenBySecond.includes('shared-after-one-stop'));
  assert.ok(seenByFirst.includes('shared-after-one-stop'), 'still one informer: its handlers all hear it');
  await second.stop();
  await other.stop();
  await api.client.create(path, { metadata: { name: 'shared-after-all-stopped', labels: { app: 'shared' } } });
  await sleep(300);
  assert.equal(second.get('default/shared-after-all-stopped'), undefined, 'stopped with its last user');
});

test('object keys split back into namespace and name', () => {
  assert.deepEqual(splitObjectKey('ns/name'), { namespace: 'ns', name: 'name' });
  assert.deepEqual(splitObjectKey('cluster-scoped'), { name: 'cluster-scoped' });
  assert.throws(() => splitObjectKey('a/b/c'), /more than one "\/"/);
});
