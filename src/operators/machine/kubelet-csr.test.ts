// Requests made by real openssl, judged as the operator judges a guest's pending CSRs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER, judgeAmong, judgeKubeletCsr, type KubeletCsr, type MachineIdentity } from './kubelet-csr.ts';

function request(subject: string, subjectAltName?: string): string {
  const args = ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-subj', subject];
  if (subjectAltName) args.push('-addext', `subjectAltName=${subjectAltName}`);
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

const machine: MachineIdentity = { nodeName: 'w1', bootstrapTokenIds: ['abc123'], hostnames: ['w1'], addresses: ['10.240.0.6'] };
const clientPem = request('/O=system:nodes/CN=system:node:w1');
const client = (overrides: Partial<KubeletCsr> = {}): KubeletCsr => ({ name: 'csr-1', signerName: KUBELET_CLIENT_SIGNER, username: 'system:bootstrap:abc123', groups: ['system:bootstrappers', 'system:authenticated'], usages: ['digital signature', 'client auth'], requestPem: clientPem, ...overrides });
const serving = (pem: string, overrides: Partial<KubeletCsr> = {}): KubeletCsr => ({ name: 'csr-2', signerName: KUBELET_SERVING_SIGNER, username: 'system:node:w1', groups: ['system:nodes', 'system:authenticated'], usages: ['digital signature', 'server auth'], requestPem: pem, ...overrides });

test('the client certificate of the Machine\'s own node, asked for with its own token or by the node, is approved', () => {
  assert.equal(judgeKubeletCsr(client(), machine)?.verdict, 'approve');
  assert.equal(judgeKubeletCsr(client({ username: 'system:node:w1', groups: ['system:nodes'] }), machine)?.verdict, 'approve', 'a renewal');
});

test('another Machine\'s or a hand-joined node\'s requests are not this Machine\'s business', () => {
  assert.equal(judgeKubeletCsr(client({ username: 'system:bootstrap:zzz999', requestPem: request('/O=system:nodes/CN=system:node:w2') }), machine), undefined);
  assert.equal(judgeKubeletCsr({ ...client(), signerName: 'kubernetes.io/kube-apiserver-client' }, machine), undefined);
});

test('this Machine\'s token asking for another node\'s name, or a stranger asking for this node, is denied with the reason', () => {
  const stolen = judgeKubeletCsr(client({ requestPem: request('/O=system:nodes/CN=system:node:w2') }), machine);
  assert.equal(stolen?.verdict, 'deny');
  assert.match(stolen?.message ?? '', /may only ask for system:node:w1/);
  const stranger = judgeKubeletCsr(client({ username: 'system:bootstrap:zzz999' }), machine);
  assert.equal(stranger?.verdict, 'deny');
  assert.match(stranger?.message ?? '', /neither this Machine's bootstrap token \(abc123\) nor its Node/);
});

test('a client request with extra groups, addresses or server usages is denied', () => {
  assert.match(judgeKubeletCsr(client({ requestPem: request('/O=system:masters/CN=system:node:w1') }), machine)?.message ?? '', /organization must be exactly system:nodes/);
  assert.match(judgeKubeletCsr(client({ requestPem: request('/O=system:nodes/CN=system:node:w1', 'IP:10.240.0.6') }), machine)?.message ?? '', /names no DNS names or addresses/);
  assert.match(judgeKubeletCsr(client({ usages: ['client auth', 'server auth'] }), machine)?.message ?? '', /client auth only/);
});

test('a serving certificate naming the Machine\'s hostname and address, asked for by its node, is approved; any other name is denied', () => {
  assert.equal(judgeKubeletCsr(serving(request('/O=system:nodes/CN=system:node:w1', 'DNS:w1,IP:10.240.0.6')), machine)?.verdict, 'approve');
  const foreign = judgeKubeletCsr(serving(request('/O=system:nodes/CN=system:node:w1', 'DNS:w1,IP:10.0.0.1,DNS:kubernetes.default')), machine);
  assert.equal(foreign?.verdict, 'deny');
  assert.match(foreign?.message ?? '', /names kubernetes\.default, 10\.0\.0\.1, which are not the Machine's/);
  const byToken = judgeKubeletCsr(serving(request('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), { username: 'system:bootstrap:abc123', groups: ['system:bootstrappers'] }), machine);
  assert.match(byToken?.message ?? '', /requested by the Node itself/);
  assert.match(judgeKubeletCsr(serving(request('/O=system:nodes/CN=system:node:w1', 'email:a@b.c')), machine)?.message ?? '', /names email:a@b\.c/);
});

test('among hosts sharing one token, each host\'s request is approved for that host, not denied as a stranger\'s by another', () => {
  const shared = (nodeName: string, address: string): MachineIdentity => ({ nodeName, bootstrapTokenIds: ['abc123'], hostnames: [nodeName], addresses: [address] });
  const hosts = [shared('w1', '10.240.0.6'), shared('w2', '10.240.0.7')];
  const second = judgeAmong(client({ requestPem: request('/O=system:nodes/CN=system:node:w2') }), hosts);
  assert.equal(second?.verdict, 'approve');
  assert.equal(second?.nodeName, 'w2');
  assert.equal(judgeAmong(client({ requestPem: request('/O=system:nodes/CN=system:node:w9') }), hosts)?.verdict, 'deny', 'a name none of them has is denied');
});
