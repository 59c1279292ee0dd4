import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextMembershipAction, type MemberObservation } from './etcd-membership.ts';
import type { EtcdMember } from './etcd-client.ts';

const url = (i: number) => `https://shop-etcd-${i}.shop-etcd.default.svc.cluster.local:2380`;
const observed = (overrides: Partial<MemberObservation>[] = []): MemberObservation[] =>
  [0, 1, 2].map((i) => ({ name: `shop-etcd-${i}`, peerURL: url(i), podExists: true, podTerminating: false, dataExists: true, dataTerminating: false, healthy: true, ...overrides[i] }));
const members = (ids: number[], unnamed: number[] = []): EtcdMember[] =>
  ids.map((i) => ({ id: `${1000 + i}`, name: unnamed.includes(i) ? '' : `shop-etcd-${i}`, peerURLs: [url(i)], clientURLs: [], isLearner: false }));

test('a new cluster bootstraps every member that has no pod yet', () => {
  const action = nextMembershipAction({ formed: false, observed: observed([{ podExists: false }, { podExists: false }, { podExists: false }]), members: undefined });
  assert.deepEqual(action, { kind: 'bootstrap', members: ['shop-etcd-0', 'shop-etcd-1', 'shop-etcd-2'] });
});

test('a member whose pod is gone but whose data survives is started again with its identity', () => {
  const action = nextMembershipAction({ formed: true, observed: observed([{}, { podExists: false, healthy: false }]), members: members([0, 1, 2]) });
  assert.deepEqual(action, { kind: 'start', name: 'shop-etcd-1', state: 'existing' });
});

test('a member that lost pod and data is replaced: remove, then add, then start under the same name', () => {
  const lost = observed([{}, {}, { podExists: false, dataExists: false, healthy: false }]);
  assert.deepEqual(nextMembershipAction({ formed: true, observed: lost, members: members([0, 1, 2]) }), { kind: 'remove', name: 'shop-etcd-2', id: '1002' });
  assert.deepEqual(nextMembershipAction({ formed: true, observed: lost, members: members([0, 1]) }), { kind: 'add', name: 'shop-etcd-2', peerURL: url(2) });
  assert.deepEqual(nextMembershipAction({ formed: true, observed: lost, members: members([0, 1, 2], [2]) }), { kind: 'start', name: 'shop-etcd-2', state: 'existing' });
});

test('an added member is started only once its old claim is gone: a pod naming a terminating claim would never be scheduled', () => {
  const terminating = observed([{}, {}, { podExists: false, dataExists: false, dataTerminating: true, healthy: false }]);
  const action = nextMembershipAction({ formed: true, observed: terminating, members: members([0, 1, 2], [2]) });
  assert.equal(action.kind, 'wait');
  assert.match(action.kind === 'wait' ? action.reason : '', /shop-etcd-2 .*old claim/);
  // Removing and adding need no new claim, so they go ahead while the old one terminates.
  assert.equal(nextMembershipAction({ formed: true, observed: terminating, members: members([0, 1, 2]) }).kind, 'remove');
  assert.equal(nextMembershipAction({ formed: true, observed: terminating, members: members([0, 1]) }).kind, 'add');
});

test('no member is replaced while another member is unhealthy: quorum is never put at risk', () => {
  const action = nextMembershipAction({ formed: true, observed: observed([{ healthy: false }, {}, { podExists: false, dataExists: false, healthy: false }]), members: members([0, 1, 2]) });
  assert.equal(action.kind, 'wait');
});

test('with no member answering, only members with data are restarted', () => {
  assert.deepEqual(nextMembershipAction({ formed: true, observed: observed([{ podExists: false, healthy: false }]), members: undefined }), { kind: 'start', name: 'shop-etcd-0', state: 'existing' });
  assert.equal(nextMembershipAction({ formed: true, observed: observed([{ podExists: false, dataExists: false, healthy: false }]), members: undefined }).kind, 'wait');
});

test('data of a member no longer registered is discarded before it is added again', () => {
  const action = nextMembershipAction({ formed: true, observed: observed([{}, {}, { podExists: false, healthy: false }]), members: members([0, 1]) });
  assert.deepEqual(action, { kind: 'discard-data', name: 'shop-etcd-2' });
});

test('a converged set of members needs nothing', () => {
  assert.deepEqual(nextMembershipAction({ formed: true, observed: observed(), members: members([0, 1, 2]) }), { kind: 'none' });
});
