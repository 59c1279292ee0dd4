// Integration: a real kube-apiserver stands in for a guest. Everything Tessera renders into a
// guest is applied, validated by the real server, read anonymously where it must be, re-applied
// at no cost, and pruned when an addon is disabled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { createHash } from 'node:crypto';
import { startTestApiServer } from '../../../../test/harness/api-server.ts';
import { isNotFound, type RestClient } from '../../../controller/rest-client.ts';
import { ADDON_LABEL } from './addons/addon-set.ts';
import { applyGuestObjects, applyTiers, forgetGuestApplyState, guestCollectionPath, guestObjectPath, pruneGuestObjects } from './apply-to-guest.ts';
import { generateBootstrapToken, parseBootstrapTokenSecret } from './bootstrap-token.ts';
import type { GuestClusterSpec, GuestEndpoint } from './guest-cluster-spec.ts';
import { guestObjectKey, type GuestObject } from './guest-object.ts';
import { renderGuestObjects } from './guest-objects.ts';

const api = await startTestApiServer();
const fieldManager = 'tessera-guest-test';

const caData = api.kubeConfig.getCurrentCluster()?.caData;
assert.ok(caData, 'the harness kubeconfig carries its CA inline');
const endpoint: GuestEndpoint = { server: api.url, caCertPem: Buffer.from(caData, 'base64').toString('utf8') };

// The Service IP range of this API server, from its default ServiceCIDR object, so the rendered
// kube-dns clusterIP falls inside it as it does in a real guest.
const serviceCidrObject = await api.client.get<{ spec: { cidrs: string[] } }>('/apis/networking.k8s.io/v1/servicecidrs/kubernetes');
const serviceCIDR = serviceCidrObject.spec.cidrs[0];
assert.ok(serviceCIDR);

const spec: GuestClusterSpec = {
  version: '1.37.2',
  network: { podCIDR: '10.244.0.0/16', serviceCIDR, proxyMode: 'ipvs', clusterDomain: 'guest.local' },
};
const clock = new Date('2026-03-01T12:00:00Z');
let counter = 0;
const token = generateBootstrapToken({ random: (size) => createHash('sha512').update(`apply-to-guest:${counter++}`).digest().subarray(0, size), now: clock, ttlMs: 10 * 365 * 24 * 3600_000 });

function totalRequests(client: RestClient): number {
  return [...client.requestCounts.values()].reduce((sum, count) => sum + count, 0);
}

