import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { connect, createServer } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority } from './certificate-authority.ts';
import type { KeyPairPem } from './certificate-authority.ts';
import { certificateNeedsRenewal, describeCertificate, issueCertificate, verifyIssuedBy } from './leaf-certificate.ts';

const minute = 60 * 1000;
const day = 24 * 60 * minute;

let directory: string;
before(() => {
  directory = mkdtempSync(join(tmpdir(), 'tessera-pki-leaf-'));
});
after(() => rmSync(directory, { recursive: true, force: true }));

let fileCounter = 0;
function writeTemporary(contents: string): string {
  const path = join(directory, `file-${fileCounter++}.pem`);
  writeFileSync(path, contents);
  return path;
}

function openssl(...args: string[]): string {
  // stderr is captured so openssl's key-generation progress dots stay out of the test report.
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

type VerifyOutcome = { ok: boolean; output: string };
function opensslVerify(caCertPem: string, certPem: string, ...options: string[]): VerifyOutcome {
  const result = spawnSync('openssl', ['verify', '-CAfile', writeTemporary(caCertPem), ...options, writeTemporary(certPem)], {
    encoding: 'utf8',
  });
  return { ok: result.status === 0, output: result.stdout + result.stderr };
}

function atTime(date: Date): string[] {
  return ['-attime', String(Math.floor(date.getTime() / 1000))];
}

function certificateText(certPem: string): string {
  return openssl('x509', '-in', writeTemporary(certPem), '-noout', '-text');
}

function opensslDate(certPem: string, field: 'startdate' | 'enddate'): Date {
  const line = openssl('x509', '-in', writeTemporary(certPem), '-noout', `-${field}`, '-dateopt', 'iso_8601').trim();
  return new Date(line.slice(line.indexOf('=') + 1).replace(' ', 'T'));
}

void describe('issueCertificate', () => {
  const now = new Date('2026-03-01T12:00:00.000Z');
  let ca: KeyPairPem;
  let otherCa: KeyPairPem;
  let server: KeyPairPem;
  let client: KeyPairPem;
  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'kubernetes', now });
    // Same subject as `ca`, as during a CA rotation: only the key tells them apart.
    otherCa = await createCertificateAuthority({ commonName: 'kubernetes', now });
    server = await issueCertificate({
      ca,
      commonName: 'kube-apiserver',
      dnsNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc.cluster.local', 'localhost'],
      ipAddresses: ['10.96.0.1', '127.0.0.1', 'fd00:10:96::1'],
      usages: ['server'],
      validity: 365 * day,
      now,
    });
    client = await issueCertificate({
      ca,
      commonName: 'kubernetes-admin',
      organizations: ['system:masters', 'tessera:operators'],
      usages: ['client'],
      validity: 365 * day,
      now,
    });
  });

  void test('issues a server certificate that openssl verifies for every DNS and IP SAN it names', () => {
    assert.ok(opensslVerify(ca.certPem, server.certPem, '-purpose', 'sslserver', ...atTime(now)).ok);
    for (const host of ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc.cluster.local', 'localhost']) {
      const outcome = opensslVerify(ca.certPem, server.certPem, '-purpose', 'sslserver', '-verify_hostname', host, ...atTime(now));
      assert.ok(outcome.ok, `${host}: ${outcome.output}`);
    }
    for (const ip of ['10.96.0.1', '127.0.0.1', 'fd00:10:96::1']) {
      const outcome = opensslVerify(ca.certPem, server.certPem, '-purpose', 'sslserver', '-verify_ip', ip, ...atTime(now));
      assert.ok(outcome.ok, `${ip}: ${outcome.output}`);
    }
    const wrongHost = opensslVerify(ca.certPem, server.certPem, '-verify_hostname', 'evil.example', ...atTime(now));
    assert.equal(wrongHost.ok, false);
    assert.match(wrongHost.output, /hostname mismatch/);
    const wrongIp = opensslVerify(ca.certPem, server.certPem, '-verify_ip', '10.96.0.2', ...atTime(now));
    assert.equal(wrongIp.ok, false);
    assert.match(wrongIp.output, /IP address mismatch/);
  });

  void test('writes SANs, serverAuth only, and critical CA:FALSE and digitalSignature+keyEncipherment for a server', () => {
    const text = certificateText(server.certPem);
    assert.match(
      text,
      /X509v3 Subject Alternative Name: \n\s+DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc.cluster.local, DNS:localhost, IP Address:10.96.0.1, IP Address:127.0.0.1, IP Address:FD00:10:96:0:0:0:0:1\n/,
    );
    assert.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /NIST CURVE: P-256/);
    assert.match(text, /Subject: CN = kube-apiserver\n/);
  });

  void test('puts a client certificate CN and every O in the subject, with clientAuth only', () => {
    const subject = openssl('x509', '-in', writeTemporary(client.certPem), '-noout', '-subject', '-nameopt', 'RFC2253').trim();
    // RFC 2253 prints the last RDN first: the DER order is O, O, CN, as Go writes it.
    assert.equal(subject, 'subject=CN=kubernetes-admin,O=tessera:operators,O=system:masters');
    const text = certificateText(client.certPem);
    assert.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    assert.doesNotMatch(text, /Subject Alternative Name/);
    assert.ok(opensslVerify(ca.certPem, client.certPem, '-purpose', 'sslclient', ...atTime(now)).ok);
    const asServer = opensslVerify(ca.certPem, client.certPem, '-purpose', 'sslserver', ...atTime(now));
    assert.equal(asServer.ok, false);
    assert.match(asServer.output, /unsuitable certificate purpose/);
  });

  void test('issues a certificate good for both server and client use when asked for both', async () => {
    const peer = await issueCertificate({
      ca,
      commonName: 'etcd-0',
      dnsNames: ['etcd-0.etcd'],
      ipAddresses: ['127.0.0.1'],
      usages: ['server', 'client', 'server'],
      validity: day,
      now,
    });
    assert.match(certificateText(peer.certPem), /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    assert.ok(opensslVerify(ca.certPem, peer.certPem, '-purpose', 'sslserver', ...atTime(now)).ok);
    assert.ok(opensslVerify(ca.certPem, peer.certPem, '-purpose', 'sslclient', ...atTime(now)).ok);
  });

  void test('names the CA subject key identifier as authority key identifier', () => {
    const caKeyId = /X509v3 Subject Key Identifier: \n\s+(\S+)\n/.exec(certificateText(ca.certPem))?.[1];
    assert.ok(caKeyId);
    assert.match(certificateText(server.certPem), new RegExp(`X509v3 Authority Key Identifier: \\n\\s+(keyid:)?${caKeyId}\\n`));
  });

  void test('fails verification against another CA, even one with the same subject', () => {
    const outcome = opensslVerify(otherCa.certPem, server.certPem, ...atTime(now));
    assert.equal(outcome.ok, false);
    assert.match(outcome.output, /error/);
    assert.equal(verifyIssuedBy(server.certPem, otherCa.certPem), false);
    assert.equal(verifyIssuedBy(server.certPem, ca.certPem), true);
  });

  void test('is valid from five minutes before now until now + validity, and openssl agrees at the edges', () => {
    const notBefore = opensslDate(server.certPem, 'startdate');
    const notAfter = opensslDate(server.certPem, 'enddate');
    assert.equal(notBefore.getTime(), now.getTime() - 5 * minute);
    assert.equal(notAfter.getTime(), now.getTime() + 365 * day);
    assert.ok(opensslVerify(ca.certPem, server.certPem, ...atTime(new Date(notAfter.getTime() - 1000))).ok);
    const expired = opensslVerify(ca.certPem, server.certPem, ...atTime(new Date(notAfter.getTime() + 1000)));
    assert.equal(expired.ok, false);
    assert.match(expired.output, /certificate has expired/);
    const early = opensslVerify(ca.certPem, server.certPem, ...atTime(new Date(notBefore.getTime() - 1000)));
    assert.equal(early.ok, false);
    assert.match(early.output, /certificate is not yet valid/);
  });

  void test('cuts notAfter back to the CA notAfter when the leaf would outlive its CA', async () => {
    const shortCa = await createCertificateAuthority({ commonName: 'front-proxy-ca', validityDays: 10, now });
    const leaf = await issueCertificate({ ca: shortCa, commonName: 'front-proxy-client', usages: ['client'], validity: 365 * day, now });
    assert.equal(opensslDate(leaf.certPem, 'enddate').getTime(), opensslDate(shortCa.certPem, 'enddate').getTime());
  });

  void test('draws a random positive serial of at most 16 bytes that openssl reads the same as describeCertificate', async () => {
    const serials = new Set<string>();
    for (let index = 0; index < 10; index++) {
      const leaf = await issueCertificate({ ca, commonName: `node-${index}`, usages: ['client'], validity: day, now });
      const serial = openssl('x509', '-in', writeTemporary(leaf.certPem), '-noout', '-serial').trim().replace('serial=', '');
      assert.match(serial, /^[0-9A-F]+$/);
      assert.ok(serial.length <= 32, `serial ${serial} is longer than 16 bytes`);
      // The DER INTEGER is positive: openssl -text would print "(Negative)" otherwise.
      assert.doesNotMatch(certificateText(leaf.certPem), /Negative/);
      assert.equal(describeCertificate(leaf.certPem).serialNumber, serial);
      serials.add(serial);
    }
    assert.equal(serials.size, 10);
  });

  void test('signs with an RSA CA made by openssl (as kubeadm CAs are), and openssl verifies the chain', async () => {
    const keyPath = join(directory, 'rsa-ca.key');
    const certPath = join(directory, 'rsa-ca.pem');
    openssl(
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '30',
      '-subj', '/CN=kubeadm-made-ca', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    );
    const rsaCa = { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
    const leaf = await issueCertificate({ ca: rsaCa, commonName: 'system:kube-scheduler', usages: ['client'], validity: day });
    assert.ok(opensslVerify(rsaCa.certPem, leaf.certPem, '-purpose', 'sslclient').ok);
    assert.match(certificateText(leaf.certPem), /Signature Algorithm: sha256WithRSAEncryption/);
    assert.equal(verifyIssuedBy(leaf.certPem, rsaCa.certPem), true);
  });

  void test('completes a mutual TLS handshake with node:tls; a client certificate from another CA is not authorized', async () => {
    const realCa = await createCertificateAuthority({ commonName: 'kubernetes' });
    const realOtherCa = await createCertificateAuthority({ commonName: 'kubernetes' });
    const serving = await issueCertificate({ ca: realCa, commonName: 'kube-apiserver', ipAddresses: ['127.0.0.1'], usages: ['server'], validity: day });
    const admin = await issueCertificate({ ca: realCa, commonName: 'kubernetes-admin', organizations: ['system:masters'], usages: ['client'], validity: day });
    const stranger = await issueCertificate({ ca: realOtherCa, commonName: 'intruder', usages: ['client'], validity: day });

    // Like kube-apiserver, the server accepts the connection and then decides who the client is
    // from the verified chain; it answers with that decision.
    const tlsServer = createServer(
      { cert: serving.certPem, key: serving.keyPem, ca: realCa.certPem, requestCert: true, rejectUnauthorized: false },
      (socket) => {
        const peer = socket.getPeerCertificate();
        socket.end(socket.authorized ? `${peer.subject.CN}/${String(peer.subject.O)}` : `rejected:${String(socket.authorizationError)}`);
      },
    );
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const { port } = tlsServer.address() as AddressInfo;
    const exchange = (options: ConnectionOptions): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ...options });
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
        socket.on('end', () => resolve(received));
        socket.on('error', reject);
      });
    try {
      assert.equal(await exchange({ ca: realCa.certPem, cert: admin.certPem, key: admin.keyPem }), 'kubernetes-admin/system:masters');
      assert.match(await exchange({ ca: realCa.certPem, cert: stranger.certPem, key: stranger.keyPem }), /^rejected:(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/);
      // The client, in turn, refuses a server whose certificate comes from a CA it does not trust.
      await assert.rejects(exchange({ ca: realOtherCa.certPem, cert: admin.certPem, key: admin.keyPem }), { code: /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)$/ });
    } finally {
      tlsServer.close();
    }
  });

  void test('costs a few milliseconds per leaf certificate', async () => {
    const rounds = 50;
    await issueCertificate({ ca, commonName: 'warm-up', usages: ['client'], validity: day });
    const started = performance.now();
    for (let index = 0; index < rounds; index++) {
      await issueCertificate({ ca, commonName: `kubelet-${index}`, dnsNames: ['node'], ipAddresses: ['10.0.0.1'], usages: ['server', 'client'], validity: day });
    }
    const perLeafMs = (performance.now() - started) / rounds;
    console.log(`issueCertificate: ${perLeafMs.toFixed(2)} ms per leaf (mean of ${rounds})`);
    // Target is well under 50 ms; the bound is loose so a busy CI machine does not flake.
    assert.ok(perLeafMs < 200, `issuing one leaf took ${perLeafMs} ms`);
  });

  void test('rejects bad input, naming the field and the fix', async () => {
    const base = { ca, commonName: 'x', usages: ['client' as const], validity: day, now };
    await assert.rejects(issueCertificate({ ...base, commonName: '' }), /issueCertificate: commonName is required/);
    await assert.rejects(issueCertificate({ ...base, usages: [] }), /issueCertificate: usages is required/);
    await assert.rejects(
      issueCertificate({ ...base, usages: ['peer' as 'server'] }),
      /issueCertificate: usages\[0\] is "peer"; use 'server' or 'client'/,
    );
    await assert.rejects(issueCertificate({ ...base, usages: ['server'] }), /a 'server' certificate needs dnsNames or ipAddresses/);
    await assert.rejects(issueCertificate({ ...base, ipAddresses: ['10.0.0.256'] }), /ipAddresses\[0\] "10.0.0.256" is not an IPv4 or IPv6 address/);
    await assert.rejects(issueCertificate({ ...base, dnsNames: ['ok.example', 'bad name'] }), /dnsNames\[1\] "bad name" is not a DNS name/);
    await assert.rejects(issueCertificate({ ...base, organizations: [''] }), /organizations\[0\] is required/);
    await assert.rejects(issueCertificate({ ...base, validity: 0 }), /validity must be a positive number of milliseconds/);
    await assert.rejects(issueCertificate({ ...base, ca: { certPem: ca.certPem, keyPem: otherCa.keyPem } }), /ca.keyPem is not the private key of ca.certPem/);
    await assert.rejects(issueCertificate({ ...base, ca: { certPem: 'nonsense', keyPem: ca.keyPem } }), /ca.certPem is not a PEM certificate/);
    await assert.rejects(issueCertificate({ ...base, ca: client }), /ca.certPem is not a CA certificate/);
    await assert.rejects(
      issueCertificate({ ...base, now: new Date(now.getTime() + 3651 * day) }),
      /ca.certPem expired at .*; rotate the CA before issuing/,
    );
  });
});

