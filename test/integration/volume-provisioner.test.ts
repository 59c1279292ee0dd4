// The local meta cluster's volume provisioner on a real kube-apiserver: a provisioner that
// starts again (as on `up` after `down`) keeps every volume whose claim still exists, even when
// its list of volumes arrives before its list of claims; a volume whose claim is deleted goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { startTestApiServer } from '../harness/api-server.ts';
import { eventually } from '../harness/meta-cluster-cli.ts';
import { RestClient, isNotFound } from '../../src/controller/rest-client.ts';
import { EventRecorder } from '../../src/controller/events.ts';
import { VolumeProvisioner, storageClassName } from '../../src/local/runtime/volume-provisioner.ts';

const api = await startTestApiServer();
const directory = await mkdtemp(join(tmpdir(), 'tessera-volumes-'));
test.after(() => rm(directory, { recursive: true, force: true }));

/** A real client whose list of claims answers a second late, so the volumes' list lands first. */
class ClaimListsLate extends RestClient {
  override async request<T = unknown>(method: string, path: string, options: Parameters<RestClient['request']>[2] = {}): Promise<T> {
    if (method === 'GET' && path === '/api/v1/persistentvolumeclaims') await sleep(1000);
    return super.request<T>(method, path, options);
  }
}

function startProvisioner(client: RestClient): { provisioner: VolumeProvisioner; errors: unknown[] } {
  const errors: unknown[] = [];
  const provisioner = new VolumeProvisioner(client, new EventRecorder(client, 'volume-provisioner-test'), directory, (error) => errors.push(error));
  return { provisioner, errors };
}

async function provisionedVolumes(): Promise<V1PersistentVolume[]> {
  return (await api.client.get<{ items: V1PersistentVolume[] }>('/api/v1/persistentvolumes')).items;
}

test('a restarted provisioner keeps the data of every claim that still exists; a deleted claim loses its volume', async () => {
  const claims = ['data-a', 'data-b', 'data-c'];
  for (const name of claims) {
    await api.client.create('/api/v1/namespaces/default/persistentvolumeclaims', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: { storageClassName, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  }
  const first = startProvisioner(api.client);
  await first.provisioner.start();
  const volumes = await eventually('a volume for each claim', async () => {
    const list = await provisionedVolumes();
    return list.length === claims.length ? list : undefined;
  });
  for (const pv of volumes) await writeFile(join(VolumeProvisioner.pathOf(pv) ?? '', 'history'), `written for ${pv.spec?.claimRef?.name}\n`);
  await first.provisioner.stop();
  assert.deepEqual(first.errors, []);

  // Started again with the claims listed late: stop() waits for every pass it queued.
  const second = startProvisioner(new ClaimListsLate(api.kubeConfig));
  await second.provisioner.start();
  await second.provisioner.stop();
  assert.deepEqual(second.errors, []);
  const kept = await provisionedVolumes();
  assert.deepEqual(kept.map((pv) => pv.metadata?.name).sort(), volumes.map((pv) => pv.metadata?.name).sort(), 'no volume was deleted');
  for (const pv of kept) {
    assert.equal(pv.metadata?.deletionTimestamp, undefined, `${pv.metadata?.name} is not being deleted`);
    assert.equal(await readFile(join(VolumeProvisioner.pathOf(pv) ?? '', 'history'), 'utf8'), `written for ${pv.spec?.claimRef?.name}\n`);
  }

  // The other half of the contract: a claim that is deleted takes its volume and data with it.
  const third = startProvisioner(api.client);
  await third.provisioner.start();
  const gone = kept.find((pv) => pv.spec?.claimRef?.name === 'data-a');
  assert.ok(gone);
  // No controller-manager runs here: its protection controller would drop the claim's finalizer
  // once no pod uses it, and the volume's once it is released; the test does both for it.
  await api.client.delete('/api/v1/namespaces/default/persistentvolumeclaims/data-a');
  await api.client.patch('/api/v1/namespaces/default/persistentvolumeclaims/data-a', { metadata: { finalizers: null } }, 'merge');
  await eventually('the deleted claim\'s volume deleted', async () => {
    try {
      return (await api.client.get<V1PersistentVolume>(`/api/v1/persistentvolumes/${gone.metadata?.name}`)).metadata?.deletionTimestamp !== undefined;
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
  });
  await api.client.patch(`/api/v1/persistentvolumes/${gone.metadata?.name}`, { metadata: { finalizers: null } }, 'merge').catch((error: unknown) => {
    if (!isNotFound(error)) throw error;
  });
  await assert.rejects(access(VolumeProvisioner.pathOf(gone) ?? ''), 'its directory is gone');
  await third.provisioner.stop();
  assert.deepEqual(third.errors, []);
  assert.equal((await provisionedVolumes()).length, claims.length - 1);
});
