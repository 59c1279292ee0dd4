import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { shopContext, containerOf, flag } from './render-fixture.ts';
import { schedulerContainer } from './scheduler-container.ts';

const contextFor = (spec: Partial<ClusterSpec> = {}) => shopContext(spec);

test('it is leader-elected: one of the control-plane pods schedules', () => {
  assert.deepEqual(flag(schedulerContainer(contextFor()), 'leader-elect'), ['true']);
});

test('it talks to the guest through its kubeconfig Secret and binds the pod IP only', () => {
  const deployment = schedulerContainer(contextFor());
  const path = '/etc/kubernetes/kubeconfig/scheduler.conf';
  assert.deepEqual(flag(deployment, 'kubeconfig'), [path]);
  assert.deepEqual(flag(deployment, 'authentication-kubeconfig'), [path]);
  assert.deepEqual(flag(deployment, 'authorization-kubeconfig'), [path]);
  assert.deepEqual(deployment.volumes, [
    { name: 'scheduler-kubeconfig', secret: { secretName: 'shop-scheduler-kubeconfig', items: [{ key: 'kubeconfig', path: 'scheduler.conf' }], defaultMode: 0o600 } },
  ]);
  assert.deepEqual(containerOf(deployment)?.volumeMounts, [{ name: 'scheduler-kubeconfig', mountPath: '/etc/kubernetes/kubeconfig', readOnly: true }]);
  assert.deepEqual(flag(deployment, 'bind-address'), ['$(POD_IP)']);
  assert.deepEqual(flag(deployment, 'secure-port'), ['10259']);
  for (const arg of containerOf(deployment)?.args ?? []) assert.doesNotMatch(arg, /0\.0\.0\.0|127\.0\.0\.1|localhost/, arg);
});

test('extraArgs override a rendered flag, a version override changes the image', () => {
  const deployment = schedulerContainer(
    contextFor({
      controlPlane: {
        scheduler: { version: '1.36.3', extraArgs: { 'leader-elect': 'false', v: '4' } },
      },
    }),
  );
  assert.deepEqual(flag(deployment, 'leader-elect'), ['false']);
  assert.deepEqual(flag(deployment, 'v'), ['4']);
  assert.equal(containerOf(deployment)?.image, 'registry.k8s.io/kube-scheduler:v1.36.3');
  assert.deepEqual(containerOf(schedulerContainer(contextFor()))?.resources, { requests: { cpu: '100m' } });
});

test('probes hit /healthz over HTTPS on a port name of its own in the pod', () => {
  const deployment = schedulerContainer(contextFor());
  const container = containerOf(deployment);
  for (const probe of [container?.startupProbe, container?.readinessProbe, container?.livenessProbe]) {
    assert.deepEqual(probe?.httpGet, { path: '/healthz', port: 'sched-https', scheme: 'HTTPS' });
  }
  assert.deepEqual(container?.ports, [{ name: 'sched-https', containerPort: 10259, protocol: 'TCP' }]);
});
