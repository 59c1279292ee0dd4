import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import type { ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { etcdInitialCluster, etcdPeerURL, renderEtcdMember } from './etcd-member.ts';
import type { DesiredEtcdMember, RenderContext } from './render-context.ts';
import { shopContext } from './render-fixture.ts';

const uid = '6f1d2a4e-0000-4000-8000-000000000001';
const contextFor = (spec: Partial<ClusterSpec> = {}, etcdMembers?: DesiredEtcdMember[]) => shopContext(spec, etcdMembers, uid);

/** The values of `--name=` in a container's args, in order. */
function flag(container: V1Container | undefined, name: string): string[] {
  return (container?.args ?? []).filter((arg) => arg.startsWith(`--${name}=`)).map((arg) => arg.slice(name.length + 3));
}

function member(context: RenderContext, index: number) {
  const desired = context.etcdMembers[index];
  assert.ok(desired, `member ${index} exists`);
  const rendered = renderEtcdMember(context, desired);
  return { ...rendered, container: rendered.pod.spec?.containers[0] };
}

test('Standard bootstraps three members named by their headless DNS names', () => {
  const context = contextFor();
  assert.deepEqual(context.etcdMembers, [
    { name: 'shop-etcd-0', index: 0, state: 'new' },
    { name: 'shop-etcd-1', index: 1, state: 'new' },
    { name: 'shop-etcd-2', index: 2, state: 'new' },
  ]);
  assert.equal(
    etcdInitialCluster(context),
    'shop-etcd-0=https://shop-etcd-0.shop-etcd.team-a.svc.cluster.local:2380,' +
      'shop-etcd-1=https://shop-etcd-1.shop-etcd.team-a.svc.cluster.local:2380,' +
      'shop-etcd-2=https://shop-etcd-2.shop-etcd.team-a.svc.cluster.local:2380',
  );
  const { pod, container } = member(context, 1);
  assert.equal(pod.metadata?.name, 'shop-etcd-1');
  assert.equal(pod.spec?.hostname, 'shop-etcd-1');
  assert.equal(pod.spec?.subdomain, 'shop-etcd');
  assert.deepEqual(flag(container, 'name'), ['shop-etcd-1']);
  assert.deepEqual(flag(container, 'initial-cluster'), [etcdInitialCluster(context)]);
  assert.deepEqual(flag(container, 'initial-advertise-peer-urls'), ['https://shop-etcd-1.shop-etcd.team-a.svc.cluster.local:2380']);
  assert.deepEqual(flag(container, 'advertise-client-urls'), ['https://shop-etcd-1.shop-etcd.team-a.svc.cluster.local:2379']);
  assert.deepEqual(flag(container, 'initial-cluster-state'), ['new']);
  assert.deepEqual(flag(container, 'initial-cluster-token'), [`shop-${uid}`]);
});

test('Minimal bootstraps one member whose initial cluster is itself', () => {
  const context = contextFor({ mode: 'Minimal' });
  assert.deepEqual(context.etcdMembers, [{ name: 'shop-etcd-0', index: 0, state: 'new' }]);
  assert.equal(etcdInitialCluster(context), 'shop-etcd-0=https://shop-etcd-0.shop-etcd.team-a.svc.cluster.local:2380');
});

test('a member added to a running cluster starts as existing, and the initial cluster lists every member', () => {
  const members: DesiredEtcdMember[] = [
    { name: 'shop-etcd-0', index: 0, state: 'new' },
    { name: 'shop-etcd-2', index: 2, state: 'new' },
    { name: 'shop-etcd-1', index: 1, state: 'existing' },
  ];
  const context = contextFor({}, members);
  const { container } = member(context, 2);
  assert.deepEqual(flag(container, 'initial-cluster-state'), ['existing']);
  assert.equal(flag(container, 'initial-cluster')[0]?.split(',').map((entry) => entry.split('=')[0]).join(' '), 'shop-etcd-0 shop-etcd-1 shop-etcd-2');
});

test('a member listens on its pod IP only, never on 0.0.0.0 or 127.0.0.1', () => {
  const { container } = member(contextFor(), 0);
  assert.deepEqual(flag(container, 'listen-client-urls'), ['https://$(POD_IP):2379']);
  assert.deepEqual(flag(container, 'listen-peer-urls'), ['https://$(POD_IP):2380']);
  assert.deepEqual(flag(container, 'listen-metrics-urls'), ['http://$(POD_IP):2381']);
  assert.deepEqual(container?.env, [{ name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }]);
  for (const arg of container?.args ?? []) assert.doesNotMatch(arg, /0\.0\.0\.0|127\.0\.0\.1|localhost|\[::\]/, arg);
});

test('client and peer TLS come from the member Secret, mounted read-only', () => {
  const { pod, container } = member(contextFor(), 2);
  for (const [name, file] of [
    ['cert-file', 'tls.crt'],
    ['key-file', 'tls.key'],
    ['trusted-ca-file', 'ca.crt'],
    ['peer-cert-file', 'tls.crt'],
    ['peer-key-file', 'tls.key'],
    ['peer-trusted-ca-file', 'ca.crt'],
  ] as const) {
    assert.deepEqual(flag(container, name), [`/etc/etcd/pki/${file}`], name);
  }
  assert.deepEqual(flag(container, 'client-cert-auth'), ['true']);
  assert.deepEqual(flag(container, 'peer-client-cert-auth'), ['true']);
  assert.deepEqual(container?.volumeMounts?.find((mount) => mount.name === 'pki'), { name: 'pki', mountPath: '/etc/etcd/pki', readOnly: true });
  assert.equal(pod.spec?.volumes?.find((volume) => volume.name === 'pki')?.secret?.secretName, 'shop-etcd-2');
});

test('with a claimTemplate each member gets its own claim, mounted at /var/lib/etcd', () => {
  const { pod, persistentVolumeClaim, container } = member(contextFor({ controlPlane: { etcd: { storage: { claimTemplate: { size: '8Gi', storageClassName: 'fast' } } } } }), 1);
  assert.equal(persistentVolumeClaim?.metadata?.name, 'shop-etcd-1-data');
  assert.deepEqual(persistentVolumeClaim?.spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Gi' } }, storageClassName: 'fast' });
  assert.deepEqual(persistentVolumeClaim?.metadata?.labels, {
    'tessera.dev/cluster': 'shop',
    'app.kubernetes.io/managed-by': 'tessera',
    'tessera.dev/component': 'etcd',
  });
  assert.deepEqual(pod.spec?.volumes?.find((volume) => volume.name === 'data'), { name: 'data', persistentVolumeClaim: { claimName: 'shop-etcd-1-data' } });
  assert.deepEqual(container?.volumeMounts?.find((mount) => mount.name === 'data'), { name: 'data', mountPath: '/var/lib/etcd' });
  assert.deepEqual(flag(container, 'data-dir'), ['/var/lib/etcd/data']);
  assert.equal(member(contextFor(), 0).persistentVolumeClaim?.spec?.resources?.requests?.['storage'], '1Gi', 'default size');
});

test('a volumeSource instead of a claimTemplate yields no claim and the volume inline', () => {
  const rendered = member(contextFor({ controlPlane: { etcd: { storage: { volumeSource: { emptyDir: { medium: 'Memory' } } } } } }), 0);
  assert.equal(rendered.persistentVolumeClaim, undefined);
  assert.equal('persistentVolumeClaim' in rendered, false);
  assert.deepEqual(rendered.pod.spec?.volumes?.find((volume) => volume.name === 'data'), { name: 'data', emptyDir: { medium: 'Memory' } });
});

test('extraArgs override a rendered flag instead of duplicating it', () => {
  const { container } = member(contextFor({ controlPlane: { etcd: { extraArgs: { 'watch-progress-notify-interval': '10s', 'quota-backend-bytes': '8589934592' } } } }), 0);
  assert.deepEqual(flag(container, 'watch-progress-notify-interval'), ['10s']);
  assert.deepEqual(flag(container, 'quota-backend-bytes'), ['8589934592']);
  assert.equal(container?.args?.at(-1), '--quota-backend-bytes=8589934592');
});

test('resources, placement and the certificate checksum reach the pod', () => {
  const context = contextFor({
    controlPlane: {
      etcd: { resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } } },
      placement: { nodeSelector: { 'tessera.dev/role': 'master' }, tolerations: [{ key: 'tessera.dev/master', operator: 'Exists', effect: 'NoSchedule' }] },
    },
  });
  const { pod, container } = member(context, 0);
  assert.deepEqual(container?.resources, { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } });
  assert.deepEqual(pod.spec?.nodeSelector, { 'tessera.dev/role': 'master' });
  assert.deepEqual(pod.spec?.tolerations, [{ key: 'tessera.dev/master', operator: 'Exists', effect: 'NoSchedule' }]);
  assert.equal(pod.metadata?.annotations?.['tessera.dev/certificates-checksum'], 'checksum-1');
  assert.equal(pod.spec?.terminationGracePeriodSeconds, 30);
  assert.deepEqual(member(contextFor(), 0).container?.resources, { requests: { cpu: '100m', memory: '100Mi' } }, 'kubeadm default');
});

