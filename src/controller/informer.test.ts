import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApiServer } from '../../test/harness/api-server.ts';
import { Informer, type KubeObject } from './informer.ts';
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
