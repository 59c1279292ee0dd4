import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMachineManifests } from './machine-manifest.ts';
import type { HostRecord } from './host-layout.ts';

const host: HostRecord = {
  name: 'w1',
  zone: 'zone-b',
  index: 1,
  vpcAddress: '10.240.0.6',
  sshAddress: '127.204.0.2',
  sshPort: 22,
  hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIQyC1sBg2hASb96F9p+sHyQow+YO6Mvs5+mvxjiqd3z',
  createdAt: '2026-12-06T12:00:00Z',
};

test('a host becomes an ssh-auth Secret and a Machine that pins its host key', () => {
  const [secret, machine] = renderMachineManifests(host, '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----', { clusterName: 'shop', namespace: 'teams' });
  assert.equal(secret.type, 'kubernetes.io/ssh-auth');
  assert.equal(secret.metadata.namespace, 'teams');
  assert.ok(secret.stringData['ssh-privatekey'].endsWith('-----\n'), 'the key ends with a newline, as OpenSSH requires');
  assert.deepEqual(machine.spec, {
    clusterName: 'shop',
    address: '127.204.0.2',
    port: 22,
    hostname: 'w1',
    zone: 'zone-b',
    ssh: { user: 'root', privateKeySecretRef: { name: secret.metadata.name }, hostKey: host.hostKey },
  });
  assert.equal(machine.metadata.labels['tessera.dev/cluster'], 'shop');
});

test('without a cluster the Machine names none and kubectl picks the namespace', () => {
  const [secret, machine] = renderMachineManifests(host, 'key\n', {});
  assert.equal('clusterName' in machine.spec, false);
  assert.equal('namespace' in machine.metadata, false);
  assert.equal('namespace' in secret.metadata, false);
  assert.equal(machine.metadata.labels['tessera.dev/cluster'], undefined);
});
