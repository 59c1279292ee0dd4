import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostNamespace, podSubnetOf, sshAddressOf, switchNamespace, switchPortOf, validateHostName, vpcAddressOf } from './vpc-plan.ts';

const fabric = { id: 'a1b2c3', slot: 4 };

test('hosts get consecutive VPC addresses above the gateway, 250 per /24', () => {
  assert.equal(vpcAddressOf(1), '10.240.0.6');
  assert.equal(vpcAddressOf(2), '10.240.0.7');
  assert.equal(vpcAddressOf(249), '10.240.0.254');
  assert.equal(vpcAddressOf(250), '10.240.1.5');
});

test('SSH addresses are loopback addresses in the fabric\'s own slot, never .0 or .255', () => {
  assert.equal(sshAddressOf(fabric, 1), '127.204.0.2');
  assert.equal(sshAddressOf({ ...fabric, slot: 0 }, 249), '127.200.0.250');
  assert.equal(sshAddressOf(fabric, 250), '127.204.1.1');
  assert.throws(() => sshAddressOf({ ...fabric, slot: 50 }, 1), /slot 50 is out of range/);
  assert.throws(() => sshAddressOf(fabric, 0), /host index 0/);
});

test('namespace and port names carry the fabric id and fit the kernel\'s limits', () => {
  assert.equal(switchNamespace(fabric), 'tessera-a1b2c3-vpc');
  assert.equal(hostNamespace(fabric, 'w1'), 'tessera-a1b2c3-w1');
  assert.ok(switchPortOf(62_499).length <= 15);
});

test('host names must be DNS labels and not the switch\'s name', () => {
  assert.equal(validateHostName('w1'), undefined);
  assert.equal(validateHostName('worker-zone-a-01'), undefined);
  assert.match(validateHostName('W1') ?? '', /DNS label/);
  assert.match(validateHostName('-w') ?? '', /DNS label/);
  assert.match(validateHostName('a'.repeat(41)) ?? '', /at most 40/);
  assert.match(validateHostName('vpc') ?? '', /reserved/);
  assert.match(validateHostName('box') ?? '', /reserved/);
});

test('each host gets its own block of the guest pod range, by index', () => {
  assert.equal(podSubnetOf('10.244.0.0/16', 24, 1), '10.244.1.0/24');
  assert.equal(podSubnetOf('10.244.0.0/16', 24, 2), '10.244.2.0/24');
  assert.equal(podSubnetOf('172.16.0.0/16', 25, 3), '172.16.1.128/25');
  assert.throws(() => podSubnetOf('10.244.0.0/24', 24, 1), /has no pod block: 10.244.0.0\/24 holds 1 blocks/);
  assert.throws(() => podSubnetOf('10.244.0.0/16', 8, 1), /does not fit/);
});
