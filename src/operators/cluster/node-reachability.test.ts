import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults, type ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { decideNodeReachability } from './node-reachability.ts';

const spec = (extra: Partial<ClusterSpec> = {}) => withDefaults({ version: '1.37.2', ...extra });
const cellFile = '/var/lib/tessera/egress-selector.yaml';

test('unset: the cell\'s egress proxy when it has one, else direct, with no complaint', () => {
  assert.deepEqual(decideNodeReachability(spec(), cellFile), { mode: 'EgressProxy', egressSelectorConfigFile: cellFile, message: `the API server reaches nodes through the cell's egress proxy (${cellFile})` });
  const direct = decideNodeReachability(spec(), undefined);
  assert.equal(direct.mode, 'Direct');
  assert.equal(direct.problem, undefined);
  assert.equal(direct.egressSelectorConfigFile, undefined);
});

test('Direct is honoured even in a cell with a proxy', () => {
  const decision = decideNodeReachability(spec({ network: { nodeReachability: 'Direct' } }), cellFile);
  assert.equal(decision.mode, 'Direct');
  assert.equal(decision.egressSelectorConfigFile, undefined);
  assert.equal(decision.problem, undefined);
});

test('EgressProxy in a cell without one is a problem naming the field and the fix, and renders direct', () => {
  const decision = decideNodeReachability(spec({ network: { nodeReachability: 'EgressProxy' } }), undefined);
  assert.equal(decision.mode, 'Direct');
  assert.match(decision.problem ?? '', /spec\.network\.nodeReachability is EgressProxy but this cell has no egress proxy/);
  assert.match(decision.problem ?? '', /set Direct or place the Cluster in a cell with a proxy/);
});

test('an egress selector given in extraArgs wins: nothing of the cell\'s is mounted', () => {
  const decision = decideNodeReachability(spec({ network: { nodeReachability: 'Direct' }, controlPlane: { apiServer: { extraArgs: { 'egress-selector-config-file': '/mine.yaml' } } } }), cellFile);
  assert.equal(decision.mode, 'EgressProxy');
  assert.equal(decision.egressSelectorConfigFile, undefined);
  assert.match(decision.message, /\/mine\.yaml/);
});
