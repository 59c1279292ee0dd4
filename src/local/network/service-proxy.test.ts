import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createServer as createHttpServer, get } from 'node:http';
import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { createServiceProxy } from './service-proxy.ts';
import type { ServiceProxy, ServiceProxyOptions } from './service-proxy.ts';
import { startServiceProxyThread } from './service-proxy-thread.ts';

// Addresses in 127.31/16 are unlikely to meet anything else on this host: ClusterIPs in
// 127.31.0/24, pods in 127.31.1/24, clients in 127.31.2/24. Service ports must be fixed numbers
// (they are the listening ports), so each test picks a random high one.
const clusterIP = '127.31.0.10';
const servicePort = (): number => 20000 + randomInt(20000);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

// Every test runs against both: the proxy on the caller's event loop and in its own thread.
const implementations: [string, (options?: ServiceProxyOptions) => ServiceProxy][] = [
  ['on the caller\'s event loop', createServiceProxy],
  ['in its own thread', startServiceProxyThread],
];
let createProxy: (options?: ServiceProxyOptions) => ServiceProxy = createServiceProxy;

function proxyForTest(onError?: (error: Error) => void): ServiceProxy {
  const proxy = createProxy(onError ? { onError } : {});
  cleanups.push(() => proxy.close());
  return proxy;
}

interface Backend {
  ip: string;
  port: number;
  close(): Promise<void>;
}

// An HTTP server that answers with its name and the address the request came from.
async function startBackend(ip: string, name: string): Promise<Backend> {
  const server = createHttpServer((request, response) => response.end(`${name} ${request.socket.remoteAddress}`));
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  const { port } = server.address() as { port: number };
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return { ip, port, close };
}

// A TCP server that sends back whatever it receives, for connections held open across updates.
async function startTcpEchoBackend(ip: string): Promise<Backend> {
  const echo: Server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, ip, resolve));
  const close = () => new Promise<void>((resolve) => echo.close(() => resolve()));
  cleanups.push(close);
  return { ip, port: (echo.address() as { port: number }).port, close };
}

