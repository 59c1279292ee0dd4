import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import type { ClusterProfile } from '../../api/v1alpha1/cluster-profile.ts';
import { APPLIED_PROFILE_ANNOTATION, checkProfileTemplate, decideAppliedProfile, effectiveClusterSpec, mergeUnder } from './profile.ts';

const profile = (template: Record<string, unknown>, generation = 1, updatePolicy: 'OnCreate' | 'Rollout' = 'OnCreate'): ClusterProfile => ({
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'ClusterProfile',
  metadata: { name: 'ci', generation },
  spec: { template, updatePolicy },
});
const cluster = (spec: Partial<Cluster['spec']>, applied?: unknown): Pick<Cluster, 'metadata' | 'spec'> => ({
  metadata: { name: 'c', namespace: 'ns', ...(applied ? { annotations: { [APPLIED_PROFILE_ANNOTATION]: JSON.stringify(applied) } } : {}) },
  spec: { version: '1.37.2', profile: 'ci', ...spec },
});

test('a Cluster\'s own fields beat its profile\'s, nested objects merge field by field', () => {
  const template = { mode: 'Standard', tier: 'XS', certificates: { validity: '24h', renewBefore: '8h' } };
  const result = effectiveClusterSpec(cluster({ mode: 'Minimal', certificates: { validity: '48h' } }, { name: 'ci', generation: 1, template }));
  assert.ok(result.ready);
  assert.equal(result.spec.mode, 'Minimal');
  assert.equal(result.spec.tier, 'XS');
  assert.deepEqual(result.spec.certificates, { validity: '48h', renewBefore: '8h' });
});

test('own values always win, whatever the template holds', () => {
  const json = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(fc.integer(), fc.string(), fc.dictionary(fc.constantFrom('x', 'y'), fc.integer(), { noNullPrototype: true })), { noNullPrototype: true });
  fc.assert(
    fc.property(json, json, (template, own) => {
      const merged = mergeUnder(template, own);
      for (const [key, value] of Object.entries(own)) {
        if (typeof value === 'object' && typeof template[key] === 'object' && template[key] !== null) for (const [inner, v] of Object.entries(value)) assert.deepEqual((merged[key] as Record<string, unknown>)[inner], v);
        else assert.deepEqual(merged[key], value);
      }
      for (const key of Object.keys(template)) assert.ok(key in merged);
    }),
  );
});

test('a Cluster whose profile is not applied yet waits, naming the profile', () => {
  const result = effectiveClusterSpec(cluster({}));
  assert.ok(!result.ready);
  assert.match(result.message, /waiting for ClusterProfile ci/);
});

test('a profile change rolls no existing guest unless the profile says Rollout, and the guest is listed as pending', () => {
  const applied = { name: 'ci', generation: 1, template: { mode: 'Minimal' } };
  assert.deepEqual(decideAppliedProfile(cluster({}, applied), profile({ mode: 'Standard' }, 2)), { write: false, pending: true });
  const rollout = decideAppliedProfile(cluster({}, applied), profile({ mode: 'Standard' }, 2, 'Rollout'));
  assert.ok(rollout.write && rollout.reason === 'ProfileRolledOut' && rollout.applied.generation === 2);
  assert.deepEqual(decideAppliedProfile(cluster({}, applied), profile({ mode: 'Minimal' }, 3)), { write: false, pending: false });
  const first = decideAppliedProfile(cluster({}), profile({ mode: 'Minimal' }));
  assert.ok(first.write && first.reason === 'ProfileApplied');
});

test('a template is checked against the Cluster schema, naming the field', () => {
  assert.deepEqual(checkProfileTemplate({ mode: 'Minimal', tier: 'XS', certificates: { validity: '24h' } }), []);
  const problems = checkProfileTemplate({ mode: 'Tiny', colour: 'red' });
  assert.ok(problems.some((p) => p.startsWith('spec.template.colour is not a Cluster spec field')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('spec.template.mode:')), problems.join('\n'));
});

test('fields the API server filled with their defaults do not hide the profile\'s values', () => {
  // What the server stores for a Cluster that named only version, profile and placement.
  const stored = cluster({
    mode: 'Standard',
    paused: false,
    clusterType: 'Managed',
    network: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodeCIDRMaskSize: 24, proxyMode: 'iptables', plugin: 'none', clusterDomain: 'cluster.local' },
    certificates: { validity: '8760h', renewBefore: '720h', caValidity: '87600h' },
    placement: { region: 'local' },
  }, { name: 'ci', generation: 1, template: { mode: 'Minimal', certificates: { validity: '24h', renewBefore: '8h' }, network: { podCIDR: '10.50.0.0/16' } } });
  const result = effectiveClusterSpec(stored);
  assert.ok(result.ready);
  assert.equal(result.spec.mode, 'Minimal');
  assert.deepEqual(result.spec.certificates, { validity: '24h', renewBefore: '8h' });
  assert.equal(result.spec.network?.podCIDR, '10.50.0.0/16');
  assert.deepEqual(result.spec.placement, { region: 'local' });
  assert.equal(result.spec.version, '1.37.2');
});
