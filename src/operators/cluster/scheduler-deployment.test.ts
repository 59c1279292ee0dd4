import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { shopContext, containerOf, flag } from './render-fixture.ts';
import { renderSchedulerDeployment } from './scheduler-deployment.ts';

const contextFor = (spec: Partial<ClusterSpec> = {}) => shopContext(spec);

test('three leader-elected schedulers in Standard, one in Minimal, spread over zones', () => {
  const standard = renderSchedulerDeployment(contextFor());
  assert.equal(standard.metadata?.name, 'shop-kube-scheduler');
  assert.equal(standard.spec?.replicas, 3);
  assert.deepEqual(flag(standard, 'leader-elect'), ['true']);
  assert.equal(standard.spec?.template.spec?.topologySpreadConstraints?.[0]?.topologyKey, 'topology.kubernetes.io/zone');
  const minimal = renderSchedulerDeployment(contextFor({ mode: 'Minimal' }));
  assert.equal(minimal.spec?.replicas, 1);
  assert.deepEqual(minimal.spec?.strategy?.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
});

test('it talks to the guest through its kubeconfig Secret and binds the pod IP only', () => {
  const deployment = renderSchedulerDeployment(contextFor());
  const path = '/etc/kubernetes/kubeconfig/scheduler.conf';
  assert.deepEqual(flag(deployment, 'kubeconfig'), [path]);
  assert.deepEqual(flag(deployment, 'authentication-kubeconfig'), [path]);
  assert.deepEqual(flag(deployment, 'authorization-kubeconfig'), [path]);
  assert.deepEqual(deployment.spec?.template.spec?.volumes, [
    { name: 'kubeconfig', secret: { secretName: 'shop-scheduler-kubeconfig', items: [{ key: 'kubeconfig', path: 'scheduler.conf' }], defaultMode: 0o600 } },
  ]);
  assert.deepEqual(containerOf(deployment)?.volumeMounts, [{ name: 'kubeconfig', mountPath: '/etc/kubernetes/kubeconfig', readOnly: true }]);
  assert.deepEqual(flag(deployment, 'bind-address'), ['$(POD_IP)']);
  assert.deepEqual(flag(deployment, 'secure-port'), ['10259']);
  for (const arg of containerOf(deployment)?.args ?? []) assert.doesNotMatch(arg, /0\.0\.0\.0|127\.0\.0\.1|localhost/, arg);
});

test('extraArgs override a rendered flag, a version override changes the image, placement propagates', () => {
  const deployment = renderSchedulerDeployment(
    contextFor({
      controlPlane: {
        scheduler: { version: '1.36.3', extraArgs: { 'leader-elect': 'false', v: '4' } },
        placement: { nodeSelector: { 'tessera.dev/role': 'master' } },
      },
    }),
  );
  assert.deepEqual(flag(deployment, 'leader-elect'), ['false']);
  assert.deepEqual(flag(deployment, 'v'), ['4']);
  assert.equal(containerOf(deployment)?.image, 'registry.k8s.io/kube-scheduler:v1.36.3');
  assert.deepEqual(deployment.spec?.template.spec?.nodeSelector, { 'tessera.dev/role': 'master' });
  assert.deepEqual(containerOf(renderSchedulerDeployment(contextFor()))?.resources, { requests: { cpu: '100m' } });
});

test('probes hit /healthz over HTTPS; the pod template carries the certificate checksum', () => {
  const deployment = renderSchedulerDeployment(contextFor());
  const container = containerOf(deployment);
  for (const probe of [container?.startupProbe, container?.readinessProbe, container?.livenessProbe]) {
    assert.deepEqual(probe?.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  }
  assert.equal(deployment.spec?.template.metadata?.annotations?.['tessera.dev/certificates-checksum'], 'checksum-1');
});
