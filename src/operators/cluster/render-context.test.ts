import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults, type Cluster, type ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { initialEtcdMembers } from './etcd-member.ts';
import {
  commandLine,
  componentImages,
  controlPlanePlacement,
  renderContext,
  resourcesFor,
  spreadConstraints,
  type RenderContextInput,
} from './render-context.ts';

const uid = '6f1d2a4e-0000-4000-8000-000000000001';
function input(spec: Partial<ClusterSpec> = {}, metadata: Partial<Cluster['metadata']> = {}): RenderContextInput {
  const full: ClusterSpec = { version: '1.37.2', ...spec };
  const cluster: Cluster = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'shop', namespace: 'team-a', uid, ...metadata }, spec: full };
  const defaulted = withDefaults(full);
  return { cluster, spec: defaulted, certificateChecksum: 'checksum-1', etcdMembers: initialEtcdMembers(cluster.metadata.name, defaulted.mode) };
}

test('images follow spec.version: upstream kube images tagged v<version>, etcd 3.7.3-0', () => {
  assert.deepEqual(componentImages(withDefaults({ version: '1.37.2' })), {
    etcd: 'registry.k8s.io/etcd:3.7.3-0',
    apiServer: 'registry.k8s.io/kube-apiserver:v1.37.2',
    controllerManager: 'registry.k8s.io/kube-controller-manager:v1.37.2',
    scheduler: 'registry.k8s.io/kube-scheduler:v1.37.2',
  });
  assert.equal(componentImages(withDefaults({ version: '1.36.3' })).etcd, 'registry.k8s.io/etcd:3.7.3-0');
});

test('a component version override changes that component image only', () => {
  const images = componentImages(
    withDefaults({ version: '1.37.2', controlPlane: { apiServer: { version: '1.36.3' }, etcd: { version: '3.7.2' } } }),
  );
  assert.equal(images.apiServer, 'registry.k8s.io/kube-apiserver:v1.36.3');
  assert.equal(images.etcd, 'registry.k8s.io/etcd:3.7.2-0');
  assert.equal(images.controllerManager, 'registry.k8s.io/kube-controller-manager:v1.37.2');
  assert.equal(images.scheduler, 'registry.k8s.io/kube-scheduler:v1.37.2');
  assert.equal(componentImages(withDefaults({ version: '1.37.2', controlPlane: { etcd: { version: '3.7.3-1' } } })).etcd, 'registry.k8s.io/etcd:3.7.3-1');
  assert.equal(componentImages(withDefaults({ version: '1.37.2' }), 'mirror.example:5000/k8s').scheduler, 'mirror.example:5000/k8s/kube-scheduler:v1.37.2');
});

test('a Kubernetes minor without a known etcd asks for spec.controlPlane.etcd.version', () => {
  assert.throws(() => componentImages(withDefaults({ version: '1.99.0' })), /spec.controlPlane.etcd.version/);
  assert.equal(componentImages(withDefaults({ version: '1.99.0', controlPlane: { etcd: { version: '3.8.0' } } })).etcd, 'registry.k8s.io/etcd:3.8.0-0');
});

test('the context takes its namespace from the Cluster and refuses a Cluster without identity', () => {
  const context = renderContext(input());
  assert.equal(context.namespace, 'team-a');
  assert.equal(context.images.apiServer, 'registry.k8s.io/kube-apiserver:v1.37.2');
  assert.throws(() => renderContext(input({}, { uid: undefined })), /metadata.uid is required/);
  assert.throws(() => renderContext(input({}, { namespace: undefined })), /metadata.namespace is required/);
  assert.throws(() => renderContext({ ...input(), certificateChecksum: '' }), /certificateChecksum is empty/);
  assert.throws(() => renderContext({ ...input(), etcdMembers: [] }), /etcdMembers is empty/);
});

test('a Cluster name that would make a Service name longer than 63 characters is refused', () => {
  const longest = 'a'.repeat(39);
  assert.doesNotThrow(() => renderContext(input({}, { name: longest })));
  assert.throws(() => renderContext(input({}, { name: `${longest}b` })), /metadata.name must be a DNS label of at most 39 characters/);
  assert.throws(() => renderContext(input({}, { name: '1shop' })), /starting with a letter/);
});

test('extraArgs replace a rendered flag in place instead of adding a second one', () => {
  const flags = [
    ['name', 'a'],
    ['data-dir', '/data'],
  ] as const;
  assert.deepEqual(commandLine(flags, { 'data-dir': '/elsewhere' }, 'field'), ['--name=a', '--data-dir=/elsewhere']);
  assert.deepEqual(commandLine(flags, { '--data-dir': '/x', v: '2', 'auto-compaction-mode': 'periodic' }, 'field'), [
    '--name=a',
    '--data-dir=/x',
    '--auto-compaction-mode=periodic',
    '--v=2',
  ]);
  assert.deepEqual(commandLine(flags, undefined, 'field'), ['--name=a', '--data-dir=/data']);
});

test('an extraArgs key that is not a flag name is an error naming the field', () => {
  assert.throws(() => commandLine([], { 'v=2': '' }, 'spec.controlPlane.etcd.extraArgs'), /spec.controlPlane.etcd.extraArgs: key "v=2" is not a flag name/);
  assert.throws(() => commandLine([], { v: '1', '--v': '2' }, 'spec.controlPlane.scheduler.extraArgs'), /flag "v" is given twice/);
});

test('resources come from the spec, else from the component default', () => {
  const fallback = { requests: { cpu: '100m' } };
  assert.deepEqual(resourcesFor({}, fallback), fallback);
  assert.deepEqual(resourcesFor({ resources: { limits: { memory: '1Gi' } } }, fallback), { limits: { memory: '1Gi' } });
});

test('placement copies nodeSelector and tolerations and leaves them out when empty', () => {
  assert.deepEqual(controlPlanePlacement(renderContext(input())), {});
  const placed = controlPlanePlacement(
    renderContext(
      input({
        controlPlane: {
          placement: { nodeSelector: { 'node-role.tessera.dev/master': '' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'masters', effect: 'NoSchedule' }] },
        },
      }),
    ),
  );
  assert.deepEqual(placed, {
    nodeSelector: { 'node-role.tessera.dev/master': '' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'masters', effect: 'NoSchedule' }],
  });
});

test('zone spreading is required when spreadAcrossZones, preferred otherwise; node spreading is preferred', () => {
  const hard = spreadConstraints(renderContext(input()), 'control-plane', true);
  assert.deepEqual(
    hard.map((c) => [c.topologyKey, c.maxSkew, c.whenUnsatisfiable, c.matchLabelKeys]),
    [
      ['topology.kubernetes.io/zone', 1, 'DoNotSchedule', ['pod-template-hash']],
      ['kubernetes.io/hostname', 1, 'ScheduleAnyway', ['pod-template-hash']],
    ],
  );
  assert.deepEqual(hard[0]?.labelSelector, { matchLabels: { 'tessera.dev/cluster': 'shop', 'tessera.dev/component': 'control-plane' } });
  const soft = spreadConstraints(renderContext(input({ controlPlane: { placement: { spreadAcrossZones: false } } })), 'etcd', false);
  assert.deepEqual(soft.map((c) => [c.whenUnsatisfiable, c.matchLabelKeys]), [
    ['ScheduleAnyway', undefined],
    ['ScheduleAnyway', undefined],
  ]);
});
