import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADDON_LABEL, renderAddons, resolveAddons } from './addon-set.ts';
import type { GuestClusterSpec } from '../guest-cluster-spec.ts';

const spec: GuestClusterSpec = {
  version: '1.37.2',
  network: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', proxyMode: 'iptables', clusterDomain: 'cluster.local' },
};
const endpoint = { server: 'https://shop-kube-apiserver.tenants.svc:6443', caCertPem: 'unused by addons' };

test('by default CoreDNS (at the kubeadm version) and kube-proxy (at the guest version) are enabled', () => {
  assert.deepEqual(resolveAddons(spec), [
    { name: 'coredns', version: '1.14.6' },
    { name: 'kube-proxy', version: '1.37.2' },
  ]);
  assert.deepEqual(resolveAddons({ ...spec, version: '1.36.3' }), [
    { name: 'coredns', version: '1.14.2' },
    { name: 'kube-proxy', version: '1.36.3' },
  ]);
});

test('spec.addons overrides a version or disables an addon, and leaves the others at their defaults', () => {
  assert.deepEqual(resolveAddons({ ...spec, addons: [{ name: 'coredns', version: '1.14.2' }] }), [
    { name: 'coredns', version: '1.14.2' },
    { name: 'kube-proxy', version: '1.37.2' },
  ]);
  assert.deepEqual(resolveAddons({ ...spec, addons: [{ name: 'kube-proxy', enabled: false }] }), [{ name: 'coredns', version: '1.14.6' }]);
});

test('unknown, repeated or v-prefixed addon entries are refused naming the entry', () => {
  assert.throws(() => resolveAddons({ ...spec, addons: [{ name: 'metrics-server' }] }), /spec\.addons\[0\]\.name "metrics-server" is not an addon/);
  assert.throws(() => resolveAddons({ ...spec, addons: [{ name: 'coredns' }, { name: 'coredns' }] }), /spec\.addons\[1\]\.name coredns is listed twice/);
  assert.throws(() => resolveAddons({ ...spec, addons: [{ name: 'coredns', version: 'v1.14.6' }] }), /spec\.addons\[0\]\.version "v1\.14\.6" must be major\.minor\.patch/);
});

test('every addon object carries tessera.dev/addon=<addon> so a removed addon can be pruned', () => {
  const objects = renderAddons(spec, endpoint);
  const byAddon = new Map<string, string[]>();
  for (const object of objects) {
    const addon = object.metadata.labels?.[ADDON_LABEL];
    assert.ok(addon, `${object.kind} ${object.metadata.name} has the addon label`);
    assert.equal(object.metadata.labels?.['app.kubernetes.io/managed-by'], 'tessera');
    byAddon.set(addon, [...(byAddon.get(addon) ?? []), `${object.kind}/${object.metadata.name}`]);
  }
  assert.deepEqual(byAddon.get('kube-proxy'), ['ServiceAccount/kube-proxy', 'ClusterRoleBinding/kubeadm:node-proxier', 'ConfigMap/kube-proxy', 'DaemonSet/kube-proxy']);
  assert.equal(byAddon.get('coredns')?.length, 6);
  const withoutProxy = renderAddons({ ...spec, addons: [{ name: 'kube-proxy', enabled: false }] }, endpoint);
  assert.ok(withoutProxy.every((object) => object.metadata.labels?.[ADDON_LABEL] === 'coredns'));
});
