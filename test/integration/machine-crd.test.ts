// The Machine and ClusterPackageVersion CRDs on a real kube-apiserver: they install, the API
// server applies defaults and refuses a Machine without a host key, a malformed host key, and a
// change of spec.clusterName, naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { startTestApiServer } from '../harness/api-server.ts';
import { ApiError } from '../../src/controller/rest-client.ts';
import { machineCrdFiles } from '../../src/api/v1alpha1/machine-crds.ts';
import type { Machine } from '../../src/api/v1alpha1/machine.ts';

const api = await startTestApiServer();
const machines = '/apis/tessera.dev/v1alpha1/namespaces/default/machines';
const hostKey = `ssh-ed25519 ${Buffer.from('a host key').toString('base64')}`;

for (const { fileName } of machineCrdFiles) {
  const crd = parse(await readFile(new URL(`../../deploy/crds/${fileName}`, import.meta.url), 'utf8')) as { metadata: { name: string } };
  await api.client.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const live = await api.client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
    if (live.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True')) break;
    if (Date.now() > deadline) throw new Error(`${crd.metadata.name} not Established: ${JSON.stringify(live.status)}`);
    await sleep(50);
  }
}

const machine = (name: string, spec: Partial<Omit<Machine['spec'], 'ssh'>> & { ssh?: Partial<Machine['spec']['ssh']> } = {}) => ({
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'Machine',
  metadata: { name },
  spec: { clusterName: 'shop', address: '127.200.0.1', ...spec, ssh: { privateKeySecretRef: { name: 'w1-ssh-key' }, hostKey, ...spec.ssh } },
});

async function assertInvalid(action: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(error instanceof ApiError && error.status === 422, String(error));
    assert.match(error.message, message);
    return true;
  });
}

test('a Machine gets its defaults from the API server (port 22, user root, role worker)', async () => {
  const created = await api.client.create<Machine>(machines, machine('w1'));
  assert.equal(created.spec.port, 22);
  assert.equal(created.spec.ssh.user, 'root');
  assert.equal(created.spec.role, 'worker');
});

test('a Machine without a host key, or with a malformed one, is refused naming spec.ssh.hostKey', async () => {
  const withoutKey = machine('w2') as { spec: { ssh: Record<string, unknown> } };
  delete withoutKey.spec.ssh['hostKey'];
  await assertInvalid(api.client.create(machines, withoutKey), /spec\.ssh\.hostKey: Required value/);
  await assertInvalid(api.client.create(machines, machine('w3', { ssh: { hostKey: 'AAAA-not-a-key' } })), /spec\.ssh\.hostKey must be an OpenSSH public key/);
});

test('spec.clusterName cannot change', async () => {
  await assertInvalid(api.client.patch(`${machines}/w1`, { spec: { clusterName: 'other' } }, 'merge'), /spec\.clusterName is immutable/);
});

test('a taint key must be a label key', async () => {
  await assertInvalid(api.client.create(machines, machine('w4', { taints: [{ key: 'bad key!', effect: 'NoSchedule' }] })), /spec\.taints\[\]\.key must be a label key/);
});

test('a ClusterPackageVersion is accepted with its packages', async () => {
  const created = await api.client.create<{ spec: { packages: unknown[] } }>('/apis/tessera.dev/v1alpha1/namespaces/default/clusterpackageversions', { apiVersion: 'tessera.dev/v1alpha1', kind: 'ClusterPackageVersion', metadata: { name: 'shop' }, spec: { clusterName: 'shop', packages: [{ name: 'kubelet', version: '1.37.2' }] } });
  assert.equal(created.spec.packages.length, 1);
});
