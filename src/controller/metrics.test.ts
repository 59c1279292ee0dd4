import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApiServer } from '../../test/harness/api-server.ts';
import { Controller } from './controller.ts';
import { Informer, type KubeObject } from './informer.ts';
import { LeaderElector } from './leader-election.ts';
import { ControllerMetrics, startMetricsServer } from './metrics.ts';
import { RestClient } from './rest-client.ts';

// One real API server for this file.
const api = await startTestApiServer();

function scrape(url: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** The value of one sample line, e.g. sample(text, 'workqueue_adds_total{name="x",controller="x"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

test('controller-runtime metric names are served over HTTP with the counts of real work', async () => {
  const metrics = new ControllerMetrics();
  const client = new RestClient(api.kubeConfig);
  metrics.observeRestClient(client);
  const path = '/api/v1/namespaces/default/configmaps';
  const informer = new Informer<KubeObject>(client, path, { labelSelector: 'test=metrics' });
  let failures = 0;
  const done = new Set<string>();
  const controller = new Controller({
    name: 'demo',
    metrics,
    reconcile: async (key) => {
      if (key.endsWith('/flaky') && failures++ < 2) throw new Error('not yet');
      await client.get(`${path}/${key.split('/')[1]}`);
      done.add(key);
    },
  }).watch(informer);
  await controller.start();
  await api.client.create(path, { metadata: { name: 'steady', labels: { test: 'metrics' } } });
  await api.client.create(path, { metadata: { name: 'flaky', labels: { test: 'metrics' } } });
  await eventually(() => done.has('default/steady') && done.has('default/flaky'));
  await client.get(`${path}/missing`).catch(() => {});

  const elector = new LeaderElector({ client, namespace: 'default', name: 'metrics-demo', identity: 'me', leaseDurationMs: 1_000, renewDeadlineMs: 700, retryPeriodMs: 150, metrics, onStartedLeading: () => {} });
  const election = elector.run();
  await eventually(() => elector.isLeader());

  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry });
  try {
    const { status, contentType, body } = await scrape(server.url);
    assert.equal(status, 200);
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    const demo = 'controller="demo"';
    assert.equal(sample(body, `controller_runtime_reconcile_total{${demo},result="success"}`), 2);
    assert.equal(sample(body, `controller_runtime_reconcile_total{${demo},result="error"}`), 2);
    assert.equal(sample(body, `controller_runtime_reconcile_total{${demo},result="requeue_after"}`), 0, 'series exist before they count');
    assert.equal(sample(body, `controller_runtime_reconcile_errors_total{${demo}}`), 2);
    assert.equal(sample(body, `controller_runtime_reconcile_time_seconds_count{${demo}}`), 4);
    assert.equal(sample(body, `controller_runtime_max_concurrent_reconciles{${demo}}`), 1);
    assert.equal(sample(body, `controller_runtime_active_workers{${demo}}`), 0);
    const queue = 'name="demo",controller="demo"';
    assert.equal(sample(body, `workqueue_depth{${queue},priority=""}`), 0);
    assert.equal(sample(body, `workqueue_adds_total{${queue}}`), 4, 'two creates and two retries');
    assert.equal(sample(body, `workqueue_retries_total{${queue}}`), 2);
    assert.equal(sample(body, `workqueue_queue_duration_seconds_count{${queue}}`), 4);
    assert.equal(sample(body, `workqueue_work_duration_seconds_count{${queue}}`), 4);
    assert.ok(sample(body, `workqueue_work_duration_seconds_bucket{le="1e-8",${queue}}`) !== undefined, 'client-go buckets from 10ns');
    assert.equal(sample(body, `workqueue_unfinished_work_seconds{${queue}}`), 0);
    assert.equal(sample(body, `workqueue_longest_running_processor_seconds{${queue}}`), 0);
    const host = new URL(api.url).host;
    assert.ok((sample(body, `rest_client_requests_total{code="200",method="GET",host="${host}"}`) ?? 0) >= 3, 'list and gets counted');
    assert.equal(sample(body, `rest_client_requests_total{code="404",method="GET",host="${host}"}`), 2, 'the missing ConfigMap, and the Lease before it existed');
    assert.equal(sample(body, `rest_client_requests_total{code="201",method="POST",host="${host}"}`), 1, 'the Lease creation');
    assert.equal(sample(body, 'leader_election_master_status{name="metrics-demo"}'), 1);
    for (const name of ['controller_runtime_reconcile_total', 'workqueue_depth', 'rest_client_requests_total']) assert.match(body, new RegExp(`^# TYPE ${name} `, 'm'));

    const notFound = await scrape(server.url.replace('/metrics', '/other'));
    assert.equal(notFound.status, 404);
  } finally {
    await server.close();
    await elector.stop();
    await election;
    await controller.stop();
    await informer.stop();
  }
});

test('a taken port is reported with the address and the fix', async () => {
  const metrics = new ControllerMetrics();
  const first = await startMetricsServer({ port: 0, registry: metrics.registry });
  try {
    await assert.rejects(startMetricsServer({ port: first.port, registry: metrics.registry }), /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE; pick a free port/);
  } finally {
    await first.close();
  }
});
