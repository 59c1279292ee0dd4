import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderClusterInfo } from './cluster-info.ts';
import type { GuestObject } from './guest-object.ts';

// A real CA certificate, made by openssl, so the renderer's PEM check sees the real thing.
function makeCaPem(): string {
  const directory = mkdtempSync(join(tmpdir(), 'tessera-cluster-info-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=guest-ca', '-keyout', join(directory, 'ca.key'), '-out', join(directory, 'ca.crt')], { stdio: 'ignore' });
    return readFileSync(join(directory, 'ca.crt'), 'utf8');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const caCertPem = makeCaPem();
const server = 'https://shop-kube-apiserver.tenants.svc:6443';

test('cluster-info is a ConfigMap in kube-public whose kubeconfig holds the server and CA, and no user', () => {
  const configMap = renderClusterInfo({ server, caCertPem }) as GuestObject & { data: Record<string, string> };
  assert.equal(configMap.kind, 'ConfigMap');
  assert.deepEqual([configMap.metadata.namespace, configMap.metadata.name], ['kube-public', 'cluster-info']);
  const kubeconfig = parse(configMap.data['kubeconfig'] ?? '') as {
    clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
    users: unknown[];
    contexts: unknown[];
  };
  // kubeadm join takes the cluster named "" first.
  assert.equal(kubeconfig.clusters.length, 1);
  assert.equal(kubeconfig.clusters[0]?.name, '');
  assert.equal(kubeconfig.clusters[0]?.cluster.server, server);
  assert.equal(Buffer.from(kubeconfig.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString('utf8'), caCertPem);
  assert.deepEqual(kubeconfig.users, []);
  assert.deepEqual(kubeconfig.contexts, []);
  assert.doesNotMatch(configMap.data['kubeconfig'] ?? '', /token|client-key/);
});

test('cluster-info refuses a plain-http server or a CA that is not a certificate', () => {
  assert.throws(() => renderClusterInfo({ server: 'http://10.0.0.1:6443', caCertPem }), /endpoint\.server .* must use https/);
  assert.throws(() => renderClusterInfo({ server, caCertPem: 'not a pem' }), /endpoint\.caCertPem is not a PEM certificate/);
});