function pod(name: string, backend: Backend, ready = true): V1Pod {
  return {
    metadata: { name, namespace: 'default', labels: { app: 'echo' } },
    spec: { containers: [{ name: 'echo', ports: [{ name: 'http', containerPort: backend.port }] }] },
    status: { phase: 'Running', podIP: backend.ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

function echoService(port: number, name = 'echo'): V1Service {
  return {
    metadata: { name, namespace: 'default' },
    spec: { clusterIP, clusterIPs: [clusterIP], selector: { app: 'echo' }, ports: [{ name: 'http', port, targetPort: 'http' }] },
  };
}

function request(ip: string, port: number, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // agent: false gives one connection per request, so round robin is visible per request
    const req = get({ host: ip, port, path: '/', agent: false, ...(localAddress ? { localAddress } : {}) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

async function names(port: number, count: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) seen.push((await request(clusterIP, port)).split(' ')[0] ?? '');
  return seen;
}

function connectError(ip: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    socket.on('close', () => resolve(undefined));
    socket.on('connect', () => socket.write('GET / HTTP/1.0\r\n\r\n'));
  });
}

for (const [where, create] of implementations) {
  describe(`the Service proxy ${where}`, () => {
    beforeEach(() => {
      createProxy = create;
    });

    void test('spreads connections over the ready endpoints in turn', async () => {
      const port = servicePort();
      const backends = await Promise.all(['127.31.1.1', '127.31.1.2', '127.31.1.3'].map((ip, i) => startBackend(ip, `pod-${i}`)));
      const proxy = proxyForTest();
      await proxy.update([echoService(port)], backends.map((b, i) => pod(`pod-${i}`, b)));
      assert.deepEqual(proxy.listening(), [`${clusterIP}:${port}`]);
      assert.deepEqual(await names(port, 6), ['pod-0', 'pod-1', 'pod-2', 'pod-0', 'pod-1', 'pod-2']);
    });

    void test('leaves out endpoints whose pod is not Ready', async () => {
      const port = servicePort();
      const [a, b] = await Promise.all([startBackend('127.31.1.4', 'ready'), startBackend('127.31.1.5', 'starting')]);
      assert.ok(a && b);
      const proxy = proxyForTest();
      await proxy.update([echoService(port)], [pod('ready', a), pod('starting', b, false)]);
      assert.deepEqual(await names(port, 4), ['ready', 'ready', 'ready', 'ready']);
      await proxy.update([echoService(port)], [pod('ready', a), pod('starting', b, true)]);
      assert.deepEqual((await names(port, 4)).sort(), ['ready', 'ready', 'starting', 'starting']);
    });

    void test('an endpoint that refuses connections is skipped and the next one serves', async () => {
      const port = servicePort();
      const backends = await Promise.all(['127.31.1.6', '127.31.1.7', '127.31.1.8'].map((ip, i) => startBackend(ip, `pod-${i}`)));
      const proxy = proxyForTest();
      await proxy.update([echoService(port)], backends.map((b, i) => pod(`pod-${i}`, b)));
      await backends[1]?.close(); // the process died; its pod still looks Ready
      assert.deepEqual(await names(port, 4), ['pod-0', 'pod-2', 'pod-2', 'pod-0']);
    });

    void test('closes the listener of a removed Service', async () => {
      const port = servicePort();
      const backend = await startBackend('127.31.1.9', 'only');
      const proxy = proxyForTest();
      await proxy.update([echoService(port)], [pod('only', backend)]);
      assert.equal((await request(clusterIP, port)).split(' ')[0], 'only');
      await proxy.update([], [pod('only', backend)]);
      assert.deepEqual(proxy.listening(), []);
      assert.equal(await connectError(clusterIP, port), 'ECONNREFUSED');
    });

    void test('closes a port removed from a Service and opens a new one', async () => {
      const oldPort = servicePort();
      const newPort = oldPort + 1;
      const backend = await startBackend('127.31.1.10', 'only');
      const proxy = proxyForTest();
      await proxy.update([echoService(oldPort)], [pod('only', backend)]);
      await proxy.update([echoService(newPort)], [pod('only', backend)]);
      assert.deepEqual(proxy.listening(), [`${clusterIP}:${newPort}`]);
      assert.equal(await connectError(clusterIP, oldPort), 'ECONNREFUSED');
      assert.equal((await request(clusterIP, newPort)).split(' ')[0], 'only');
    });

    void test('updating with the same Services keeps listeners and open connections', async () => {
      const port = servicePort();
      const backend = await startTcpEchoBackend('127.31.1.11');
      const proxy = proxyForTest();
      const services = [echoService(port)];
      await proxy.update(services, [pod('echo', backend)]);
      const socket = connect({ host: clusterIP, port });
      cleanups.push(async () => void socket.destroy());
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      await proxy.update(services, [pod('echo', backend)]);
      await proxy.update(services, [pod('echo', backend)]);
      socket.write('still there?');
      const reply = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      assert.equal(reply, 'still there?');
    });

    void test('static endpoints serve a Service without a selector, such as default/kubernetes', async () => {
      const port = servicePort();
      const apiServer = await startBackend('127.31.1.12', 'apiserver');
      const kubernetes: V1Service = { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '127.31.0.1', ports: [{ name: 'https', port, targetPort: 6443 }] } };
      const proxy = proxyForTest();
      await proxy.update([kubernetes], [], new Map([['default/kubernetes', [{ ip: apiServer.ip, port: apiServer.port }]]]));
      assert.equal((await request('127.31.0.1', port)).split(' ')[0], 'apiserver');
    });

    void test('the endpoint sees the client address, not the proxy', async () => {
      const port = servicePort();
      const backend = await startBackend('127.31.1.13', 'pod');
      const proxy = proxyForTest();
      await proxy.update([echoService(port)], [pod('pod', backend)]);
      assert.equal(await request(clusterIP, port, '127.31.2.7'), 'pod 127.31.2.7');
    });

    void test('a Service without ready endpoints resets connections', async () => {
      const port = servicePort();
      const proxy = proxyForTest();
      await proxy.update([echoService(port)], []);
      assert.equal(await connectError(clusterIP, port), 'ECONNRESET');
    });

    void test('a half-closed client still receives the reply', async () => {
      const port = servicePort();
      // Answers only once the client has finished sending, like a request-then-FIN protocol.
      const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
        socket.on('end', () => socket.end(`got ${received}`));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.31.1.14', resolve));
      cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
      const backend: Backend = { ip: '127.31.1.14', port: (server.address() as { port: number }).port, close: async () => {} };
      const proxy = proxyForTest();
      await proxy.update([echoService(port)], [pod('p', backend)]);
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: clusterIP, port, allowHalfOpen: true }, () => socket.end('ping'));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      assert.equal(reply, 'got ping');
    });

    void test('only TCP ports of non-headless Services on loopback ClusterIPs are listened on', async () => {
      const port = servicePort();
      const proxy = proxyForTest();
      await proxy.update(
        [
          { metadata: { name: 'mixed', namespace: 'default' }, spec: { clusterIP: '127.31.0.20', ports: [{ name: 'tcp', port }, { name: 'udp', port, protocol: 'UDP' }] } },
          { metadata: { name: 'headless', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ port }] } },
          { metadata: { name: 'routable', namespace: 'default' }, spec: { clusterIP: '10.96.0.20', ports: [{ port }] } },
          { metadata: { name: 'alias', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'example.com' } },
        ],
        [],
      );
      assert.deepEqual(proxy.listening(), [`127.31.0.20:${port}`]);
    });

    void test('a port that cannot be listened on is reported and tried again on the next update', async () => {
      const port = servicePort();
      const squatter: Server = createServer();
      await new Promise<void>((resolve) => squatter.listen(port, clusterIP, resolve));
      const errors: Error[] = [];
      const backend = await startBackend('127.31.1.15', 'late');
      const proxy = proxyForTest((error) => errors.push(error));
      await proxy.update([echoService(port)], [pod('late', backend)]);
      assert.deepEqual(proxy.listening(), []);
      assert.match(errors[0]?.message ?? '', new RegExp(`default/echo cannot listen on ${clusterIP.replaceAll('.', '\\.')}:${port}.*EADDRINUSE`));
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
      await proxy.update([echoService(port)], [pod('late', backend)]);
      assert.equal((await request(clusterIP, port)).split(' ')[0], 'late');
    });

    void test('close stops every listener and relayed connection', async () => {
      const port = servicePort();
      const backend = await startTcpEchoBackend('127.31.1.16');
      const proxy = createProxy();
      await proxy.update([echoService(port)], [pod('echo', backend)]);
      const socket = connect({ host: clusterIP, port });
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write('x');
      await new Promise((resolve) => socket.once('data', resolve));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await proxy.close();
      await closed;
      assert.equal(await connectError(clusterIP, port), 'ECONNREFUSED');
      await proxy.update([echoService(port)], [pod('echo', backend)]);
      assert.deepEqual(proxy.listening(), [], 'a closed proxy stays closed');
    });
  });
}

