import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { LoopbackServers } from './loopback-servers.ts';
import { createServer as createTlsServer } from 'node:tls';
import { createServer as createHttpsServer } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { createCertificateAuthority } from '../pki/certificate-authority.ts';
import { issueCertificate } from '../pki/leaf-certificate.ts';
import { MAX_REQUEST_SOCKETS, RestClient } from './rest-client.ts';

// Real servers on loopback that accept connections and then misbehave; each test measures how long
// the client takes to give up. The allowed slack covers a loaded machine, not a second timeout.
const slackMs = 500;
const ca = await createCertificateAuthority({ commonName: 'rest-client-test-ca' });
const serving = await issueCertificate({ ca, commonName: 'localhost', ipAddresses: ['127.0.0.1'], usages: ['server'], validity: 3_600_000 });
const loopback = new LoopbackServers();
after(() => loopback.close());

const listen = (server: Server): Promise<number> => loopback.listen(server);

/** Accepts TCP connections and never says a word: the TLS handshake never completes. */
const silentTcpServer = () => listen(createServer(() => undefined));
/** Completes the TLS handshake, then never answers the HTTP request. */
const silentTlsServer = () => listen(createTlsServer({ key: serving.keyPem, cert: serving.certPem }, () => undefined));
/** Sends headers at once, then one body byte every 100 ms, forever: an idle timer never fires. */
const tricklingTlsServer = () =>
  listen(
    createTlsServer({ key: serving.keyPem, cert: serving.certPem }, (socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
        const timer = setInterval(() => socket.write('1\r\n \r\n'), 100);
        socket.on('close', () => clearInterval(timer));
      });
    }),
  );

function clientFor(port: number): RestClient {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'test', server: `https://127.0.0.1:${port}`, caData: Buffer.from(ca.certPem).toString('base64') }],
    users: [{ name: 'test', token: 'unused' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return new RestClient(kubeConfig);
}

async function elapsedUntilRejected(action: () => Promise<unknown>, message: RegExp): Promise<number> {
  const started = performance.now();
  await assert.rejects(action(), message);
  return performance.now() - started;
}

for (const [what, server] of [
  ['accepts TCP and never completes the TLS handshake', silentTcpServer],
  ['completes the handshake and never answers', silentTlsServer],
  ['answers headers and then trickles the body', tricklingTlsServer],
] as const) {
  test(`a request to a server that ${what} fails at its timeout, not later`, { timeout: 10_000 }, async () => {
    const client = clientFor(await server());
    const timeoutMs = 1000;
    const elapsed = await elapsedUntilRejected(() => client.request('GET', '/api', { timeoutMs }), /GET \/api timed out after 1000ms/);
    assert.ok(elapsed >= timeoutMs - 5 && elapsed <= timeoutMs + slackMs, `gave up after ${Math.round(elapsed)} ms, expected about ${timeoutMs}`);
  });
}

test('the deadline is per request and a finished request leaves no timer behind', async () => {
  const port = await listen(
    createTlsServer({ key: serving.keyPem, cert: serving.certPem }, (socket) => {
      socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'));
    }),
  );
  const client = clientFor(port);
  const started = performance.now();
  for (let index = 0; index < 3; index += 1) assert.deepEqual(await client.request('GET', '/api', { timeoutMs: 300 }), { ok: true });
  assert.ok(performance.now() - started < 300, 'quick answers are not delayed');
  // A timer left armed would destroy the keep-alive socket the next request reuses.
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.deepEqual(await client.request('GET', '/api', { timeoutMs: 300 }), { ok: true });
});

test('watches never take the sockets requests wait for: with more watches open than requests may use, a request still goes through', { timeout: 20_000 }, async () => {
  let watching = 0;
  const port = await listen(
    createHttpsServer({ key: serving.keyPem, cert: serving.certPem }, (request, response) => {
      if (request.url?.includes('watch=true')) {
        // A watch: headers now, then nothing until the client goes away.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.flushHeaders();
        watching += 1;
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    }),
  );
  const client = clientFor(port);
  const stop = new AbortController();
  const watches = Array.from({ length: MAX_REQUEST_SOCKETS + 1 }, (_, index) => client.watch(`/api/v1/namespaces/n${index}/configmaps`, {}, () => undefined, { signal: stop.signal }));
  try {
    const deadline = Date.now() + 10_000;
    while (watching < MAX_REQUEST_SOCKETS + 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(watching, MAX_REQUEST_SOCKETS + 1, 'every watch reached the server');
    assert.deepEqual(await client.request('GET', '/api', { timeoutMs: 2000 }), { ok: true });
  } finally {
    stop.abort();
    await Promise.allSettled(watches);
  }
});

test('a watch or stream aborted before the server has answered ends at once, not at the server\'s timeout', { timeout: 10_000 }, async () => {
  const client = clientFor(await silentTlsServer());
  for (const open of [
    (signal: AbortSignal) => client.watch('/api/v1/pods', {}, () => undefined, { signal }),
    (signal: AbortSignal) => client.stream('/api/v1/namespaces/default/pods/p/log', { follow: true }, () => undefined, signal),
  ]) {
    const stop = new AbortController();
    const ended = open(stop.signal);
    // Aborted while the request is still waiting for headers, as an informer stopped right after it started.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    stop.abort();
    await ended;
    const elapsed = performance.now() - started;
    assert.ok(elapsed < slackMs, `ended ${Math.round(elapsed)} ms after the abort`);
    // Already aborted: nothing is opened at all.
    await open(stop.signal);
  }
});