void describe('describeCertificate', () => {
  void test('reads back the names, validity, issuer and serial of an issued certificate', async () => {
    const now = new Date('2026-05-05T05:05:05.000Z');
    const ca = await createCertificateAuthority({ commonName: 'etcd-ca', now });
    const issued = await issueCertificate({
      ca,
      commonName: 'etcd-server',
      organizations: ['tessera', 'etcd'],
      dnsNames: ['etcd-0.etcd.guest-a.svc', '*.etcd.guest-a.svc'],
      ipAddresses: ['127.0.0.1', '::1', 'FD00:0:0:0:0:0:0:AB'],
      usages: ['server', 'client'],
      validity: 90 * day,
      now,
    });
    const description = describeCertificate(issued.certPem);
    const serial = openssl('x509', '-in', writeTemporary(issued.certPem), '-noout', '-serial').trim().replace('serial=', '');
    assert.deepEqual(description, {
      commonName: 'etcd-server',
      organizations: ['tessera', 'etcd'],
      dnsNames: ['etcd-0.etcd.guest-a.svc', '*.etcd.guest-a.svc'],
      ipAddresses: ['127.0.0.1', '::1', 'fd00::ab'],
      notBefore: new Date(now.getTime() - 5 * minute),
      notAfter: new Date(now.getTime() + 90 * day),
      issuer: 'CN=etcd-ca',
      serialNumber: serial,
    });
  });

  void test('reads a certificate made by openssl, including a SAN value Node has to quote', () => {
    const configPath = join(directory, 'san.cnf');
    writeFileSync(
      configPath,
      '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=@alt\n[alt]\nDNS.1 = a, b\nDNS.2 = plain.example\nIP.1 = 192.0.2.7\n',
    );
    const certPath = join(directory, 'openssl-made.pem');
    openssl(
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(directory, 'openssl-made.key'),
      '-out', certPath, '-days', '1', '-subj', '/O=b, with comma/CN=odd', '-config', configPath, '-extensions', 'ext',
    );
    const description = describeCertificate(readFileSync(certPath, 'utf8'));
    assert.equal(description.commonName, 'odd');
    assert.deepEqual(description.organizations, ['b, with comma']);
    assert.deepEqual(description.dnsNames, ['a, b', 'plain.example']);
    assert.deepEqual(description.ipAddresses, ['192.0.2.7']);
  });

  void test('throws, naming certPem, for something that is not a certificate', () => {
    assert.throws(() => describeCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /describeCertificate: certPem is not a PEM certificate/);
  });
});

