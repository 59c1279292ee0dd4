import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer } from '../../test/harness/api-server.ts';
import { EventRecorder } from './events.ts';

// One real API server for this file.
const api = await startTestApiServer();

type CoreEvent = { reason: string; message: string; type: string; count: number; involvedObject: { kind: string; name: string; uid?: string }; reportingComponent: string };

test('a repeated event bumps the count of one Event instead of creating another', async () => {
  const recorder = new EventRecorder(api.client, 'tessera-cluster-operator', 'operator-0');
  const target = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name: 'prod', namespace: 'default', uid: '11111111-2222-3333-4444-555555555555' };
  await recorder.record(target, 'Normal', 'CertificatesIssued', 'issued 12 certificates');
  await recorder.record(target, 'Normal', 'CertificatesIssued', 'issued 12 certificates');
  await recorder.record(target, 'Normal', 'CertificatesIssued', 'issued 12 certificates');
  await recorder.record(target, 'Warning', 'EtcdMemberLost', 'etcd-1 is not responding');
  const events = await api.client.get<{ items: CoreEvent[] }>('/api/v1/namespaces/default/events', { fieldSelector: `involvedObject.uid=${target.uid}` });
  const byReason = new Map(events.items.map((event) => [event.reason, event]));
  assert.equal(events.items.length, 2);
  assert.equal(byReason.get('CertificatesIssued')?.count, 3);
  assert.equal(byReason.get('CertificatesIssued')?.reportingComponent, 'tessera-cluster-operator');
  assert.equal(byReason.get('EtcdMemberLost')?.type, 'Warning');
  assert.deepEqual(byReason.get('EtcdMemberLost')?.involvedObject.kind, 'Cluster');
});

test('emit never throws into the caller; failures go to onError', async () => {
  const errors: unknown[] = [];
  const recorder = new EventRecorder(api.client, 'tessera-test', undefined, (error) => errors.push(error));
  recorder.warning({ kind: 'Cluster', name: 'x', namespace: 'no-such-namespace' }, 'Failed', 'namespace is missing');
  const deadline = Date.now() + 5_000;
  while (errors.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(errors.length, 1);
});