async function exists(object: GuestObject): Promise<boolean> {
  try {
    await api.client.get(guestObjectPath(object));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function anonymousGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // Only the CA: no client certificate, no token.
    const req = request(new URL(path, api.url), { ca: endpoint.caCertPem, headers: { accept: 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('paths: core and group kinds, namespaced and cluster-scoped', () => {
  assert.equal(guestObjectPath({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' } }), '/api/v1/namespaces/kube-system/configmaps/coredns');
  assert.equal(guestObjectPath({ kind: 'ClusterRoleBinding', metadata: { name: 'system:coredns' } }), '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system%3Acoredns');
  assert.equal(guestObjectPath({ kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system' } }), '/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy');
  assert.equal(guestObjectPath({ kind: 'Namespace', metadata: { name: 'kube-public' } }), '/api/v1/namespaces/kube-public');
  assert.equal(guestCollectionPath('Deployment'), '/apis/apps/v1/deployments');
  assert.throws(() => guestObjectPath({ kind: 'Deployment', metadata: { name: 'x' } }), /metadata\.namespace is required/);
  assert.throws(() => guestObjectPath({ kind: 'Pod', metadata: { name: 'x', namespace: 'y' } }), /kind "Pod" is not one Tessera applies; add it to GUEST_KINDS/);
  assert.throws(() => guestObjectPath({ apiVersion: 'extensions/v1beta1', kind: 'Deployment', metadata: { name: 'x', namespace: 'y' } }), /apiVersion "extensions\/v1beta1" is not the served apps\/v1/);
});

test('apply order: ServiceAccounts and RBAC, then ConfigMaps and Secrets, then Services, then workloads', () => {
  const tiers = applyTiers(renderGuestObjects(spec, endpoint, token)).map((tier) => [...new Set(tier.map((object) => object.kind))].sort().join('+'));
  assert.deepEqual(tiers, ['ServiceAccount', 'ClusterRole+Role', 'ClusterRoleBinding+RoleBinding', 'ConfigMap+Secret', 'Service', 'DaemonSet+Deployment']);
});

test('everything rendered for a guest is accepted by a real API server, and cluster-info is readable anonymously', async () => {
  const objects = renderGuestObjects(spec, endpoint, token);
  const result = await applyGuestObjects(api.client, objects, fieldManager);
  assert.deepEqual(result, { applied: objects.length, skipped: false });
  for (const object of objects) assert.ok(await exists(object), `${guestObjectKey(object)} exists`);

  const dns = await api.client.get<{ spec: { clusterIP: string } }>('/api/v1/namespaces/kube-system/services/kube-dns');
  assert.equal(dns.spec.clusterIP, serviceCIDR.replace(/\.0\/\d+$/, '.10'));
  const tokenSecret = await api.client.get<Parameters<typeof parseBootstrapTokenSecret>[0]>(`/api/v1/namespaces/kube-system/secrets/bootstrap-token-${token.id}`);
  assert.deepEqual(parseBootstrapTokenSecret(tokenSecret), token);

  const clusterInfo = await anonymousGet('/api/v1/namespaces/kube-public/configmaps/cluster-info');
  assert.equal(clusterInfo.status, 200, clusterInfo.body);
  assert.match((JSON.parse(clusterInfo.body) as { data: { kubeconfig: string } }).data.kubeconfig, /certificate-authority-data/);
  // The anonymous rule is for that one ConfigMap only.
  await api.client.create('/api/v1/namespaces/kube-public/configmaps', { metadata: { name: 'not-public' }, data: { a: 'b' } });
  assert.equal((await anonymousGet('/api/v1/namespaces/kube-public/configmaps/not-public')).status, 403);
  assert.equal((await anonymousGet('/api/v1/namespaces/kube-public/configmaps')).status, 403);
});

test('a converged guest costs zero requests: the same set again is neither applied nor pruned', async () => {
  const objects = renderGuestObjects(spec, endpoint, token);
  await applyGuestObjects(api.client, objects, fieldManager);
  await pruneGuestObjects(api.client, objects, ADDON_LABEL);
  const before = totalRequests(api.client);
  // Rendered afresh, as each reconcile does: equal content, new object identities.
  const again = renderGuestObjects(spec, endpoint, token);
  assert.deepEqual(await applyGuestObjects(api.client, again, fieldManager), { applied: 0, skipped: true });
  assert.deepEqual(await pruneGuestObjects(api.client, again, ADDON_LABEL), { deleted: [], skipped: true });
  assert.equal(totalRequests(api.client), before);

  // Forgetting the state sends the set again; the server treats identical content as a no-op.
  const configMap = await api.client.get<{ metadata: { resourceVersion: string } }>('/api/v1/namespaces/kube-system/configmaps/coredns');
  const beforeForced = totalRequests(api.client);
  forgetGuestApplyState(api.client);
  assert.deepEqual(await applyGuestObjects(api.client, again, fieldManager), { applied: again.length, skipped: false });
  assert.equal(totalRequests(api.client), beforeForced + again.length);
  const after = await api.client.get<{ metadata: { resourceVersion: string } }>('/api/v1/namespaces/kube-system/configmaps/coredns');
  assert.equal(after.metadata.resourceVersion, configMap.metadata.resourceVersion);
});

test('disabling kube-proxy prunes its objects and leaves CoreDNS and unmanaged objects alone', async () => {
  const everything = renderGuestObjects(spec, endpoint, token);
  await applyGuestObjects(api.client, everything, fieldManager);
  // Carries the addon label but was not made by Tessera: pruning must not touch it.
  await api.client.create('/api/v1/namespaces/kube-system/configmaps', { metadata: { name: 'user-notes', labels: { [ADDON_LABEL]: 'kube-proxy' } } });

  const withoutProxy = renderGuestObjects({ ...spec, addons: [{ name: 'kube-proxy', enabled: false }] }, endpoint, token);
  await applyGuestObjects(api.client, withoutProxy, fieldManager);
  const pruned = await pruneGuestObjects(api.client, withoutProxy, ADDON_LABEL);
  assert.deepEqual(pruned, {
    deleted: ['ClusterRoleBinding kubeadm:node-proxier', 'ConfigMap kube-system/kube-proxy', 'DaemonSet kube-system/kube-proxy', 'ServiceAccount kube-system/kube-proxy'],
    skipped: false,
  });
  const proxyObjects = everything.filter((object) => object.metadata.labels?.[ADDON_LABEL] === 'kube-proxy');
  assert.equal(proxyObjects.length, 4);
  for (const object of proxyObjects) assert.equal(await exists(object), false, `${guestObjectKey(object)} is gone`);
  for (const object of withoutProxy) assert.ok(await exists(object), `${guestObjectKey(object)} stays`);
  assert.ok(await exists({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'user-notes', namespace: 'kube-system' } }));

  // Enabling it again brings everything back.
  await applyGuestObjects(api.client, everything, fieldManager);
  for (const object of proxyObjects) assert.ok(await exists(object), `${guestObjectKey(object)} is back`);
});

test('an empty prune selector is refused: it would select every Tessera object', async () => {
  await assert.rejects(pruneGuestObjects(api.client, [], ' '), /labelSelector is required/);
});
