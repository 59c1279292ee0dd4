import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostKeyFingerprint } from './local-hosts.ts';

test('host key fingerprints match what ssh-keygen -l prints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
    const publicKey = readFileSync(join(dir, 'key.pub'), 'utf8');
    const printed = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'key.pub')], { encoding: 'utf8' }).split(' ')[1];
    assert.equal(hostKeyFingerprint(publicKey), printed);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