void test('the proxy in its own thread relays while the main event loop is held up', async () => {
  const port = servicePort();
  const proxy = startServiceProxyThread();
  cleanups.push(() => proxy.close());
  // The backend answers from its own process and the client runs in another, so only the relay
  // needs this process while its main thread spins for 3 s.
  const backendProcess = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('child')).listen(0, '127.31.1.18', function () { console.log(this.address().port) })`]);
  cleanups.push(async () => void backendProcess.kill());
  const childPort = Number(await new Promise<string>((resolve) => backendProcess.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
  await proxy.update([echoService(port)], [pod('child', { ip: '127.31.1.18', port: childPort, close: async () => {} })]);
  const client = spawn(process.execPath, ['-e', `
    const started = Date.now();
    require('node:http').get({ host: '${clusterIP}', port: ${port}, path: '/', agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => console.log(JSON.stringify({ body, ms: Date.now() - started })));
    }).on('error', (error) => console.log(JSON.stringify({ error: error.message })));`]);
  let output = '';
  client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => client.once('exit', resolve));
  const spinUntil = performance.now() + 3000;
  while (performance.now() < spinUntil);
  await exited;
  const answer = JSON.parse(output) as { body?: string; ms?: number; error?: string };
  assert.equal(answer.body, 'child', output);
  assert.ok((answer.ms ?? Infinity) < 1500, `answered after ${answer.ms} ms, before the main thread was free again`);
});
