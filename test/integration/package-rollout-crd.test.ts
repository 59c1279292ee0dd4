// The PackageRollout CRD on a real kube-apiserver: the checked-in file is the generated one, it
// installs, the API server fills the defaults (canary 1, waves 10% -> 50% -> 100%, maxUnavailable
// 10%, soak, Rollback) and refuses, naming the field: a malformed count or percentage, a check with
// both or neither of http and prometheus, and a change of the package, version or waves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { startTestApiServer } from '../harness/api-server.ts';
import { ApiError } from '../../src/controller/rest-client.ts';
import { packageRolloutCrdFile, type PackageRollout } from '../../src/api/v1alpha1/package-rollout.ts';

const api = await startTestApiServer();
const rollouts = '/apis/tessera.dev/v1alpha1/namespaces/default/packagerollouts';
const crd = parse(await readFile(new URL(`../../deploy/crds/${packageRolloutCrdFile.fileName}`, import.meta.url), 'utf8')) as { metadata: { name: string } };
await api.client.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
for (const deadline = Date.now() + 30_000; ; ) {
  const live = await api.client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
  if (live.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True')) break;
  if (Date.now() > deadline) throw new Error(`${crd.metadata.name} not Established: ${JSON.stringify(live.status)}`);
  await sleep(50);
}

test('the checked-in CRD is the one generated from src/api/v1alpha1/package-rollout.ts', async () => {
  const onDisk = await readFile(new URL(`../../deploy/crds/${packageRolloutCrdFile.fileName}`, import.meta.url), 'utf8');
  assert.ok(onDisk === packageRolloutCrdFile.render(), `deploy/crds/${packageRolloutCrdFile.fileName} is out of date: run \`npm run crds\` and commit the result`);
});

const rollout = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'tessera.dev/v1alpha1', kind: 'PackageRollout', metadata: { name }, spec: { clusterName: 'shop', package: { name: 'kubelet', version: '1.36.3' }, ...spec } });

async function assertInvalid(action: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(error instanceof ApiError && error.status === 422, String(error));
    assert.match(error.message, message);
    return true;
  });
}

test('a PackageRollout gets its defaults from the API server', async () => {
  const created = await api.client.create<PackageRollout>(rollouts, rollout('r1', { verification: {}, drain: {} }));
  assert.equal(created.spec.canary, 1);
  assert.deepEqual(created.spec.waves, ['10%', '50%', '100%']);
  assert.equal(created.spec.maxUnavailable, '10%');
  assert.equal(created.spec.failurePolicy, 'Rollback');
  assert.equal(created.spec.paused, false);
  assert.equal(created.spec.verification?.soak, '2m');
  assert.equal(created.spec.verification?.timeout, '10m');
  assert.equal(created.spec.drain?.policy, 'Auto');
});

test('counts and percentages are checked: 2, "50%" pass; "150%", "ten" and -1 are refused naming the field', async () => {
  await api.client.create(rollouts, rollout('r2', { canary: 2, waves: ['50%', 4], maxUnavailable: '25%' }));
  await assertInvalid(api.client.create(rollouts, rollout('r3', { waves: ['150%'] })), /spec\.waves\[\] must be a count such as 1 or a percentage/);
  await assertInvalid(api.client.create(rollouts, rollout('r4', { canary: 'ten' })), /spec\.canary must be a count/);
  await assertInvalid(api.client.create(rollouts, rollout('r5', { maxUnavailable: -1 })), /spec\.maxUnavailable must be a count/);
});

test('a check declares exactly one of http or prometheus', async () => {
  await api.client.create(rollouts, rollout('r6', { verification: { checks: [{ name: 'up', http: { url: 'http://127.0.0.1:9/healthz' } }] } }));
  await assertInvalid(api.client.create(rollouts, rollout('r7', { verification: { checks: [{ name: 'both', http: { url: 'http://a' }, prometheus: { url: 'http://b', query: 'up' } }] } })), /set exactly one of http or prometheus/);
  await assertInvalid(api.client.create(rollouts, rollout('r8', { verification: { checks: [{ name: 'neither' }] } })), /set exactly one of http or prometheus/);
  await assertInvalid(api.client.create(rollouts, rollout('r9', { verification: { checks: [{ name: 'ftp', http: { url: 'ftp://a' } }] } })), /must start with http:\/\/ or https:\/\//);
});

test('the package, version, waves and canary cannot change; pause and maxUnavailable can', async () => {
  const path = `${rollouts}/r1`;
  await assertInvalid(api.client.patch(path, { spec: { package: { version: '1.37.2' } } }, 'merge'), /spec\.package is immutable/);
  await assertInvalid(api.client.patch(path, { spec: { waves: ['100%'] } }, 'merge'), /spec\.waves is immutable/);
  await assertInvalid(api.client.patch(path, { spec: { canary: 3 } }, 'merge'), /spec\.canary is immutable/);
  const paused = await api.client.patch<PackageRollout>(path, { spec: { paused: true, maxUnavailable: 2 } }, 'merge');
  assert.equal(paused.spec.paused, true);
  assert.equal(paused.spec.maxUnavailable, 2);
});

test('status takes a phase "Wave k of n" and refuses one that is not a phase', async () => {
  const status = `${rollouts}/r1/status`;
  const written = await api.client.patch<PackageRollout>(status, { status: { phase: 'Wave 2 of 3' } }, 'merge');
  assert.equal(written.status?.phase, 'Wave 2 of 3');
  await assertInvalid(api.client.patch(status, { status: { phase: 'Sideways' } }, 'merge'), /status\.phase/);
});
