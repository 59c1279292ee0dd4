import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderJoinSteps, type NodePackages } from './join-steps.ts';
import type { PackageArtifact } from './package-manifest.ts';
import { findPackage, installDir } from './catalogue.ts';

function artifact(name: string, version: string): PackageArtifact {
  const definition = findPackage(name, version);
  return {
    manifest: { format: 'tessera.dev/package-manifest/v1', recipe: 2, ...definition, os: 'linux', arch: 'amd64', installDir: installDir(name, version), files: [], source: [] },
    archive: `/cache/packages/${name}-${version}.tar.gz`,
    sha256: 'a'.repeat(64),
    size: 1,
  };
}

const packages: NodePackages = {
  runc: artifact('runc', '1.5.3'),
  cniPlugins: artifact('cni-plugins', '1.10.0'),
  containerd: artifact('containerd', '2.4.2'),
  kubelet: artifact('kubelet', '1.37.2'),
  images: [artifact('pause', '3.10.2'), artifact('kube-proxy', '1.37.2')],
};
const steps = renderJoinSteps(packages, {
  nodeName: 'w1',
  nodeIP: '10.240.0.6',
  labels: { 'topology.kubernetes.io/zone': 'zone-a' },
  cgroupRoot: '/tessera/abc/w1',
  server: 'https://127.108.22.250:6443',
  caPem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n',
  bootstrapToken: 'abcdef.0123456789abcdef',
  clusterDNS: '10.96.0.10',
  clusterDomain: 'cluster.local',
  sandboxImage: 'registry.k8s.io/pause:3.10.2',
  podSubnet: '10.244.1.0/24',
});
const position = (prefix: string): number => steps.findIndex((step) => step.name.startsWith(prefix));

test('every package is uploaded and verified before anything runs, each to its own path', () => {
  const installs = steps.filter((step) => step.upload);
  assert.deepEqual(installs.map((step) => step.name), ['install runc 1.5.3', 'install cni-plugins 1.10.0', 'install containerd 2.4.2', 'install kubelet 1.37.2', 'install pause 3.10.2', 'install kube-proxy 1.37.2']);
  assert.ok(installs.every((step) => step.upload?.remotePath.startsWith('/var/lib/tessera/uploads/')));
  assert.ok(steps.indexOf(installs.at(-1)!) < position('configure and start containerd'));
});

test('containerd runs before images are imported, and the pod network exists before the kubelet starts', () => {
  assert.ok(position('configure and start containerd') < position('import pause'));
  assert.ok(position('import kube-proxy') < position('configure and start the kubelet'));
  assert.ok(position('pod network 10.244.1.0/24') < position('configure and start the kubelet'));
  assert.equal(steps.at(-1)?.name, 'configure and start the kubelet');
});

test('the kubelet joins with the bootstrap token, its node address, zone label and the host\'s cgroup', () => {
  const kubelet = steps.at(-1)?.script ?? '';
  assert.match(kubelet, /token: abcdef\.0123456789abcdef/);
  assert.match(kubelet, /--node-ip=10\.240\.0\.6/);
  assert.match(kubelet, /--node-labels=topology\.kubernetes\.io\/zone=zone-a/);
  assert.match(kubelet, /cgroupRoot: \/tessera\/abc\/w1/);
  assert.match(kubelet, /server: https:\/\/127\.108\.22\.250:6443/);
});
