import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApiServer } from '../../test/harness/api-server.ts';
import { setCondition, type Condition } from './conditions.ts';
import { isConflict, resourcePath } from './rest-client.ts';
import { applyStatus, semanticEqual, updateStatusWithRetry, type StatusObject } from './status.ts';

// One real API server for this file, with a small custom resource that has a status subresource
// and conditions as a list-map, the way the Cluster kind declares them.
const api = await startTestApiServer();
const client = api.client;
const group = 'test.tessera.dev';
const apiVersion = `${group}/v1`;
const widgets = resourcePath({ group, version: 'v1', resource: 'widgets', namespace: 'default' });
const fieldManager = 'tessera-widget-status';

type WidgetStatus = { phase?: string; endpoint?: string; other?: string; observedGeneration?: number; conditions?: Condition[] };
type Widget = StatusObject<WidgetStatus> & { spec?: Record<string, unknown> };

const conditionSchema = {
  type: 'object',
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  properties: {
    type: { type: 'string' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string' },
    message: { type: 'string' },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', format: 'int64' },
  },
};

await client.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
  metadata: { name: `widgets.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: {
                type: 'object',
                properties: {
                  phase: { type: 'string' },
                  endpoint: { type: 'string' },
                  other: { type: 'string' },
                  observedGeneration: { type: 'integer', format: 'int64' },
                  conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: conditionSchema },
                },
              },
            },
          },
        },
      },
    ],
  },
});

async function createWidget(name: string): Promise<Widget> {
  // The resource is served shortly after the CRD is established; retry until it is.
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.create<Widget>(widgets, { apiVersion, kind: 'Widget', metadata: { name }, spec: { size: 1 } });
    } catch (error) {
      if (attempt > 100) throw error;
      await sleep(100);
    }
  }
}

const patches = () => client.requestCounts.get('PATCH') ?? 0;
const t0 = new Date('2026-05-01T08:00:00Z');
const t1 = new Date('2026-05-01T09:30:00Z');

function statusAt(now: Date, message: string): WidgetStatus {
  let conditions = setCondition(undefined, { type: 'EtcdReady', status: 'True', reason: 'MembersReady', message: '3 of 3 members ready' }, 1, now);
  conditions = setCondition(conditions, { type: 'APIServerAvailable', status: 'False', reason: 'Starting', message }, 1, now);
  return { phase: 'Provisioning', endpoint: 'https://w.example:6443', observedGeneration: 1, conditions };
}

test('a converged status costs no writes, even with conditions recomputed at a later time', async () => {
  const widget = await createWidget('converged');
  const first = await applyStatus(client, { path: `${widgets}/converged`, apiVersion, kind: 'Widget', current: widget, status: statusAt(t0, 'waiting for /readyz'), fieldManager });
  assert.equal(first.written, true);
  assert.equal(first.object.status?.phase, 'Provisioning');

  const before = patches();
  const again = await applyStatus(client, { path: `${widgets}/converged`, apiVersion, kind: 'Widget', current: first.object, status: statusAt(t1, 'waiting for /readyz'), fieldManager });
  assert.equal(again.written, false);
  assert.equal(patches(), before, 'no request for an unchanged status');

  // A spec change by someone else is not a status change.
  const edited = await client.patch<Widget>(`${widgets}/converged`, { spec: { size: 2 } }, 'merge');
  const afterEdit = await applyStatus(client, { path: `${widgets}/converged`, apiVersion, kind: 'Widget', current: edited, status: statusAt(t1, 'waiting for /readyz'), fieldManager });
  assert.equal(afterEdit.written, false);
  assert.equal(patches(), before + 1, 'only the spec patch was sent');
});

test('a changed status is applied to /status, keeping the transition time of conditions whose status held', async () => {
  const widget = await createWidget('changing');
  const first = await applyStatus(client, { path: `${widgets}/changing`, apiVersion, kind: 'Widget', current: widget, status: statusAt(t0, 'waiting for /readyz'), fieldManager });
  const second = await applyStatus(client, { path: `${widgets}/changing`, apiVersion, kind: 'Widget', current: first.object, status: statusAt(t1, '1 of 3 replicas available'), fieldManager });
  assert.equal(second.written, true);
  const conditions = second.object.status?.conditions ?? [];
  assert.equal(conditions.find((c) => c.type === 'APIServerAvailable')?.message, '1 of 3 replicas available');
  assert.deepEqual(conditions.map((c) => c.lastTransitionTime), ['2026-05-01T08:00:00Z', '2026-05-01T08:00:00Z'], 'status unchanged, so the transition times stay');
  assert.deepEqual(second.object.spec, { size: 1 }, 'the spec is untouched');
  const manager = second.object.metadata?.managedFields?.find((entry) => entry.manager === fieldManager);
  assert.equal(manager?.operation, 'Apply');
  assert.equal(manager?.subresource, 'status');
});

test('fields the manager stops sending are removed; fields of other managers are neither compared nor touched', async () => {
  const widget = await createWidget('fields');
  const path = `${widgets}/fields`;
  await applyStatus(client, { path, apiVersion, kind: 'Widget', current: widget, status: statusAt(t0, 'starting'), fieldManager });
  // Another manager owns status.other and a condition of its own.
  const theirs = await client.apply<Widget>(
    `${path}/status`,
    { apiVersion, kind: 'Widget', metadata: { name: 'fields' }, status: { other: 'x', conditions: [{ type: 'Audited', status: 'True', reason: 'Checked', message: '', lastTransitionTime: '2026-05-01T08:00:00Z' }] } },
    'someone-else',
  );
  assert.equal(theirs.status?.conditions?.length, 3);
  const before = patches();
  const unchanged = await applyStatus(client, { path, apiVersion, kind: 'Widget', current: theirs, status: statusAt(t1, 'starting'), fieldManager });
  assert.equal(unchanged.written, false, 'the other manager’s field and condition are not a difference');
  assert.equal(patches(), before);

  const { endpoint: _dropped, ...withoutEndpoint } = statusAt(t1, 'starting');
  const dropped = await applyStatus(client, { path, apiVersion, kind: 'Widget', current: theirs, status: withoutEndpoint, fieldManager });
  assert.equal(dropped.written, true, 'a field owned before and not sent now is a change');
  assert.equal(dropped.object.status?.endpoint, undefined);
  assert.equal(dropped.object.status?.other, 'x');
  assert.deepEqual(dropped.object.status?.conditions?.map((c) => c.type), ['EtcdReady', 'APIServerAvailable', 'Audited']);
});

test('updateStatusWithRetry retries against the real server after a concurrent update', async () => {
  await createWidget('contended');
  const path = `${widgets}/contended`;
  let calls = 0;
  const puts = () => client.requestCounts.get('PUT') ?? 0;
  const before = puts();
  const result = await updateStatusWithRetry<Widget>(client, path, async (widget) => {
    calls++;
    if (calls === 1) {
      // Someone else writes status between our read and our write: our resourceVersion is stale.
      await client.patch(`${path}/status`, { status: { other: 'concurrent' } }, 'merge');
    }
    widget.status = { ...widget.status, phase: 'Ready' };
  });
  assert.equal(calls, 2);
  assert.equal(result.attempts, 2);
  assert.equal(result.written, true);
  assert.equal(puts() - before, 2, 'the first PUT conflicted, the second applied');
  assert.deepEqual({ phase: result.object.status?.phase, other: result.object.status?.other }, { phase: 'Ready', other: 'concurrent' }, 'neither write was lost');

  const quiet = puts();
  const noop = await updateStatusWithRetry<Widget>(client, path, (widget) => widget);
  assert.equal(noop.written, false);
  assert.equal(puts(), quiet, 'an unchanged status is not written');
});

test('updateStatusWithRetry gives up after the attempts with the conflict', async () => {
  await createWidget('hopeless');
  const path = `${widgets}/hopeless`;
  let calls = 0;
  await assert.rejects(
    updateStatusWithRetry<Widget>(
      client,
      path,
      async (widget) => {
        calls++;
        await client.patch(`${path}/status`, { status: { other: `bump-${calls}` } }, 'merge');
        widget.status = { ...widget.status, phase: 'Ready' };
      },
      { attempts: 3 },
    ),
    (error: unknown) => isConflict(error),
  );
  assert.equal(calls, 3);
});

test('semantic equality treats empty values alike and compares structure', () => {
  assert.equal(semanticEqual({ a: '', b: [], c: {} }, {}), true);
  assert.equal(semanticEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2, c: null }] }), true);
  assert.equal(semanticEqual({ a: [1, 2] }, { a: [2, 1] }), false);
  assert.equal(semanticEqual({ ready: false }, {}), false, 'false is a value');
});
