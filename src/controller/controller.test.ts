import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApiServer } from '../../test/harness/api-server.ts';
import { Controller, type ReconcileContext } from './controller.ts';
import { Logger } from './logger.ts';
import { ManualClock } from './clock.ts';
import { Informer, type KubeObject } from './informer.ts';
import { setControllerReference } from './owner-references.ts';

// One real API server for this file.
const api = await startTestApiServer();
const configMaps = '/api/v1/namespaces/default/configmaps';
const secrets = '/api/v1/namespaces/default/secrets';

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

test('a burst of changes to one object costs few reconciles, and one key never runs twice at once', async () => {
  const informer = new Informer<KubeObject & { data?: Record<string, string> }>(api.client, configMaps, { labelSelector: 'test=burst' });
  const reconciles = new Map<string, number>();
  const inFlight = new Set<string>();
  let overlapped = false;
  const controller = new Controller({
    name: 'burst',
    workers: 3,
    reconcile: async (key) => {
      if (inFlight.has(key)) overlapped = true;
      inFlight.add(key);
      reconciles.set(key, (reconciles.get(key) ?? 0) + 1);
      await sleep(150);
      inFlight.delete(key);
    },
  }).watch(informer);
  await controller.start();
  await api.client.create(configMaps, { metadata: { name: 'hot', labels: { test: 'burst' } } });
  await api.client.create(configMaps, { metadata: { name: 'cold', labels: { test: 'burst' } } });
  await eventually(() => reconciles.get('default/hot') === 1);
  for (let i = 0; i < 10; i++) await api.client.patch(`${configMaps}/hot`, { data: { i: String(i) } }, 'merge');
  await eventually(() => informer.get('default/hot')?.data?.['i'] === '9' && controller.queue.len() === 0 && inFlight.size === 0);
  await sleep(400);
  const hot = reconciles.get('default/hot') ?? 0;
  // Each update is queued while the key is in flight (dirty), so passes run back to back, not per event.
  assert.ok(hot >= 2 && hot <= 4, `10 updates during slow reconciles cost ${hot - 1} more reconciles, expected 1 to 3`);
  assert.equal(reconciles.get('default/cold'), 1);
  assert.equal(overlapped, false, 'the same key ran on two workers at once');
  await controller.stop();
  await informer.stop();
});

test('with a batch period, a burst of changes wakes a key once, after the period', async () => {
  const informer = new Informer<KubeObject & { data?: Record<string, string> }>(api.client, configMaps, { labelSelector: 'test=batch' });
  const seen: { at: number; value: string | undefined }[] = [];
  const controller = new Controller({
    name: 'batch',
    reconcile: async (key) => {
      seen.push({ at: performance.now(), value: informer.get(key)?.data?.['i'] });
    },
  }).watch(informer, undefined, { batchMs: 300 });
  await controller.start();
  await api.client.create(configMaps, { metadata: { name: 'batched', labels: { test: 'batch' } } });
  await eventually(() => seen.length === 1);
  const burstStarted = performance.now();
  for (let i = 0; i < 5; i++) await api.client.patch(`${configMaps}/batched`, { data: { i: String(i) } }, 'merge');
  await eventually(() => seen.length >= 2);
  // Settled: nothing queued, nothing waiting for its period, nothing in flight.
  await eventually(() => controller.queue.len() === 0 && informer.get('default/batched')?.data?.['i'] === '4');
  await sleep(600);
  const afterBurst = seen.slice(1);
  assert.ok(afterBurst.length <= 2, `5 quick updates cost ${afterBurst.length} reconciles, expected 1 (2 if the burst outlasted the period)`);
  assert.ok((afterBurst[0]?.at ?? 0) - burstStarted >= 290, 'the first reconcile after the burst waited for the period');
  assert.equal(afterBurst.at(-1)?.value, '4', 'the last reconcile saw the last update');
  await controller.stop();
  await informer.stop();
});

test('a failing reconcile is retried with growing backoff and forgotten after success', async () => {
  const informer = new Informer<KubeObject>(api.client, configMaps, { labelSelector: 'test=backoff' });
  const attempts: number[] = [];
  const controller = new Controller({
    name: 'backoff',
    reconcile: async () => {
      attempts.push(performance.now());
      if (attempts.length <= 5) throw new Error(`attempt ${attempts.length} fails`);
    },
  }).watch(informer);
  await controller.start();
  await api.client.create(configMaps, { metadata: { name: 'flaky', labels: { test: 'backoff' } } });
  await eventually(() => attempts.length === 6);
  const gaps = attempts.slice(1).map((time, i) => time - (attempts[i] as number));
  // Per-key backoff: 5, 10, 20, 40, 80 ms (timers never fire early; allow 1ms rounding).
  [5, 10, 20, 40, 80].forEach((expected, i) => assert.ok((gaps[i] as number) >= expected - 1, `retry ${i + 1} came after ${gaps[i]}ms, expected >= ${expected}ms`));
  assert.ok((gaps[4] as number) > (gaps[0] as number) * 4, `backoff grows: ${gaps.map((gap) => gap.toFixed(1)).join(', ')}`);
  await eventually(() => controller.queue.numRequeues('default/flaky') === 0);
  await sleep(200);
  assert.equal(attempts.length, 6, 'no retries after success');
  await controller.stop();
  await informer.stop();
});

