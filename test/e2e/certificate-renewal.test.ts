// Certificates that live minutes: the operator renews them inside the renewal window and rolls
// the control plane onto them, and the guest answers /readyz through its Service throughout.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MetaClusterCli, eventually } from '../harness/meta-cluster-cli.ts';
import { credentialsFromKubeconfig, probeReadyz } from '../../src/operators/cluster/guest-access.ts';

const cluster = await MetaClusterCli.create(8);
after(() => cluster.destroy());

/** The notAfter of the certificate the guest's API server presents. */
function servedNotAfter(endpoint: string, caPem: string): Promise<string> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: caPem, servername: undefined }, () => {
      const notAfter = socket.getPeerCertificate().valid_to;
      socket.end();
      resolve(notAfter);
    });
    socket.on('error', reject);
  });
}

test('a Standard guest with certificates valid for minutes stays Ready across two renewals', { timeout: 900_000 }, async () => {
  const up = await cluster.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  const file = join(cluster.home, 'short-lived.yaml');
  await writeFile(file, 'apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: short}\nspec:\n  version: "1.37.2"\n  mode: Standard\n  certificates: {validity: "4m", renewBefore: "2m30s"}\n');
  await cluster.kubectl('apply', '-f', file);
  type Status = { status?: { endpoint?: string; certificates?: { notAfter?: string }; conditions?: { type: string; status: string }[] } };
  const ready = await eventually('short Ready', async () => {
    const object = await cluster.kubectlJson<Status>('get', 'cluster', 'short');
    return object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? object : undefined;
  }, 240_000, 500);
  const secret = await cluster.kubectlJson<{ data: Record<string, string> }>('get', 'secret', 'short-admin-kubeconfig');
  const credentials = credentialsFromKubeconfig(Buffer.from(secret.data['kubeconfig'] ?? '', 'base64').toString('utf8'));
  const endpoint = ready.status?.endpoint ?? '';

  const served = new Set<string>([await servedNotAfter(endpoint, credentials.caCertPem)]);
  const failures: string[] = [];
  const deadline = Date.now() + 600_000;
  // Watch until the API server has served three different certificates (two renewals).
  while (served.size < 3 && Date.now() < deadline) {
    const probe = await probeReadyz(endpoint, credentials);
    if (!probe.ready) failures.push(`${new Date().toISOString()} ${probe.detail}`);
    served.add(await servedNotAfter(endpoint, credentials.caCertPem).catch(() => [...served][0] ?? ''));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.ok(served.size >= 3, `the API server served renewed certificates: ${[...served].join(', ')}`);
  assert.deepEqual(failures, [], 'the guest answered /readyz throughout');
  const events = await cluster.kubectl('get', 'events', '--field-selector', 'involvedObject.name=short');
  assert.match(events, /CertificateRenewed/);
});
