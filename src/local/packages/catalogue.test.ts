import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KUBERNETES_VERSIONS } from '../binaries/versions.ts';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { minorOf, UPSTREAM_MODULES_DIR } from '../binaries/versions.ts';
import { BROKEN_KUBELET_VERSION, catalogue, findPackage, installDir } from '../../node/catalogue.ts';
import { COREDNS_VERSION_BY_KUBERNETES_MINOR, PAUSE_VERSION } from './node-builds.ts';

test('every pinned Kubernetes version has a kubelet and a kube-proxy package', () => {
  for (const version of KUBERNETES_VERSIONS) {
    assert.equal(findPackage('kubelet', version).activation.kind, 'service');
    assert.deepEqual(findPackage('kube-proxy', version).activation, { kind: 'containerd-images', images: [{ reference: `registry.k8s.io/kube-proxy:v${version}`, archive: 'images/kube-proxy.tar' }] });
  }
});

test('CoreDNS and pause versions are the ones kubeadm of each pinned release uses', () => {
  for (const version of KUBERNETES_VERSIONS) {
    const moduleDir = join(UPSTREAM_MODULES_DIR, `kubernetes-node-${minorOf(version)}`);
    const source = execFileSync('go', ['list', '-m', '-f', '{{.Dir}}', 'k8s.io/kubernetes'], { cwd: moduleDir, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } }).trim();
    const constants = readFileSync(join(source, 'cmd', 'kubeadm', 'app', 'constants', 'constants.go'), 'utf8');
    assert.equal(`v${COREDNS_VERSION_BY_KUBERNETES_MINOR[minorOf(version)]}`, /CoreDNSVersion = "([^"]+)"/.exec(constants)?.[1], `CoreDNS for ${version}`);
    assert.equal(PAUSE_VERSION, /PauseVersion = "([^"]+)"/.exec(constants)?.[1], `pause for ${version}`);
    assert.ok(findPackage('coredns', COREDNS_VERSION_BY_KUBERNETES_MINOR[minorOf(version)] ?? ''));
  }
});

test('exactly one package version is broken on purpose, and it says so', () => {
  const broken = catalogue().filter((entry) => entry.broken);
  assert.deepEqual(broken.map((entry) => `${entry.name}@${entry.version}`), [`kubelet@${BROKEN_KUBELET_VERSION}`]);
  assert.match(broken[0]?.broken?.reason ?? '', /health check/);
});

test('packages install under /opt/tessera/<name>/<version>, once per name and version', () => {
  assert.equal(installDir('containerd', '2.4.2'), '/opt/tessera/containerd/2.4.2');
  const keys = catalogue().map((entry) => `${entry.name}@${entry.version}`);
  assert.equal(new Set(keys).size, keys.length);
});

test('what a package requires is in the catalogue', () => {
  const names = new Set(catalogue().map((entry) => entry.name));
  for (const entry of catalogue()) for (const required of entry.requires) assert.ok(names.has(required), `${entry.name} requires ${required}`);
});

test('unknown packages and versions are refused with the known ones named', () => {
  assert.throws(() => findPackage('docker', '1.0'), /package "docker" is not in the catalogue: known packages are .*kubelet/);
  assert.throws(() => findPackage('kubelet', '1.30.0'), /kubelet has no version "1.30.0": known versions are 1\.37\.2, 1\.36\.3/);
});
