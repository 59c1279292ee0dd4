import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { shopContext } from './render-fixture.ts';
import { renderControlPlaneDeployment } from './control-plane-deployment.ts';

const contextFor = (spec: Partial<ClusterSpec> = {}) => shopContext(spec);

test('Standard runs three control-plane pods spread over zones, replacing one at a time, a new one first', () => {
  const deployment = renderControlPlaneDeployment(contextFor());
  assert.equal(deployment.metadata?.name, 'shop-control-plane');
  assert.equal(deployment.spec?.replicas, 3);
  assert.deepEqual(deployment.spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  assert.deepEqual(
    deployment.spec?.template.spec?.topologySpreadConstraints?.map((c) => [c.topologyKey, c.maxSkew, c.whenUnsatisfiable]),
    [
      ['topology.kubernetes.io/zone', 1, 'DoNotSchedule'],
      ['kubernetes.io/hostname', 1, 'ScheduleAnyway'],
    ],
  );
  assert.deepEqual(deployment.spec?.selector, { matchLabels: { 'tessera.dev/cluster': 'shop', 'tessera.dev/component': 'control-plane' } });
});

test('Minimal runs one control-plane pod and starts its replacement before stopping it', () => {
  const deployment = renderControlPlaneDeployment(contextFor({ mode: 'Minimal' }));
  assert.equal(deployment.spec?.replicas, 1);
  assert.deepEqual(deployment.spec?.strategy?.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
});

test('without spreadAcrossZones zone spreading is only preferred', () => {
  const deployment = renderControlPlaneDeployment(contextFor({ controlPlane: { placement: { spreadAcrossZones: false } } }));
  assert.equal(deployment.spec?.template.spec?.topologySpreadConstraints?.[0]?.whenUnsatisfiable, 'ScheduleAnyway');
});

test('the API server is a sidecar, so the controller-manager and scheduler start once its startup probe passes', () => {
  const pod = renderControlPlaneDeployment(contextFor()).spec?.template.spec;
  assert.deepEqual(pod?.initContainers?.map((c) => [c.name, c.restartPolicy]), [['kube-apiserver', 'Always']]);
  assert.ok(pod?.initContainers?.[0]?.startupProbe, 'the kubelet waits for its startup probe');
  assert.deepEqual(pod?.containers.map((c) => c.name), ['kube-controller-manager', 'kube-scheduler']);
});

test('each container mounts only its own volumes, and only the controller-manager gets the CA key', () => {
  const pod = renderControlPlaneDeployment(contextFor()).spec?.template.spec;
  const names = pod?.volumes?.map((volume) => volume.name) ?? [];
  assert.equal(new Set(names).size, names.length, `volume names are unique in the pod: ${names.join(', ')}`);
  const mounts = Object.fromEntries([...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].map((c) => [c.name, (c.volumeMounts ?? []).map((mount) => mount.name)]));
  assert.deepEqual(mounts, {
    'kube-apiserver': ['apiserver-pki'],
    'kube-controller-manager': ['controller-manager-pki', 'controller-manager-kubeconfig'],
    'kube-scheduler': ['scheduler-kubeconfig'],
  });
  const caKeyHolders = (pod?.volumes ?? []).filter((volume) => volume.projected?.sources?.some((source) => source.secret?.name === 'shop-ca' && source.secret.items?.some((item) => item.key === 'tls.key')));
  assert.deepEqual(caKeyHolders.map((volume) => volume.name), ['controller-manager-pki']);
  const ports = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].flatMap((c) => (c.ports ?? []).map((port) => port.name));
  assert.equal(new Set(ports).size, ports.length, `port names are unique in the pod: ${ports.join(', ')}`);
});

test('each container runs the version the plan renders for it; resources, placement and the certificate checksum reach the pods', () => {
  const deployment = renderControlPlaneDeployment(
    contextFor({
      controlPlane: {
        apiServer: { version: '1.37.2', resources: { requests: { cpu: '2', memory: '4Gi' } } },
        controllerManager: { version: '1.36.3' },
        scheduler: { version: '1.36.3' },
        placement: { nodeSelector: { 'tessera.dev/role': 'master' }, tolerations: [{ key: 'tessera.dev/master', operator: 'Exists' }] },
      },
    }),
  );
  const template = deployment.spec?.template;
  const images = [...(template?.spec?.initContainers ?? []), ...(template?.spec?.containers ?? [])].map((c) => c.image);
  assert.deepEqual(images, ['registry.k8s.io/kube-apiserver:v1.37.2', 'registry.k8s.io/kube-controller-manager:v1.36.3', 'registry.k8s.io/kube-scheduler:v1.36.3']);
  assert.deepEqual(template?.spec?.initContainers?.[0]?.resources, { requests: { cpu: '2', memory: '4Gi' } });
  assert.deepEqual(template?.spec?.nodeSelector, { 'tessera.dev/role': 'master' });
  assert.deepEqual(template?.spec?.tolerations, [{ key: 'tessera.dev/master', operator: 'Exists' }]);
  assert.equal(template?.metadata?.annotations?.['tessera.dev/certificates-checksum'], 'checksum-1');
  assert.deepEqual(template?.metadata?.labels, { 'tessera.dev/cluster': 'shop', 'app.kubernetes.io/managed-by': 'tessera', 'tessera.dev/component': 'control-plane' });
});
