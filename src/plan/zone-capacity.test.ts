import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidr } from './cidr.ts';
import { vswitchNodeCapacity, zoneCapacities } from './zone-capacity.ts';

test('a /24 vSwitch holds 252 nodes: the cloud keeps the first and the last three addresses', () => {
  assert.equal(vswitchNodeCapacity(cidr('192.168.0.0/24')), 252);
  assert.equal(vswitchNodeCapacity(cidr('10.0.0.0/22')), 1020);
});

test('tiny vSwitches hold nothing, and IPv6 vSwitches keep ten addresses', () => {
  assert.equal(vswitchNodeCapacity(cidr('192.168.0.0/30')), 0);
  assert.equal(vswitchNodeCapacity(cidr('192.168.0.0/32')), 0);
  assert.equal(vswitchNodeCapacity(cidr('fd00::/120')), 246);
  assert.equal(vswitchNodeCapacity(cidr('fd00::/64')), Number.MAX_SAFE_INTEGER);
});

test('zones without a valid vSwitch report no capacity', () => {
  assert.deepEqual(zoneCapacities([{ name: 'a', cidr: cidr('192.168.0.0/24') }, { name: 'b', cidr: null }]), [
    { name: 'a', vswitchCIDR: '192.168.0.0/24', nodeCapacity: 252 },
    { name: 'b', vswitchCIDR: null, nodeCapacity: 0 },
  ]);
});
