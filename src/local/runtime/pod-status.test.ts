import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { computePodStatus, type ContainerView, type PodView } from './pod-status.ts';

const running = (name: string, fields: Partial<ContainerView> = {}): ContainerView => ({
  name,
  image: `registry.k8s.io/${name}:v1`,
  restartCount: 0,
  state: { kind: 'running', startedAt: '2026-01-01T00:00:00Z', containerID: `process://${name}` },
  ready: true,
  started: true,
  ...fields,
});
const waiting = (name: string): ContainerView => ({ name, image: `registry.k8s.io/${name}:v1`, restartCount: 0, state: { kind: 'waiting', reason: 'ContainerCreating' }, ready: false, started: false });

function podView(initContainers: ContainerView[], containers: ContainerView[]): PodView {
  const pod: V1Pod = {
    metadata: { name: 'p', namespace: 'default' },
    spec: {
      initContainers: [{ name: 'api', restartPolicy: 'Always' }, { name: 'setup' }].filter((c) => initContainers.some((view) => view.name === c.name)),
      containers: containers.map((c) => ({ name: c.name })),
    },
  };
  return { pod, podIP: '127.0.0.9', hostIP: '127.0.0.1', startTime: '2026-01-01T00:00:00Z', sandboxReady: true, initContainers, containers, failed: false };
}
const conditionOf = (view: PodView, type: string) => computePodStatus(view, '2026-01-01T00:00:01Z').conditions?.find((c) => c.type === type)?.status;

test('a sidecar counts as initialised once started, while an ordinary init container must have finished', () => {
  assert.equal(conditionOf(podView([running('api', { started: false, ready: false })], [waiting('main')]), 'Initialized'), 'False');
  assert.equal(conditionOf(podView([running('api', { ready: false })], [waiting('main')]), 'Initialized'), 'True');
  assert.equal(conditionOf(podView([running('setup')], [waiting('main')]), 'Initialized'), 'False');
  const finished: ContainerView = { ...running('setup'), state: { kind: 'terminated', exitCode: 0, reason: 'Completed', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z', containerID: 'process://setup' } };
  assert.equal(conditionOf(podView([finished, running('api')], [running('main')]), 'Initialized'), 'True');
});

test("a sidecar's readiness counts toward the pod's", () => {
  assert.equal(conditionOf(podView([running('api')], [running('main')]), 'Ready'), 'True');
  assert.equal(conditionOf(podView([running('api', { ready: false })], [running('main')]), 'Ready'), 'False');
  assert.equal(conditionOf(podView([running('api')], [running('main', { ready: false })]), 'Ready'), 'False');
  // A finished ordinary init container is never ready and does not hold the pod back.
  const finished: ContainerView = { ...running('setup', { ready: false }), state: { kind: 'terminated', exitCode: 0, reason: 'Completed', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z', containerID: 'process://setup' } };
  assert.equal(conditionOf(podView([finished], [running('main')]), 'Ready'), 'True');
});
