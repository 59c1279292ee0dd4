import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { exchangeUdp, nameserversFromResolvConf, parseDnsUpstream, readHostNameservers } from './dns-upstream.ts';

void test('parses nameserver addresses with and without a port', () => {
  assert.deepEqual(parseDnsUpstream('10.0.0.2'), { host: '10.0.0.2', port: 53 });
  assert.deepEqual(parseDnsUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  assert.deepEqual(parseDnsUpstream('2001:db8::1'), { host: '2001:db8::1', port: 53 });
  assert.deepEqual(parseDnsUpstream('[2001:db8::1]:5300'), { host: '2001:db8::1', port: 5300 });
  assert.throws(() => parseDnsUpstream('dns.example.com'), /expected an IP address/);
  assert.throws(() => parseDnsUpstream('10.0.0.2:70000'), /port must be 1-65535/);
});

void test('reads nameserver lines of a resolv.conf in order, ignoring comments and other options', () => {
  const text = '# generated\nsearch example.com\nnameserver 10.0.0.2\nnameserver  10.0.0.3 # second\n; nameserver 10.0.0.9\noptions ndots:1\n';
  assert.deepEqual(nameserversFromResolvConf(text), ['10.0.0.2', '10.0.0.3']);
});

void test('a missing resolv.conf means no nameservers', async () => {
  assert.deepEqual(await readHostNameservers('/nonexistent/resolv.conf'), []);
});

async function boundSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

const query = dnsPacket.encode({ type: 'query', id: 321, questions: [{ name: 'example.test', type: 'A' }] });

void test('ignores replies with another ID and returns the matching one', async () => {
  const server = await boundSocket();
  server.on('message', (message, peer) => {
    const stray = Buffer.from(message);
    stray.writeUInt16BE(999, 0);
    server.send(stray, peer.port, peer.address);
    server.send(message, peer.port, peer.address);
  });
  try {
    const reply = await exchangeUdp({ host: '127.0.0.1', port: server.address().port }, query, 1000);
    assert.equal(reply.readUInt16BE(0), 321);
  } finally {
    server.close();
  }
});

void test('a silent upstream times out, a closed port fails at once, and abort stops waiting', async () => {
  const silent = await boundSocket();
  const upstream = { host: '127.0.0.1', port: silent.address().port };
  try {
    await assert.rejects(exchangeUdp(upstream, query, 200), /did not answer within 200 ms/);
    const controller = new AbortController();
    const pending = exchangeUdp(upstream, query, 5000, controller.signal);
    controller.abort();
    await assert.rejects(pending, /aborted/);
  } finally {
    silent.close();
  }
  const started = Date.now();
  await assert.rejects(exchangeUdp(upstream, query, 5000), { code: 'ECONNREFUSED' });
  assert.ok(Date.now() - started < 1000, 'a refused upstream is not waited for');
});