test('requeueAfter reconciles the key again after the delay without an event', async () => {
  const informer = new Informer<KubeObject>(api.client, configMaps, { labelSelector: 'test=requeue' });
  const times: number[] = [];
  const controller = new Controller({
    name: 'requeue',
    reconcile: async () => {
      times.push(performance.now());
      return times.length === 1 ? { requeueAfter: 300 } : undefined;
    },
  }).watch(informer);
  await controller.start();
  await api.client.create(configMaps, { metadata: { name: 'renew-me', labels: { test: 'requeue' } } });
  await eventually(() => times.length === 2);
  assert.ok((times[1] as number) - (times[0] as number) >= 299, `requeued after ${(times[1] as number) - (times[0] as number)}ms`);
  await sleep(400);
  assert.equal(times.length, 2);
  await controller.stop();
  await informer.stop();
});

test('watchOwned maps a change of an owned object to its controller owner key', async () => {
  const owners = new Informer<KubeObject>(api.client, configMaps, { labelSelector: 'test=owner' });
  const owned = new Informer<KubeObject>(api.client, secrets, { labelSelector: 'test=owner' });
  const keys: string[] = [];
  const controller = new Controller({ name: 'owner', reconcile: async (key) => void keys.push(key) }).watch(owners).watchOwned(owned, 'ConfigMap', { apiGroup: '' });
  await controller.start();
  const owner = await api.client.create<KubeObject>(configMaps, { metadata: { name: 'parent', labels: { test: 'owner' } } });
  await eventually(() => keys.includes('default/parent'));
  const child = setControllerReference({ ...owner, apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'child', namespace: 'default', labels: { test: 'owner' } } });
  // The API server accepts the reference as built.
  const created = await api.client.create<KubeObject>(secrets, child);
  assert.equal(created.metadata?.ownerReferences?.[0]?.uid, owner.metadata?.uid);
  await api.client.create(secrets, { metadata: { name: 'orphan', labels: { test: 'owner' } } });
  keys.length = 0;
  await api.client.patch(`${secrets}/child`, { stringData: { rotated: 'yes' } }, 'merge');
  await api.client.patch(`${secrets}/orphan`, { stringData: { rotated: 'yes' } }, 'merge');
  await eventually(() => keys.length >= 1);
  await sleep(200);
  assert.deepEqual(keys, ['default/parent'], 'the owner is reconciled; the orphan maps to nothing');
  await controller.stop();
  await owners.stop();
  await owned.stop();
});

test('stop waits for the reconcile in flight, aborts its signal, and drops queued keys', async () => {
  const seen: string[] = [];
  let abortedDuringReconcile = false;
  let finishedSlow = false;
  const controller = new Controller({
    name: 'stopping',
    reconcile: async (key: string, context: ReconcileContext) => {
      seen.push(key);
      if (key === 'slow') {
        await sleep(300);
        abortedDuringReconcile = context.signal.aborted;
        finishedSlow = true;
      }
    },
  });
  await controller.start();
  controller.enqueue('slow');
  await eventually(() => seen.includes('slow'));
  controller.enqueue('queued');
  const started = performance.now();
  await controller.stop();
  assert.equal(finishedSlow, true, 'stop returned before the reconcile in flight finished');
  assert.ok(performance.now() - started >= 200);
  assert.equal(abortedDuringReconcile, true);
  assert.deepEqual(seen, ['slow'], 'keys still queued at stop are not reconciled');
  controller.enqueue('late');
  await sleep(50);
  assert.deepEqual(seen, ['slow']);
});

test('start fails, naming the resource, when an informer cannot list in time', async () => {
  const missing = new Informer<KubeObject>(api.client, '/apis/tessera.dev/v1alpha1/clusters');
  const controller = new Controller({ name: 'unsynced', cacheSyncTimeoutMs: 500, reconcile: async () => {} }).watch(missing);
  await assert.rejects(controller.start(), /informers for \/apis\/tessera.dev\/v1alpha1\/clusters did not list within 500ms: check that the resource exists/);
  await missing.stop();
});

test('a controller refuses bad settings with the setting named', () => {
  assert.throws(() => new Controller({ name: 'x', workers: 0, reconcile: async () => {} }), /workers must be a whole number >= 1, got 0/);
  assert.throws(() => new Controller({ name: '', reconcile: async () => {} }), /name is required/);
});

test('a reconcile that runs too long is logged as a warning, with its key, until it ends', async () => {
  const lines: string[] = [];
  let finish: () => void = () => undefined;
  const stuck = new Promise<void>((resolve) => (finish = resolve));
  let started = false;
  // A manual clock: the warnings come when the test moves time, with exact durations. (On the
  // system clock the timer fires on Node's monotonic clock while durations read Date.now(),
  // which can come out a millisecond short.)
  const clock = new ManualClock(1_000);
  const controller = new Controller({
    name: 'slow',
    clock,
    logger: new Logger({ level: 'warn', write: (line) => lines.push(line) }),
    slowReconcileWarningMs: 50,
    reconcile: () => {
      started = true;
      return stuck;
    },
  });
  await controller.start();
  controller.enqueue('default/hung');
  await eventually(() => started);
  const warnings = () => lines.filter((line) => line.includes('Reconcile still running')).map((line) => JSON.parse(line) as Record<string, unknown>);
  clock.advance(49);
  assert.equal(warnings().length, 0, 'no warning before the threshold');
  clock.advance(1);
  clock.advance(50);
  assert.deepEqual(warnings().map((warning) => [warning['key'], warning['controller'], warning['durationMs']]), [['default/hung', 'slow', 50], ['default/hung', 'slow', 100]]);
  finish();
  await controller.stop();
  clock.advance(500);
  assert.equal(warnings().length, 2, 'no warning once the reconcile has ended');
});
