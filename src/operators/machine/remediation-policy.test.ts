import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_REMEDIATION, clusterMachinesHealth, decideRemediation, type MachineHealth } from './remediation-policy.ts';

const now = new Date('2026-12-06T12:00:00Z');
const machine = (name: string, healthy: boolean, zone = 'zone-a', remediating = false): MachineHealth => ({ name, zone, healthy, remediating });

test('a healthy machine needs nothing', () => {
  assert.equal(decideRemediation({ machine: machine('w1', true), peers: [machine('w1', true)], guestReachable: true, now, settings: DEFAULT_REMEDIATION }).action, 'none');
});

test('one unhealthy machine of two is restarted first, then reinstalled after the cooldown, then replacement is asked for', () => {
  const peers = [machine('w1', false), machine('w2', true)];
  const first = decideRemediation({ machine: peers[0]!, peers, guestReachable: true, now, settings: DEFAULT_REMEDIATION });
  assert.equal(first.action, 'restart');
  const cooling = decideRemediation({ machine: peers[0]!, peers, guestReachable: true, last: { step: 0, time: new Date(now.getTime() - 1000) }, now, settings: DEFAULT_REMEDIATION });
  assert.equal(cooling.action, 'hold');
  const second = decideRemediation({ machine: peers[0]!, peers, guestReachable: true, last: { step: 0, time: new Date(now.getTime() - DEFAULT_REMEDIATION.cooldownMs) }, now, settings: DEFAULT_REMEDIATION });
  assert.equal(second.action, 'reinstall');
  const third = decideRemediation({ machine: peers[0]!, peers, guestReachable: true, last: { step: 1, time: new Date(now.getTime() - DEFAULT_REMEDIATION.cooldownMs) }, now, settings: DEFAULT_REMEDIATION });
  assert.equal(third.action, 'replace');
});

test('nothing is done while two of three machines of a cluster are unhealthy: the network or control plane is the likely fault', () => {
  const peers = [machine('w1', false), machine('w2', false), machine('w3', true)];
  const decision = decideRemediation({ machine: peers[0]!, peers, guestReachable: true, now, settings: DEFAULT_REMEDIATION });
  assert.equal(decision.action, 'hold');
  assert.match(decision.action === 'hold' ? decision.message : '', /2 of 3 Machines of the Cluster are unhealthy/);
});

test('a zone mostly down holds remediation in it even when the cluster as a whole is mostly healthy', () => {
  const peers = [machine('a1', false, 'zone-a'), machine('a2', false, 'zone-a'), machine('a3', true, 'zone-a'), ...['b1', 'b2', 'b3', 'b4', 'b5'].map((name) => machine(name, true, 'zone-b'))];
  const decision = decideRemediation({ machine: peers[0]!, peers, guestReachable: true, now, settings: DEFAULT_REMEDIATION });
  assert.equal(decision.action === 'hold' && decision.reason, 'HeldTooManyUnhealthy');
  assert.match(decision.action === 'hold' ? decision.message : '', /zone zone-a/);
});

test('nothing is done while the guest API is unreachable', () => {
  const decision = decideRemediation({ machine: machine('w1', false), peers: [machine('w1', false), machine('w2', true), machine('w3', true)], guestReachable: false, now, settings: DEFAULT_REMEDIATION });
  assert.equal(decision.action === 'hold' && decision.reason, 'HeldGuestUnreachable');
});

test('at most one machine of a cluster is under remediation at once', () => {
  const peers = [machine('w1', false), machine('w2', false, 'zone-a', true), ...['w3', 'w4', 'w5'].map((name) => machine(name, true))];
  const decision = decideRemediation({ machine: peers[0]!, peers, guestReachable: true, now, settings: DEFAULT_REMEDIATION });
  assert.equal(decision.action === 'hold' && decision.reason, 'HeldInFlightLimit');
});

test('the Cluster sees whether its unhealthy Machines are repaired or why remediation holds', () => {
  const peer = (name: string, healthy: boolean, zone = 'a') => ({ name, zone, healthy, remediating: false });
  assert.deepEqual(clusterMachinesHealth([peer('w1', true), peer('w2', true)], true, DEFAULT_REMEDIATION), { status: 'True', reason: 'AllHealthy', message: '2 Machine(s) healthy' });
  const one = clusterMachinesHealth([peer('w1', true), peer('w2', true), peer('w3', false)], true, DEFAULT_REMEDIATION);
  assert.equal(one.reason, 'Remediating');
  const two = clusterMachinesHealth([peer('w1', true), peer('w2', false), peer('w3', false)], undefined, DEFAULT_REMEDIATION);
  assert.equal(two.reason, 'HeldTooManyUnhealthy');
  assert.match(two.message, /2 of 3 Machines unhealthy \(w2, w3\), more than 55%/);
  assert.equal(clusterMachinesHealth([peer('w1', true), peer('w2', false)], false, DEFAULT_REMEDIATION).reason, 'HeldGuestUnreachable');
  const zone = clusterMachinesHealth([peer('w1', true, 'a'), peer('w2', true, 'a'), peer('w3', true, 'b'), peer('w4', false, 'b'), peer('w5', false, 'b'), peer('w6', true, 'a')], true, DEFAULT_REMEDIATION);
  assert.equal(zone.reason, 'HeldTooManyUnhealthy');
  assert.match(zone.message, /in zone b/);
});
