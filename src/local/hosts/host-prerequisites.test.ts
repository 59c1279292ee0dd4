import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installCommand, missingPackages } from './host-prerequisites.ts';

test('missing commands name their Debian packages once each', () => {
  const present = new Set(['ssh', 'runsvdir', 'socat', 'ip', 'findmnt', 'iptables', 'conntrack']);
  assert.deepEqual(missingPackages((command) => present.has(command)), ['openssh-server', 'openssh-client', 'util-linux']);
  assert.deepEqual(missingPackages(() => true), []);
});

test('the fix is one apt-get command', () => {
  assert.equal(installCommand(['openssh-server', 'runit']), 'apt-get update && apt-get install -y --no-install-recommends openssh-server runit');
});