test('members spread across zones, required only when spreadAcrossZones', () => {
  const spread = (spec: Partial<ClusterSpec>) => member(contextFor(spec), 0).pod.spec?.topologySpreadConstraints?.map((c) => [c.topologyKey, c.whenUnsatisfiable]);
  assert.deepEqual(spread({}), [
    ['topology.kubernetes.io/zone', 'DoNotSchedule'],
    ['kubernetes.io/hostname', 'ScheduleAnyway'],
  ]);
  assert.deepEqual(spread({ controlPlane: { placement: { spreadAcrossZones: false } } }), [
    ['topology.kubernetes.io/zone', 'ScheduleAnyway'],
    ['kubernetes.io/hostname', 'ScheduleAnyway'],
  ]);
});

test('health is probed on the metrics port: /livez to start and live, /readyz for readiness', () => {
  const { container } = member(contextFor(), 0);
  assert.deepEqual(
    [container?.startupProbe, container?.readinessProbe, container?.livenessProbe].map((probe) => [probe?.httpGet?.path, probe?.httpGet?.port, probe?.httpGet?.scheme]),
    [
      ['/livez', 'metrics', 'HTTP'],
      ['/readyz', 'metrics', 'HTTP'],
      ['/livez', 'metrics', 'HTTP'],
    ],
  );
  assert.ok((container?.startupProbe?.periodSeconds ?? 0) * (container?.startupProbe?.failureThreshold ?? 0) >= 300, 'startup allows minutes');
  assert.deepEqual(container?.ports?.find((port) => port.name === 'metrics'), { name: 'metrics', containerPort: 2381, protocol: 'TCP' });
});

test('the pod is owned by the Cluster and renders a member only when the context lists it', () => {
  const context = contextFor({ mode: 'Minimal' });
  const { pod } = member(context, 0);
  assert.deepEqual(pod.metadata?.ownerReferences, [{ apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name: 'shop', uid, controller: true, blockOwnerDeletion: true }]);
  assert.equal(pod.metadata?.namespace, 'team-a');
  assert.throws(() => renderEtcdMember(context, { name: 'shop-etcd-1', index: 1, state: 'existing' }), /not in the render context's etcdMembers/);
  assert.throws(() => renderEtcdMember(context, { name: 'other-etcd-0', index: 0, state: 'new' }), /must be named shop-etcd-0/);
  assert.equal(etcdPeerURL(context, 'shop-etcd-0'), 'https://shop-etcd-0.shop-etcd.team-a.svc.cluster.local:2380');
});