void describe('certificateNeedsRenewal', () => {
  const now = new Date('2026-06-01T00:00:00.000Z');
  let certPem: string;
  let notBefore: number;
  let notAfter: number;
  before(async () => {
    const ca = await createCertificateAuthority({ commonName: 'kubernetes', now });
    certPem = (await issueCertificate({ ca, commonName: 'system:kube-controller-manager', usages: ['client'], validity: 30 * day, now })).certPem;
    notBefore = now.getTime() - 5 * minute;
    notAfter = now.getTime() + 30 * day;
  });

  void test('does not renew until the time left reaches renewBefore', () => {
    assert.equal(certificateNeedsRenewal(certPem, { renewBefore: 7 * day, now }), false);
    assert.equal(certificateNeedsRenewal(certPem, { renewBefore: 7 * day, now: new Date(notAfter - 7 * day - 1) }), false);
  });

  void test('renews exactly at notAfter - renewBefore and any time after', () => {
    assert.equal(certificateNeedsRenewal(certPem, { renewBefore: 7 * day, now: new Date(notAfter - 7 * day) }), true);
    assert.equal(certificateNeedsRenewal(certPem, { renewBefore: 7 * day, now: new Date(notAfter - 1) }), true);
    assert.equal(certificateNeedsRenewal(certPem, { renewBefore: 7 * day, now: new Date(notAfter + day) }), true);
  });

  void test('with renewBefore 0 renews only at expiry', () => {
    assert.equal(certificateNeedsRenewal(certPem, { renewBefore: 0, now: new Date(notAfter - 1) }), false);
    assert.equal(certificateNeedsRenewal(certPem, { renewBefore: 0, now: new Date(notAfter) }), true);
  });

  void test('renews a certificate that is not valid yet', () => {
    assert.equal(certificateNeedsRenewal(certPem, { renewBefore: 0, now: new Date(notBefore) }), false);
    assert.equal(certificateNeedsRenewal(certPem, { renewBefore: 0, now: new Date(notBefore - 1) }), true);
  });

  void test('rejects a negative renewBefore and an invalid now', () => {
    assert.throws(() => certificateNeedsRenewal(certPem, { renewBefore: -1, now }), /certificateNeedsRenewal: renewBefore must be zero or a positive number/);
    assert.throws(() => certificateNeedsRenewal(certPem, { renewBefore: 0, now: new Date(Number.NaN) }), /certificateNeedsRenewal: now must be a valid Date/);
  });
});

void describe('verifyIssuedBy', () => {
  void test('is false for a CA checked against a leaf it did not sign, and throws for a non-certificate', async () => {
    const ca = await createCertificateAuthority({ commonName: 'kubernetes' });
    const leaf = await issueCertificate({ ca, commonName: 'x', usages: ['client'], validity: day });
    assert.equal(verifyIssuedBy(ca.certPem, leaf.certPem), false);
    assert.equal(verifyIssuedBy(ca.certPem, ca.certPem), true);
    assert.throws(() => verifyIssuedBy(leaf.certPem, 'not pem'), /verifyIssuedBy: caCertPem is not a PEM certificate/);
  });
});
