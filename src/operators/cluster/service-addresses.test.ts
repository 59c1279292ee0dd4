// Picking guest ClusterIPs: where the picks fall, and reading the Service range from a real API server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../controller/rest-client.ts';
import { Logger } from '../../controller/logger.ts';
import { cidr } from '../../plan/cidr.ts';
import { startTestApiServer } from '../../../test/harness/api-server.ts';
import { isAddressTaken, serviceAddressCandidate, serviceRangeReader } from './service-addresses.ts';
import ipaddr from 'ipaddr.js';

const toBigInt = (address: string) => ipaddr.parse(address).toByteArray().reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);

test('picks fall inside the range, never on its network, first or last address, and repeat for the same name and attempt', () => {
  for (const range of ['10.96.0.0/12', '127.188.0.0/16', '192.168.10.0/27', 'fd00:10:96::/108']) {
    const block = cidr(range);
    const picks = new Set<string>();
    for (let attempt = 0; attempt < 200; attempt++) {
      const pick = serviceAddressCandidate(range, 'team-a/shop-kube-apiserver', attempt);
      assert.ok(pick, `${range}: a pick`);
      const value = toBigInt(pick);
      assert.ok(value >= block.first + 2n && value < block.last, `${range}: ${pick} inside, not network/first/last`);
      picks.add(pick);
    }
    assert.ok(picks.size > (block.last - block.first > 1000n ? 190 : 10), `${range}: attempts spread (${picks.size} distinct)`);
    assert.equal(serviceAddressCandidate(range, 'team-a/shop-kube-apiserver', 3), serviceAddressCandidate(range, 'team-a/shop-kube-apiserver', 3));
  }
  assert.notEqual(serviceAddressCandidate('10.96.0.0/12', 'team-a/a-etcd-client', 0), serviceAddressCandidate('10.96.0.0/12', 'team-a/b-etcd-client', 0));
  assert.equal(serviceAddressCandidate('10.0.0.0/29', 'x', 0), undefined, 'too small to pick from');
  assert.equal(serviceAddressCandidate('not-a-cidr', 'x', 0), undefined);
});

test('only the API server\'s "already allocated" answer counts as a taken address', () => {
  assert.equal(isAddressTaken(new ApiError(422, 'Invalid', 'Service "x" is invalid: spec.clusterIPs: Invalid value: ["10.0.0.9"]: failed to allocate IP 10.0.0.9: provided IP is already allocated', undefined)), true);
  assert.equal(isAddressTaken(new ApiError(422, 'Invalid', 'spec.clusterIPs: Invalid value: ["10.0.0.9"]: failed to allocate IP 10.0.0.9: the provided IP (10.0.0.9) is not in the valid range', undefined)), false);
  assert.equal(isAddressTaken(new ApiError(409, 'Conflict', 'provided IP is already allocated', undefined)), false);
  assert.equal(isAddressTaken(new Error('provided IP is already allocated')), false);
});

test('the Service range is read from a real API server\'s default ServiceCIDR and kept; an unreadable one leaves the pick to the API server', { timeout: 120_000 }, async () => {
  const api = await startTestApiServer();
  try {
    const lines: string[] = [];
    const logger = new Logger({ write: (line: string) => lines.push(line) });
    let gets = 0;
    const client = { get: <T>(path: string) => (gets++, api.client.get<T>(path)) };
    let clock = 0;
    const read = serviceRangeReader(client, logger, () => clock);
    const expected = (await api.client.get<{ spec: { cidrs: string[] } }>('/apis/networking.k8s.io/v1/servicecidrs/kubernetes')).spec.cidrs[0];
    assert.ok(expected);
    assert.deepEqual(await Promise.all([read(), read()]), [expected, expected]);
    clock += 60_000;
    assert.equal(await read(), expected);
    assert.equal(gets, 1, 'read once while kept');
    clock += 5 * 60_000;
    assert.equal(await read(), expected);
    assert.equal(gets, 2, 'read again after five minutes');

    // The real API server allocates a pick, and answers a second Service asking for it as isAddressTaken expects.
    const pick = serviceAddressCandidate(expected, 'default/first', 0);
    const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { clusterIP: pick, ports: [{ port: 443 }] } });
    const created = await api.client.create<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services', service('first'));
    assert.equal(created.spec.clusterIP, pick);
    const refused = await api.client.create('/api/v1/namespaces/default/services', service('second')).then(() => undefined, (error: unknown) => error);
    assert.equal(isAddressTaken(refused), true, String(refused));

    const failing = serviceRangeReader({ get: () => Promise.reject(new ApiError(404, 'NotFound', 'the server could not find the requested resource', undefined)) }, logger, () => clock);
    assert.equal(await failing(), undefined);
    assert.ok(lines.some((line) => line.includes("cannot read the meta cluster's Service range")), 'the reason is logged');
  } finally {
    await api.stop();
  }
});
