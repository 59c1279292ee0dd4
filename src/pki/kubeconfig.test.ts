import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:https';
import type { RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { createCertificateAuthority } from './certificate-authority.ts';
import type { KeyPairPem } from './certificate-authority.ts';
import { issueCertificate } from './leaf-certificate.ts';
import { kubeconfigConnection, parseKubeconfig, renderKubeconfig } from './kubeconfig.ts';
import { RestClient } from '../controller/rest-client.ts';
import type { KubeconfigFields } from './kubeconfig.ts';

const day = 24 * 60 * 60 * 1000;

void describe('renderKubeconfig and parseKubeconfig', () => {
  let ca: KeyPairPem;
  let admin: KeyPairPem;
  let adminFields: KubeconfigFields;
  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'kubernetes' });
    admin = await issueCertificate({ ca, commonName: 'kubernetes-admin', organizations: ['system:masters'], usages: ['client'], validity: day });
    adminFields = {
      clusterName: 'guest-a',
      server: 'https://127.0.0.1:6443',
      caCertPem: ca.certPem,
      userName: 'kubernetes-admin',
      clientCertPem: admin.certPem,
      clientKeyPem: admin.keyPem,
      namespace: 'kube-system',
    };
  });

  void test('round-trips every field of a client-certificate kubeconfig', () => {
    assert.deepEqual(parseKubeconfig(renderKubeconfig(adminFields)), adminFields);
  });

  void test('round-trips a token kubeconfig without a namespace', () => {
    const fields: KubeconfigFields = {
      clusterName: 'guest-a',
      server: 'https://guest-a.example:443',
      caCertPem: ca.certPem,
      userName: 'alice',
      token: 'abcdef.0123456789abcdef',
    };
    assert.deepEqual(parseKubeconfig(renderKubeconfig(fields)), fields);
  });

  void test('renders YAML in the kubeconfig v1 shape, certificates and keys as base64 data', () => {
    const document = parse(renderKubeconfig(adminFields)) as Record<string, unknown>;
    const decode = (value: string): string => Buffer.from(value, 'base64').toString('utf8');
    assert.deepEqual(
      { ...document, clusters: undefined, users: undefined },
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: undefined,
        users: undefined,
        contexts: [{ name: 'kubernetes-admin@guest-a', context: { cluster: 'guest-a', user: 'kubernetes-admin', namespace: 'kube-system' } }],
        'current-context': 'kubernetes-admin@guest-a',
        preferences: {},
      },
    );
    const [cluster] = document['clusters'] as { name: string; cluster: Record<string, string> }[];
    assert.equal(cluster?.name, 'guest-a');
    assert.equal(cluster?.cluster['server'], 'https://127.0.0.1:6443');
    assert.equal(decode(cluster?.cluster['certificate-authority-data'] ?? ''), ca.certPem);
    const [user] = document['users'] as { name: string; user: Record<string, string> }[];
    assert.equal(user?.name, 'kubernetes-admin');
    assert.equal(decode(user?.user['client-certificate-data'] ?? ''), admin.certPem);
    assert.equal(decode(user?.user['client-key-data'] ?? ''), admin.keyPem);
  });

  void test('is read by @kubernetes/client-node, which authenticates to a TLS server with it', async () => {
    const serving = await issueCertificate({ ca, commonName: 'kube-apiserver', ipAddresses: ['127.0.0.1'], usages: ['server'], validity: day });
    const server = createServer(
      { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
      (incoming, response) => {
        const peer = (incoming.socket as TLSSocket).getPeerCertificate();
        response.end(`${peer.subject.CN}/${String(peer.subject.O)}`);
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromString(renderKubeconfig({ ...adminFields, server: `https://127.0.0.1:${port}` }));
      assert.equal(kubeConfig.getCurrentContext(), 'kubernetes-admin@guest-a');
      assert.equal(kubeConfig.getCurrentCluster()?.server, `https://127.0.0.1:${port}`);
      const options: RequestOptions = { host: '127.0.0.1', port, path: '/readyz', method: 'GET' };
      await kubeConfig.applyToHTTPSOptions(options);
      const body = await new Promise<string>((resolve, reject) => {
        const outgoing = request(options, (response) => {
          let received = '';
          response.on('data', (chunk: Buffer) => (received += chunk.toString()));
          response.on('end', () => resolve(received));
        });
        outgoing.on('error', reject);
        outgoing.end();
      });
      assert.equal(body, 'kubernetes-admin/system:masters');
    } finally {
      server.close();
    }
  });

  void test('kubeconfigConnection gives a RestClient the same TLS identity without client-node', async () => {
    const serving = await issueCertificate({ ca, commonName: 'kube-apiserver', ipAddresses: ['127.0.0.1'], usages: ['server'], validity: day });
    const server = createServer({ cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (incoming, response) => {
      const peer = (incoming.socket as TLSSocket).getPeerCertificate();
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ user: `${peer.subject.CN}/${String(peer.subject.O)}`, accept: incoming.headers['accept'] }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const client = new RestClient(kubeconfigConnection(renderKubeconfig({ ...adminFields, server: `https://127.0.0.1:${port}` })));
      assert.deepEqual(await client.request('GET', '/apis', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }), { user: 'kubernetes-admin/system:masters', accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    } finally {
      server.close();
    }
  });

  void test('names the missing or wrong field when rendering', async () => {
    const without = (field: keyof KubeconfigFields): KubeconfigFields => ({ ...adminFields, [field]: undefined }) as KubeconfigFields;
    assert.throws(() => renderKubeconfig(without('clusterName')), /renderKubeconfig: clusterName is required/);
    assert.throws(() => renderKubeconfig(without('server')), /renderKubeconfig: server is required/);
    assert.throws(() => renderKubeconfig(without('caCertPem')), /renderKubeconfig: caCertPem is required/);
    assert.throws(() => renderKubeconfig(without('userName')), /renderKubeconfig: userName is required/);
    assert.throws(() => renderKubeconfig(without('clientKeyPem')), /renderKubeconfig: clientKeyPem is required \(it comes together with clientCertPem\)/);
    assert.throws(() => renderKubeconfig(without('clientCertPem')), /renderKubeconfig: clientCertPem is required \(it comes together with clientKeyPem\)/);
    assert.throws(
      () => renderKubeconfig({ ...adminFields, clientCertPem: undefined, clientKeyPem: undefined }),
      /renderKubeconfig: credentials are required: give clientCertPem with clientKeyPem, or token/,
    );
    assert.throws(() => renderKubeconfig({ ...adminFields, server: 'http://127.0.0.1:8080' }), /server "http:\/\/127.0.0.1:8080" must use https/);
    assert.throws(() => renderKubeconfig({ ...adminFields, server: '127.0.0.1:6443' }), /server "127.0.0.1:6443" is not a URL|must use https/);
    assert.throws(() => renderKubeconfig({ ...adminFields, caCertPem: 'not a certificate' }), /renderKubeconfig: caCertPem is not a PEM certificate/);
    assert.throws(() => renderKubeconfig({ ...adminFields, token: 'two words' }), /renderKubeconfig: token must be a non-empty string without whitespace/);
    const otherKey = (await issueCertificate({ ca, commonName: 'someone-else', usages: ['client'], validity: day })).keyPem;
    assert.throws(() => renderKubeconfig({ ...adminFields, clientKeyPem: otherKey }), /clientKeyPem is not the private key of clientCertPem/);
  });

  void test('names the missing field when parsing, and refuses file references', () => {
    const text = renderKubeconfig(adminFields);
    assert.throws(() => parseKubeconfig(text.replace(/current-context: .*\n/, '')), /parseKubeconfig: current-context is required/);
    assert.throws(
      () => parseKubeconfig(text.replace('current-context: kubernetes-admin@guest-a', 'current-context: nobody@nowhere')),
      /parseKubeconfig: contexts has no entry named "nobody@nowhere"/,
    );
    assert.throws(() => parseKubeconfig(text.replace(/ {4}server: .*\n/, '')), /parseKubeconfig: clusters\[name=guest-a\]\.cluster\.server is required/);
    assert.throws(
      () => parseKubeconfig(text.replace('certificate-authority-data:', 'certificate-authority: /etc/kubernetes/pki/ca.crt\n    ignored:')),
      /clusters\[name=guest-a\]\.cluster\.certificate-authority refers to a file; only inline certificate-authority-data is read/,
    );
    assert.throws(() => parseKubeconfig('clusters: [unclosed'), /parseKubeconfig: text is not YAML/);
    assert.throws(() => parseKubeconfig(''), /parseKubeconfig: text is required/);
  });
});
