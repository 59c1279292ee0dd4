import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { LoopbackServers } from '../../controller/loopback-servers.ts';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTlsServer } from 'node:tls';
import { createCertificateAuthority } from '../../pki/certificate-authority.ts';
import { issueCertificate } from '../../pki/leaf-certificate.ts';
import { EtcdClusterClient, type EtcdTls } from './etcd-client.ts';

// Real loopback servers; every call's timeout must be its whole deadline.
const slackMs = 500;
const ca = await createCertificateAuthority({ commonName: 'etcd-client-test-ca' });
const serving = await issueCertificate({ ca, commonName: 'shop-etcd-0', dnsNames: ['shop-etcd-client.team-a.svc.cluster.local'], usages: ['server'], validity: 3_600_000 });
const client = await issueCertificate({ ca, commonName: 'tessera-operator', usages: ['client'], validity: 3_600_000 });
const tls: EtcdTls = { caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem };
const servername = 'shop-etcd-client.team-a.svc.cluster.local';
const loopback = new LoopbackServers();
after(() => loopback.close());

const listen = async (server: Server): Promise<string> => `https://127.0.0.1:${await loopback.listen(server)}`;

const silentServers = [
  ['accepts TCP and never completes the TLS handshake', () => listen(createServer(() => undefined))],
  ['completes the handshake and never answers', () => listen(createTlsServer({ key: serving.keyPem, cert: serving.certPem }, () => undefined))],
] as const;

for (const [what, start] of silentServers) {
  test(`a member list from a server that ${what} fails at the timeout`, { timeout: 15_000 }, async () => {
    const etcd = new EtcdClusterClient(await start(), tls, servername, { timeoutMs: 1000 });
    const started = performance.now();
    await assert.rejects(etcd.listMembers(), /etcd \/v3\/cluster\/member\/list: no answer within 1000ms/);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 995 && elapsed <= 1000 + slackMs, `gave up after ${Math.round(elapsed)} ms, expected about 1000`);
  });

  test(`a member list from a server that ${what} fails at its own shorter timeout`, { timeout: 15_000 }, async () => {
    const etcd = new EtcdClusterClient(await start(), tls, servername, { timeoutMs: 5000, listTimeoutMs: 600 });
    const started = performance.now();
    await assert.rejects(etcd.listMembers(), /no answer within 600ms/);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 595 && elapsed <= 600 + slackMs, `gave up after ${Math.round(elapsed)} ms, expected about 600`);
  });

  test(`after a server that ${what} let a member list time out, member lists fail at once for the quiet period`, { timeout: 15_000 }, async () => {
    const etcd = new EtcdClusterClient(await start(), tls, servername, { listTimeoutMs: 400, quietAfterNoAnswerMs: 60_000 });
    await assert.rejects(etcd.listMembers(), /no answer within 400ms/);
    const started = performance.now();
    await assert.rejects(etcd.listMembers(), /no answer within 400ms/);
    assert.ok(performance.now() - started < 100, `the second list waited ${Math.round(performance.now() - started)} ms`);
  });

  test(`a health check of a server that ${what} says unhealthy after its default 3 s`, { timeout: 15_000 }, async () => {
    const etcd = new EtcdClusterClient(await start(), tls, servername);
    const started = performance.now();
    assert.equal(await etcd.healthy(), false);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 2995 && elapsed <= 3000 + slackMs, `gave up after ${Math.round(elapsed)} ms, expected about 3000`);
  });
}

test('the client speaks the JSON gateway: member list, health, and errors that name the path', async () => {
  const seen: string[] = [];
  const server = await listen(
    createHttpsServer({ key: serving.keyPem, cert: serving.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (request, response) => {
      seen.push(`${request.method} ${request.url}`);
      if (request.url === '/v3/cluster/member/list') {
        response.end(JSON.stringify({ members: [{ ID: '123', name: 'shop-etcd-0', peerURLs: ['https://p:2380'], clientURLs: ['https://c:2379'] }] }));
      } else if (request.url === '/health') {
        response.end('{"health":"true"}');
      } else if (request.url === '/v3/kv/range') {
        response.end('not json');
      } else {
        response.writeHead(404).end('unknown');
      }
    }),
  );
  const etcd = new EtcdClusterClient(server, tls, servername, { timeoutMs: 1000 });
  assert.deepEqual(await etcd.listMembers(), [{ id: '123', name: 'shop-etcd-0', peerURLs: ['https://p:2380'], clientURLs: ['https://c:2379'], isLearner: false }]);
  assert.equal(await etcd.healthy(), true);
  await assert.rejects(etcd.removeMember('7'), /etcd \/v3\/cluster\/member\/remove: 404 unknown/);
  await assert.rejects(etcd.get('k'), /etcd \/v3\/kv\/range: the answer is not JSON/);
  assert.deepEqual(seen, ['POST /v3/cluster/member/list', 'GET /health', 'POST /v3/cluster/member/remove', 'POST /v3/kv/range']);
});

test('a server whose certificate does not carry the expected name is refused', async () => {
  const server = await listen(createHttpsServer({ key: serving.keyPem, cert: serving.certPem }, (_request, response) => response.end('{}')));
  const etcd = new EtcdClusterClient(server, tls, 'other-etcd-client.team-a.svc.cluster.local', { timeoutMs: 1000 });
  await assert.rejects(etcd.listMembers(), /other-etcd-client\.team-a\.svc\.cluster\.local/);
});
