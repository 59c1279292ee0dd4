import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILD_PREREQUISITES, installCommand, missingPackages } from './host-prerequisites.ts';

test('missing commands name their Debian packages once each', () => {
  const present = new Set(['ssh', 'runsvdir', 'socat', 'ip', 'findmnt', 'iptables', 'conntrack']);
  assert.deepEqual(missingPackages((command) => present.has(command)), ['openssh-server', 'openssh-client', 'util-linux']);
  assert.deepEqual(missingPackages(() => true), []);
});

test('the fix is one apt-get command', () => {
  assert.equal(installCommand(['openssh-server', 'runit']), 'apt-get update && apt-get install -y --no-install-recommends openssh-server runit');
});

test('build prerequisites that are files (static libraries) are looked up as files', () => {
  const files = new Set(['/usr/lib/x86_64-linux-gnu/libc.a', '/usr/share/doc/busybox-static']);
  assert.deepEqual(missingPackages(() => true, BUILD_PREREQUISITES, (path) => files.has(path)), ['libseccomp-dev']);
});
