// The real upstream binaries: every pinned component, for every pinned Kubernetes version,
// reports the version Tessera pins. ensureBinaries builds whatever is not cached yet (`npm test`
// has already run `tessera binaries ensure` for the default version; the previous minor is
// built here on a cold machine, since later tests upgrade from it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { binaryVersion, ensureBinaries } from '../../src/local/binaries/resolve.ts';
import type { ProgressEvent } from '../../src/local/binaries/resolve.ts';
import { COMPONENTS, DEFAULT_KUBERNETES_VERSION, ETCD_VERSION, KUBERNETES_VERSIONS, KWOK_VERSION, pinFor } from '../../src/local/binaries/versions.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let lastProgress = 0;
function showProgress(event: ProgressEvent): void {
  // A cold build takes many minutes: keep the test log alive without flooding it.
  if (event.kind === 'progress' && Date.now() - lastProgress < 30_000) return;
  lastProgress = Date.now();
  process.stderr.write(`[binaries] ${event.message}\n`);
}

for (const kubernetesVersion of KUBERNETES_VERSIONS) {
  void test(`every pinned binary for Kubernetes ${kubernetesVersion} reports its pinned version`, async () => {
    const paths = await ensureBinaries({ kubernetesVersion, components: COMPONENTS, onProgress: showProgress });
    for (const component of COMPONENTS) {
      assert.equal(await binaryVersion(paths[component], component), pinFor(component, kubernetesVersion).version, `${component} at ${paths[component]}`);
    }
    const { stdout: apiserver } = await run(paths['kube-apiserver'], ['--version']);
    assert.equal(apiserver.trim(), `Kubernetes v${kubernetesVersion}`);
    const { stdout: kubectl } = await run(paths.kubectl, ['version', '--client', '-o', 'json']);
    const client = (JSON.parse(kubectl) as { clientVersion: { gitVersion: string; major: string; minor: string } }).clientVersion;
    assert.deepEqual([client.gitVersion, client.major, client.minor], [`v${kubernetesVersion}`, ...kubernetesVersion.split('.').slice(0, 2)]);
  });
}

void test('etcd and kwok are the pinned releases', async () => {
  const paths = await ensureBinaries({ components: ['etcd', 'etcdctl', 'kwok'], onProgress: showProgress });
  const { stdout: etcd } = await run(paths.etcd, ['--version']);
  assert.match(etcd, new RegExp(`^etcd Version: ${ETCD_VERSION.replaceAll('.', '\\.')}$`, 'm'));
  const { stdout: kwok } = await run(paths.kwok, ['--version']);
  assert.match(kwok, new RegExp(`^kwok version v${KWOK_VERSION.replaceAll('.', '\\.')} `));
});

void test('with everything cached, `tessera binaries ensure` answers from the cache in seconds', async () => {
  await ensureBinaries({ components: COMPONENTS, onProgress: showProgress });
  const started = Date.now();
  const { stdout } = await run(process.execPath, [cli, 'binaries', 'ensure']);
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  const rows = stdout.trim().split('\n').slice(1);
  assert.deepEqual(rows.map((row) => row.split(/\s+/)[0]).sort(), [...COMPONENTS].sort());
  for (const row of rows) {
    const [component, version, source] = row.split(/\s+/);
    assert.ok(source === 'cache' || source === 'override', row);
    assert.equal(version, pinFor(component as (typeof COMPONENTS)[number], DEFAULT_KUBERNETES_VERSION).version);
  }
});

void test('`tessera binaries list` shows the default version ready', async () => {
  await ensureBinaries({ components: COMPONENTS, onProgress: showProgress });
  const { stdout } = await run(process.execPath, [cli, 'binaries', 'list']);
  const defaultRows = stdout.split('\n').filter((line) => line.startsWith(`${DEFAULT_KUBERNETES_VERSION} (default)`));
  assert.equal(defaultRows.length, COMPONENTS.length);
  for (const row of defaultRows) assert.doesNotMatch(row, /missing/);
});
