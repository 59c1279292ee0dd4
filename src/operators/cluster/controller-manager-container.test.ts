import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { shopContext, containerOf, flag, mountedFiles } from './render-fixture.ts';
import { controllerManagerContainer } from './controller-manager-container.ts';

const contextFor = (spec: Partial<ClusterSpec> = {}) => shopContext(spec);

test('it is leader-elected: one of the control-plane pods runs the controllers', () => {
  assert.deepEqual(flag(controllerManagerContainer(contextFor()), 'leader-elect'), ['true']);
});

test('it binds its secure port to the pod IP only', () => {
  const deployment = controllerManagerContainer(contextFor());
  assert.deepEqual(flag(deployment, 'bind-address'), ['$(POD_IP)']);
  assert.deepEqual(flag(deployment, 'secure-port'), ['10257']);
  for (const arg of containerOf(deployment)?.args ?? []) assert.doesNotMatch(arg, /0\.0\.0\.0|127\.0\.0\.1|localhost/, arg);
});

test('kubeconfig, signing CA and service-account key come from the named Secrets', () => {
  const deployment = controllerManagerContainer(contextFor());
  const files = mountedFiles(deployment);
  const expected: Record<string, string> = {
    kubeconfig: 'shop-controller-manager-kubeconfig/kubeconfig',
    'authentication-kubeconfig': 'shop-controller-manager-kubeconfig/kubeconfig',
    'authorization-kubeconfig': 'shop-controller-manager-kubeconfig/kubeconfig',
    'cluster-signing-cert-file': 'shop-ca/tls.crt',
    'cluster-signing-key-file': 'shop-ca/tls.key',
    'root-ca-file': 'shop-ca/tls.crt',
    'client-ca-file': 'shop-ca/tls.crt',
    'requestheader-client-ca-file': 'shop-front-proxy-ca/tls.crt',
    'service-account-private-key-file': 'shop-sa/sa.key',
  };
  for (const [name, source] of Object.entries(expected)) {
    const [path] = flag(deployment, name);
    assert.equal(files.get(path ?? ''), source, `${name}=${path}`);
  }
});

test('node CIDRs come from the pod CIDR, allocated when the network plugin needs them', () => {
  const flannel = controllerManagerContainer(contextFor({ network: { podCIDR: '10.32.0.0/12', nodeCIDRMaskSize: 25, serviceCIDR: '10.96.0.0/16', plugin: 'flannel' } }));
  assert.deepEqual(flag(flannel, 'cluster-cidr'), ['10.32.0.0/12']);
  assert.deepEqual(flag(flannel, 'node-cidr-mask-size'), ['25']);
  assert.deepEqual(flag(flannel, 'service-cluster-ip-range'), ['10.96.0.0/16']);
  assert.deepEqual(flag(flannel, 'allocate-node-cidrs'), ['true']);
  assert.deepEqual(flag(controllerManagerContainer(contextFor({ network: { plugin: 'calico' } })), 'allocate-node-cidrs'), ['false']);
  assert.deepEqual(flag(controllerManagerContainer(contextFor()), 'allocate-node-cidrs'), ['false']);
});

test('bootstrap-token controllers run and controllers use their own service accounts', () => {
  const deployment = controllerManagerContainer(contextFor());
  assert.deepEqual(flag(deployment, 'controllers'), ['*,bootstrapsigner,tokencleaner']);
  assert.deepEqual(flag(deployment, 'use-service-account-credentials'), ['true']);
  assert.deepEqual(flag(deployment, 'cluster-name'), ['shop']);
});

test('extraArgs override a rendered flag, a version override changes the image, resources propagate', () => {
  const deployment = controllerManagerContainer(
    contextFor({ controlPlane: { controllerManager: { version: '1.36.3', extraArgs: { controllers: '*,-ttl', 'terminated-pod-gc-threshold': '100' }, resources: { requests: { cpu: '1' } } } } }),
  );
  assert.deepEqual(flag(deployment, 'controllers'), ['*,-ttl']);
  assert.deepEqual(flag(deployment, 'terminated-pod-gc-threshold'), ['100']);
  assert.equal(containerOf(deployment)?.image, 'registry.k8s.io/kube-controller-manager:v1.36.3');
  assert.deepEqual(containerOf(deployment)?.resources, { requests: { cpu: '1' } });
});

test('probes hit /healthz over HTTPS on a port name of its own in the pod', () => {
  const deployment = controllerManagerContainer(contextFor());
  const container = containerOf(deployment);
  for (const probe of [container?.startupProbe, container?.readinessProbe, container?.livenessProbe]) {
    assert.deepEqual(probe?.httpGet, { path: '/healthz', port: 'kcm-https', scheme: 'HTTPS' });
  }
  assert.deepEqual(container?.ports, [{ name: 'kcm-https', containerPort: 10257, protocol: 'TCP' }]);
});
