import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { binaryNameOf } from './go-build.ts';
import {
  COMPONENTS,
  DEFAULT_KUBERNETES_VERSION,
  ETCD_VERSION,
  etcdVersionFor,
  KUBERNETES_VERSIONS,
  KWOK_VERSION,
  pinFor,
  UPSTREAM_MODULES_DIR,
} from './versions.ts';

const linuxAmd64 = { os: 'linux', arch: 'x64' } as const;

function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  return (left[0]! - right[0]!) * 1e6 + (left[1]! - right[1]!) * 1e3 + (left[2]! - right[2]!);
}

void test('Kubernetes versions are listed newest first, two consecutive minors, and the default is the newest', () => {
  assert.equal(DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS[0]);
  assert.ok(compareVersions(KUBERNETES_VERSIONS[0], KUBERNETES_VERSIONS[1]) > 0);
  const minors = KUBERNETES_VERSIONS.map((version) => Number(version.split('.')[1]));
  assert.equal(minors[0]! - minors[1]!, 1);
});

void test('every pinned Kubernetes version runs with the pinned etcd', () => {
  for (const version of KUBERNETES_VERSIONS) {
    assert.equal(etcdVersionFor(version), ETCD_VERSION);
    assert.equal(pinFor('etcd', version).version, ETCD_VERSION);
  }
  assert.throws(() => etcdVersionFor('1.20.0'), /ETCD_VERSION_BY_KUBERNETES_MINOR/);
});

void test('an unpinned Kubernetes version is refused with the pinned ones named', () => {
  assert.throws(() => pinFor('kubectl', '1.30.0'), /1\.37\.2, 1\.36\.3/);
});

void test('go build names every component binary after the component', () => {
  for (const version of KUBERNETES_VERSIONS) {
    for (const component of COMPONENTS) {
      assert.equal(binaryNameOf(pinFor(component, version).build.goPackage), component);
    }
  }
});

void test('each Kubernetes wrapper module pins that release and replaces every staging module with the same release', async () => {
  for (const version of KUBERNETES_VERSIONS) {
    const pin = pinFor('kube-apiserver', version);
    const goMod = await readFile(join(UPSTREAM_MODULES_DIR, pin.build.moduleDir, 'go.mod'), 'utf8');
    assert.match(goMod, new RegExp(`^require k8s\\.io/kubernetes v${version.replaceAll('.', '\\.')}$`, 'm'));
    const staging = `v0.${version.split('.').slice(1).join('.')}`;
    const replaces = [...goMod.matchAll(/^\t(k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
    assert.ok(replaces.length >= 30, `${pin.build.moduleDir}/go.mod replaces the staging modules`);
    for (const [, from, to, target] of replaces) {
      assert.equal(to, from);
      assert.equal(target, staging, `${from} in ${pin.build.moduleDir}/go.mod`);
    }
  }
});

void test('the etcd and kwok wrapper modules require the pinned releases', async () => {
  const etcd = await readFile(join(UPSTREAM_MODULES_DIR, pinFor('etcd', DEFAULT_KUBERNETES_VERSION).build.moduleDir, 'go.mod'), 'utf8');
  assert.match(etcd, new RegExp(`go\\.etcd\\.io/etcd/server/v3 v${ETCD_VERSION}\\b`));
  assert.match(etcd, new RegExp(`go\\.etcd\\.io/etcd/etcdctl/v3 v${ETCD_VERSION}\\b`));
  // etcd's --version prints api/v3/version.Version, which is the api module's release.
  assert.match(etcd, new RegExp(`go\\.etcd\\.io/etcd/api/v3 v${ETCD_VERSION}\\b`));
  const kwok = await readFile(join(UPSTREAM_MODULES_DIR, pinFor('kwok', DEFAULT_KUBERNETES_VERSION).build.moduleDir, 'go.mod'), 'utf8');
  assert.match(kwok, new RegExp(`sigs\\.k8s\\.io/kwok v${KWOK_VERSION}\\b`));
});

void test('Kubernetes builds stamp the version into both the server and the client version packages', () => {
  const { ldflags } = pinFor('kubectl', '1.36.3').build;
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    assert.ok(ldflags.includes(`-X ${pkg}.gitVersion=v1.36.3`));
    assert.ok(ldflags.includes(`-X ${pkg}.gitMajor=1`));
    assert.ok(ldflags.includes(`-X ${pkg}.gitMinor=36`));
  }
});

void test('release downloads point at the official artifacts and their published checksums', () => {
  assert.deepEqual(pinFor('kube-scheduler', '1.37.2', linuxAmd64).release, {
    url: 'https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kube-scheduler',
    checksum: { kind: 'sha256-file', url: 'https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kube-scheduler.sha256' },
  });
  assert.deepEqual(pinFor('etcdctl', '1.37.2', { os: 'linux', arch: 'arm64' }).release, {
    url: `https://github.com/etcd-io/etcd/releases/download/v${ETCD_VERSION}/etcd-v${ETCD_VERSION}-linux-arm64.tar.gz`,
    checksum: {
      kind: 'sha256sums',
      url: `https://github.com/etcd-io/etcd/releases/download/v${ETCD_VERSION}/SHA256SUMS`,
      entry: `etcd-v${ETCD_VERSION}-linux-arm64.tar.gz`,
    },
    archiveMember: `etcd-v${ETCD_VERSION}-linux-arm64/etcdctl`,
  });
  assert.equal(pinFor('kwok', '1.37.2', linuxAmd64).release?.url, `https://github.com/kubernetes-sigs/kwok/releases/download/v${KWOK_VERSION}/kwok-linux-amd64`);
});

void test('platforms without official binaries have no release and are built instead', () => {
  for (const component of COMPONENTS) {
    assert.equal(pinFor(component, DEFAULT_KUBERNETES_VERSION, { os: 'darwin', arch: 'arm64' }).release, undefined);
    assert.equal(pinFor(component, DEFAULT_KUBERNETES_VERSION, { os: 'linux', arch: 'riscv64' }).release, undefined);
  }
});
