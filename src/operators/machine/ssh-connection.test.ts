// The Node operator's SSH client against a real OpenSSH server on loopback with fresh keys.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sshConnector } from './ssh-connection.ts';
import { HostKeyMismatchError, HostUnreachableError, fingerprintOf, type SshTarget } from './host-access.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-ssh-test-'));
const keygen = (name: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
keygen('host_ed25519');
keygen('other_host');
keygen('client');
writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client.pub')));

const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const address = probe.address();
    probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
  });
});
writeFileSync(join(dir, 'sshd_config'), [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_ed25519')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'StrictModes no', 'UsePAM no', `PidFile ${join(dir, 'sshd.pid')}`].join('\n') + '\n');
execFileSync('mkdir', ['-p', '/run/sshd']);
const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
after(() => {
  sshd.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});
// sshd says when it listens; waiting for that line (or its exit, with what it printed) avoids
// guessing how long it takes on a loaded box.
await new Promise<void>((resolve, reject) => {
  let printed = '';
  const timer = setTimeout(() => reject(new Error(`sshd did not report listening within 60 s; it printed: ${printed}`)), 60_000);
  sshd.stderr.setEncoding('utf8');
  sshd.stderr.on('data', (chunk: string) => {
    printed += chunk;
    if (printed.includes('Server listening on')) {
      clearTimeout(timer);
      resolve();
    }
  });
  sshd.once('exit', (code, signal) => {
    clearTimeout(timer);
    reject(new Error(`sshd exited (${signal ?? code}) before listening; it printed: ${printed}`));
  });
});

const hostKey = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim();
const target = (overrides: Partial<SshTarget> = {}): SshTarget => ({ address: '127.0.0.1', port, user: process.env['USER'] ?? 'root', privateKey: readFileSync(join(dir, 'client'), 'utf8'), hostKey, ...overrides });
const connect = sshConnector({ maxConnections: 2 });

test('with the pinned host key it runs scripts, uploads files and reports exit codes', async () => {
  const session = await connect(target());
  try {
    assert.deepEqual(await session.run('echo hello; echo oops >&2; exit 3', 10), { code: 3, stdout: 'hello\n', stderr: 'oops\n' });
    writeFileSync(join(dir, 'payload'), 'package bytes\n');
    await session.upload(join(dir, 'payload'), join(dir, 'uploaded', 'payload.tar.gz'), 10);
    assert.equal(readFileSync(join(dir, 'uploaded', 'payload.tar.gz'), 'utf8'), 'package bytes\n');
  } finally {
    session.close();
  }
});

test('a command is ended on the host after its timeout', async () => {
  const session = await connect(target());
  try {
    const started = Date.now();
    const result = await session.run('sleep 30', 1);
    assert.equal(result.code, 124, 'timeout(1) reports 124');
    assert.ok(Date.now() - started < 10_000);
  } finally {
    session.close();
  }
});

test('a host presenting another key is refused during the handshake, with both fingerprints as ssh-keygen prints them', async () => {
  const other = readFileSync(join(dir, 'other_host.pub'), 'utf8').trim();
  await assert.rejects(connect(target({ hostKey: other })), (error: unknown) => {
    assert.ok(error instanceof HostKeyMismatchError, String(error));
    assert.equal(error.expected, fingerprintOf(other));
    const printed = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'host_ed25519.pub')], { encoding: 'utf8' }).split(' ')[1];
    assert.equal(error.presented, printed);
    return true;
  });
});

test('a port nobody listens on is unreachable, not a key problem', async () => {
  await assert.rejects(connect(target({ port: 1 })), (error: unknown) => error instanceof HostUnreachableError && /ECONNREFUSED/.test(error.message));
});

test('a host that goes silent does not keep its connection slot after the session is closed', { timeout: 30_000 }, async () => {
  // A relay to sshd that can go silent, as a powered-off host does on a real network: it stops
  // passing bytes and never closes, so the client's goodbye is never answered.
  let silent = false;
  const clientSockets: Socket[] = [];
  const relay = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connectTcp({ host: '127.0.0.1', port });
    clientSockets.push(client, upstream);
    client.on('data', (chunk) => { if (!silent) upstream.write(chunk); });
    upstream.on('data', (chunk) => { if (!silent) client.write(chunk); });
    client.on('end', () => { if (!silent) upstream.end(); });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayPort = (relay.address() as AddressInfo).port;
  const single = sshConnector({ maxConnections: 1, closeGraceMs: 300 });
  try {
    const session = await single(target({ port: relayPort }));
    assert.equal((await session.run('echo before', 10)).stdout, 'before\n');
    silent = true;
    session.close();
    // The only slot is free again at once: the next host is reached without waiting.
    const next = await single(target());
    try {
      assert.equal((await next.run('echo after', 10)).stdout, 'after\n');
    } finally {
      next.close();
    }
  } finally {
    for (const socket of clientSockets) socket.destroy();
    relay.close();
  }
});

test('a relay that accepts and never speaks (its host is down) is unreachable once the handshake times out, and the operator lives on', async () => {
  const held: Socket[] = [];
  const mute = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
  const mutePort = (mute.address() as AddressInfo).port;
  const impatient = sshConnector({ connectTimeoutMs: 300 });
  try {
    await assert.rejects(impatient(target({ port: mutePort })), (error: unknown) => error instanceof HostUnreachableError && /handshake/.test(error.message));
    // ssh2 reports the closed socket as a second error; the socket's close is queued before an
    // immediate, so a listener-less 'error' would have ended this process by the time it runs.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    for (const socket of held) socket.destroy();
    mute.close();
  }
});
