import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { shopContext, containerOf, flag, mountedFiles } from './render-fixture.ts';
import { apiServerContainer } from './apiserver-container.ts';

const contextFor = (spec: Partial<ClusterSpec> = {}) => shopContext(spec);

test('the API server binds and advertises its pod IP only, on 6443', () => {
  const deployment = apiServerContainer(contextFor());
  assert.deepEqual(flag(deployment, 'bind-address'), ['$(POD_IP)']);
  assert.deepEqual(flag(deployment, 'advertise-address'), ['$(POD_IP)']);
  assert.deepEqual(flag(deployment, 'secure-port'), ['6443']);
  assert.deepEqual(containerOf(deployment)?.env, [{ name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }]);
  for (const arg of containerOf(deployment)?.args ?? []) assert.doesNotMatch(arg, /0\.0\.0\.0|127\.0\.0\.1|localhost/, arg);
});

test('the API server knows every etcd member by its stable name, so its client fails over between them, and knows the guest network', () => {
  const deployment = apiServerContainer(contextFor({ network: { serviceCIDR: '10.100.0.0/16', clusterDomain: 'shop.internal' } }));
  assert.deepEqual(flag(deployment, 'etcd-servers'), [[0, 1, 2].map((i) => `https://shop-etcd-${i}.shop-etcd.team-a.svc.cluster.local:2379`).join(',')]);
  assert.deepEqual(containerOf(deployment)?.lifecycle?.preStop?.sleep?.seconds, 3, 'a replaced API server leaves the endpoints before it stops');
  assert.deepEqual(flag(deployment, 'service-cluster-ip-range'), ['10.100.0.0/16']);
  assert.deepEqual(flag(deployment, 'service-account-issuer'), ['https://kubernetes.default.svc.shop.internal']);
  assert.deepEqual(flag(deployment, 'authorization-mode'), ['Node,RBAC']);
  assert.deepEqual(flag(deployment, 'enable-bootstrap-token-auth'), ['true']);
  assert.deepEqual(flag(deployment, 'allow-privileged'), ['true']);
  assert.deepEqual(flag(deployment, 'kubelet-preferred-address-types'), ['InternalIP,ExternalIP,Hostname']);
  assert.deepEqual(flag(deployment, 'requestheader-allowed-names'), ['front-proxy-client']);
  assert.deepEqual(flag(deployment, 'requestheader-username-headers'), ['X-Remote-User']);
});

test('every certificate flag names a file projected from the PKI Secrets, and no CA key is among them', () => {
  const deployment = apiServerContainer(contextFor());
  const files = mountedFiles(deployment);
  const expected: Record<string, string> = {
    'client-ca-file': 'shop-ca/tls.crt',
    'tls-cert-file': 'shop-apiserver/tls.crt',
    'tls-private-key-file': 'shop-apiserver/tls.key',
    'kubelet-client-certificate': 'shop-apiserver-kubelet-client/tls.crt',
    'kubelet-client-key': 'shop-apiserver-kubelet-client/tls.key',
    'etcd-cafile': 'shop-apiserver-etcd-client/ca.crt',
    'etcd-certfile': 'shop-apiserver-etcd-client/tls.crt',
    'etcd-keyfile': 'shop-apiserver-etcd-client/tls.key',
    'requestheader-client-ca-file': 'shop-front-proxy-ca/tls.crt',
    'proxy-client-cert-file': 'shop-front-proxy-client/tls.crt',
    'proxy-client-key-file': 'shop-front-proxy-client/tls.key',
    'service-account-key-file': 'shop-sa/sa.pub',
    'service-account-signing-key-file': 'shop-sa/sa.key',
  };
  for (const [name, source] of Object.entries(expected)) {
    const [path] = flag(deployment, name);
    assert.ok(path?.startsWith('/etc/kubernetes/pki/'), `${name}=${path}`);
    assert.equal(files.get(path ?? ''), source, name);
  }
  assert.ok(![...files.values()].some((source) => /-ca\/tls\.key$/.test(source)), 'no CA private key in the API server');
  assert.deepEqual(containerOf(deployment)?.volumeMounts, [{ name: 'apiserver-pki', mountPath: '/etc/kubernetes/pki', readOnly: true }]);
});

test('extraArgs override a rendered flag instead of duplicating it, and add new ones', () => {
  const deployment = apiServerContainer(contextFor({ controlPlane: { apiServer: { extraArgs: { 'authorization-mode': 'Node,RBAC,Webhook', 'max-requests-inflight': '800' } } } }));
  assert.deepEqual(flag(deployment, 'authorization-mode'), ['Node,RBAC,Webhook']);
  assert.deepEqual(flag(deployment, 'max-requests-inflight'), ['800']);
});

test('a version override changes the image', () => {
  assert.equal(containerOf(apiServerContainer(contextFor({ controlPlane: { apiServer: { version: '1.36.3' } } })))?.image, 'registry.k8s.io/kube-apiserver:v1.36.3');
  assert.equal(containerOf(apiServerContainer(contextFor()))?.image, 'registry.k8s.io/kube-apiserver:v1.37.2');
});

test('readiness is /readyz and liveness /livez over HTTPS on the serving port', () => {
  const container = containerOf(apiServerContainer(contextFor()));
  assert.deepEqual(
    [container?.startupProbe, container?.readinessProbe, container?.livenessProbe].map((probe) => [probe?.httpGet?.path, probe?.httpGet?.port, probe?.httpGet?.scheme]),
    [
      ['/livez', 'https', 'HTTPS'],
      ['/readyz', 'https', 'HTTPS'],
      ['/livez', 'https', 'HTTPS'],
    ],
  );
  assert.deepEqual(container?.ports, [{ name: 'https', containerPort: 6443, protocol: 'TCP' }]);
});

test('resources reach the container; kubeadm request by default', () => {
  const part = apiServerContainer(contextFor({ controlPlane: { apiServer: { resources: { requests: { cpu: '2', memory: '4Gi' } } } } }));
  assert.deepEqual(containerOf(part)?.resources, { requests: { cpu: '2', memory: '4Gi' } });
  assert.deepEqual(containerOf(apiServerContainer(contextFor()))?.resources, { requests: { cpu: '250m' } }, 'kubeadm default');
});

test('through the cell\'s egress proxy the API server mounts the cell\'s egress selector file read-only and names it', () => {
  const deployment = apiServerContainer({ ...contextFor(), egressSelectorConfigFile: '/var/lib/cell/egress-selector.yaml' });
  assert.deepEqual(flag(deployment, 'egress-selector-config-file'), ['/etc/kubernetes/egress-selector/egress-selector.yaml']);
  assert.deepEqual(
    deployment.volumes?.find((volume) => volume.name === 'egress-selector'),
    { name: 'egress-selector', hostPath: { path: '/var/lib/cell/egress-selector.yaml', type: 'File' } },
  );
  assert.deepEqual(containerOf(deployment)?.volumeMounts?.find((mount) => mount.name === 'egress-selector'), { name: 'egress-selector', mountPath: '/etc/kubernetes/egress-selector/egress-selector.yaml', readOnly: true });
  const direct = apiServerContainer(contextFor());
  assert.deepEqual(flag(direct, 'egress-selector-config-file'), []);
  assert.equal(direct.volumes?.some((volume) => volume.name === 'egress-selector'), false);
});
