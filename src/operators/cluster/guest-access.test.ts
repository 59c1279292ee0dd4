import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { LoopbackServers } from '../../controller/loopback-servers.ts';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTlsServer } from 'node:tls';
import { createCertificateAuthority } from '../../pki/certificate-authority.ts';
import { issueCertificate } from '../../pki/leaf-certificate.ts';
import { renderKubeconfig } from '../../pki/kubeconfig.ts';
import { credentialsFromKubeconfig, probeReadyz, type GuestCredentials, type ReadyzAnswer } from './guest-access.ts';
import { quietAfterNoAnswer } from '../../controller/rest-client.ts';

// Real loopback servers; the probe's stated timeout must be its whole deadline.
const slackMs = 500;
const ca = await createCertificateAuthority({ commonName: 'guest-access-test-ca' });
const serving = await issueCertificate({ ca, commonName: 'kube-apiserver', ipAddresses: ['127.0.0.1'], usages: ['server'], validity: 3_600_000 });
const admin = await issueCertificate({ ca, commonName: 'kubernetes-admin', organizations: ['system:masters'], usages: ['client'], validity: 3_600_000 });
const credentials: GuestCredentials = { caCertPem: ca.certPem, clientCertPem: admin.certPem, clientKeyPem: admin.keyPem };
const loopback = new LoopbackServers();
after(() => loopback.close());

const listen = async (server: Server): Promise<string> => `https://127.0.0.1:${await loopback.listen(server)}`;

async function timed<T>(action: () => Promise<T>): Promise<{ result: T; elapsed: number }> {
  const started = performance.now();
  const result = await action();
  return { result, elapsed: performance.now() - started };
}

for (const [what, start, reached] of [
  ['accepts TCP and never completes the TLS handshake', () => listen(createServer(() => undefined)), /^\(connected after \d+ms\)$/],
  ['completes the handshake and never answers', () => listen(createTlsServer({ key: serving.keyPem, cert: serving.certPem }, () => undefined)), /^\(connected after \d+ms, TLS done after \d+ms\)$/],
] as const) {
  for (const timeoutMs of [1000, 3000]) {
    test(`probeReadyz against a server that ${what} gives up after ${timeoutMs} ms`, { timeout: 15_000 }, async () => {
      const server = await start();
      const { result, elapsed } = await timed(() => probeReadyz(server, credentials, timeoutMs));
      assert.deepEqual({ ...result, detail: result.detail.replace(/ \(.*\)$/, '') }, { ready: false, detail: `no answer within ${timeoutMs}ms`, noAnswer: true });
      // The detail says how far the probe got.
      assert.match(result.detail.slice(`no answer within ${timeoutMs}ms `.length), reached);
      assert.ok(elapsed >= timeoutMs - 5 && elapsed <= timeoutMs + slackMs, `gave up after ${Math.round(elapsed)} ms, expected about ${timeoutMs}`);
    });
  }
}

test('probeReadyz is ready only on 200 "ok" and reports what it got otherwise', async () => {
  let answer = { status: 200, body: 'ok' };
  const server = await listen(
    createHttpsServer({ key: serving.keyPem, cert: serving.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (request, response) => {
      assert.equal(request.url, '/readyz');
      response.writeHead(answer.status).end(answer.body);
    }),
  );
  assert.deepEqual(await probeReadyz(server, credentials, 1000), { ready: true, detail: '200 ok' });
  answer = { status: 500, body: '[-]etcd failed: reason withheld\nreadyz check failed' };
  assert.deepEqual(await probeReadyz(server, credentials, 1000), { ready: false, detail: '500 [-]etcd failed: reason withheld\nreadyz check failed' });
});

test('credentialsFromKubeconfig reads the CA and client pair, and refuses a kubeconfig without a client certificate', () => {
  const text = renderKubeconfig({ clusterName: 'shop', server: 'https://shop:6443', caCertPem: ca.certPem, userName: 'kubernetes-admin', clientCertPem: admin.certPem, clientKeyPem: admin.keyPem });
  assert.deepEqual(credentialsFromKubeconfig(text), credentials);
  const tokenOnly = renderKubeconfig({ clusterName: 'shop', server: 'https://shop:6443', caCertPem: ca.certPem, userName: 'bot', token: 'abc' });
  assert.throws(() => credentialsFromKubeconfig(tokenOnly), /the admin kubeconfig has no client certificate/);
});

test('a guest that let /readyz go unanswered is not probed again for the quiet period; one that refuses or answers is probed every time', async () => {
  let clock = 0;
  let calls = 0;
  let next: ReadyzAnswer = { ready: false, detail: 'no answer within 2000ms', noAnswer: true };
  const readyz = quietAfterNoAnswer(async () => (calls++, next), 15_000, { unanswered: (answer) => answer.noAnswer === true, now: () => clock });
  assert.deepEqual(await readyz(), next);
  clock += 10_000;
  assert.equal((await readyz()).detail, 'no answer within 2000ms');
  assert.equal(calls, 1, 'not asked again within the quiet period');
  clock += 5_000;
  next = { ready: false, detail: 'connect ECONNREFUSED 127.0.0.9:6443' };
  await readyz();
  await readyz();
  assert.equal(calls, 3, 'asked again after it, and every time while it refuses');
  next = { ready: true, detail: '200 ok' };
  assert.equal((await readyz()).ready, true);
});

test('probeReadyz does not take a refusal for silence', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise((resolve) => closed.close(resolve));
  const refused = await probeReadyz(`https://127.0.0.1:${port}`, credentials, 1000);
  assert.equal(refused.noAnswer, undefined, refused.detail);
  assert.match(refused.detail, /ECONNREFUSED/);
});
