import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { once } from 'node:events';
import { parse } from 'yaml';
import { renderEgressSelectorConfiguration, startEgressProxy, type Dialer } from './egress-proxy.ts';

/** Dials on the box itself (the real proxy dials from inside the switch namespace). */
const localDialer: Dialer = (host, port) => {
  const socket = connect({ host, port });
  const exits: (() => void)[] = [];
  socket.on('close', () => exits.forEach((listener) => listener()));
  return { stdin: socket, stdout: socket, kill: () => socket.destroy(), onExit: (listener) => exits.push(listener) };
};

async function request(socketPath: string, text: string): Promise<string> {
  const client = connect(socketPath);
  client.write(text);
  let received = '';
  client.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  await once(client, 'close');
  return received;
}

test('CONNECT host:port opens a tunnel to that address, bytes flow both ways', async () => {
  const echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const port = (echo.address() as { port: number }).port;
  const name = `\0tessera-egress-test-${process.pid}`;
  const proxy = await startEgressProxy(name, localDialer);
  try {
    const client = connect(name);
    client.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nearly bytes|`);
    let received = '';
    client.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk;
      if (received.endsWith('late bytes')) client.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.write('late bytes');
    await once(client, 'close');
    assert.equal(received, 'HTTP/1.1 200 Connection established\r\n\r\nearly bytes|late bytes');
  } finally {
    proxy.close();
    echo.close();
  }
});

test('anything but CONNECT is refused', async () => {
  const name = `\0tessera-egress-refuse-${process.pid}`;
  const proxy = await startEgressProxy(name, () => {
    throw new Error('must not dial');
  });
  try {
    assert.match(await request(name, 'GET http://10.0.0.1/ HTTP/1.1\r\n\r\n'), /^HTTP\/1.1 405 /);
  } finally {
    proxy.close();
  }
});

test('the egress selector sends cluster traffic through the socket, nothing else', () => {
  const config = parse(renderEgressSelectorConfiguration('@tessera-egress-abc')) as { kind: string; egressSelections: { name: string; connection: { proxyProtocol: string; transport: { uds: { udsName: string } } } }[] };
  assert.equal(config.kind, 'EgressSelectorConfiguration');
  assert.deepEqual(config.egressSelections.map((selection) => selection.name), ['cluster']);
  assert.equal(config.egressSelections[0]?.connection.proxyProtocol, 'HTTPConnect');
  assert.equal(config.egressSelections[0]?.connection.transport.uds.udsName, '@tessera-egress-abc');
});

