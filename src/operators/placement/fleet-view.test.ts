import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cell } from '../../api/v1alpha1/cell.ts';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { fleetView, fleetViewText } from './fleet-view.ts';

const cells: Cell[] = [
  { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cell', metadata: { name: 'b' }, spec: { region: 'eu' }, status: { guests: 1, freePercent: 70, capacity: { cpu: '96000m', memory: '196608Mi', pods: '750' }, requested: { cpu: '450m', memory: '960Mi', pods: '4' }, conditions: [{ type: 'Reachable', status: 'True', reason: 'APIAnswers', message: '', lastTransitionTime: '2026-12-06T00:00:00Z' }] } },
  { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cell', metadata: { name: 'a' }, spec: { region: 'eu', state: 'Cordoned' } },
];
const clusters: Cluster[] = [
  { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'shop', namespace: 'team' }, spec: { version: '1.37.2', mode: 'Minimal', placement: { region: 'eu' } }, status: { cell: 'b', tier: 'S', load: { score: 312.5 }, versions: { apiServer: '1.36.3' }, certificates: { notAfter: '2027-12-06T00:00:00Z' }, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: '2026-12-06T00:00:00Z' }] } },
  { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'big', namespace: 'team' }, spec: { version: '1.37.2', placement: { region: 'eu' } }, status: { conditions: [{ type: 'Placed', status: 'False', reason: 'NoFittingCell', message: '', lastTransitionTime: '2026-12-06T00:00:00Z' }] } },
  { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'here', namespace: 'default' }, spec: { version: '1.37.2', tier: 'M' } },
];

test('the fleet view shows each guest\'s cell, region, running version, tier, load, readiness and certificate expiry', () => {
  const view = fleetView(clusters, cells);
  assert.deepEqual(view.guests.map((g) => `${g.namespace}/${g.name}`), ['default/here', 'team/big', 'team/shop']);
  assert.deepEqual(view.guests[2], { namespace: 'team', name: 'shop', cell: 'b', region: 'eu', version: '1.36.3', mode: 'Minimal', tier: 'S', loadScore: 312.5, ready: 'True', phase: '', certificatesExpire: '2027-12-06T00:00:00Z' });
  assert.equal(view.guests[1]?.cell, '<unplaced>');
  assert.equal(view.guests[1]?.phase, 'Unplaced');
  assert.equal(view.guests[0]?.tier, 'M');
  assert.deepEqual(view.cells.map((c) => [c.name, c.state, c.guests, c.reachable]), [['a', 'Cordoned', 0, 'Unknown'], ['b', 'Open', 1, 'True']]);
});

test('the text view has a cell table and a guest table', () => {
  const text = fleetViewText(fleetView(clusters, cells));
  assert.match(text, /^CELL\s+REGION\s+STATE/m);
  assert.match(text, /^b\s+eu\s+Open\s+True\s+1\s+70\s+450m\/96000m/m);
  assert.match(text, /^team\s+shop\s+b\s+eu\s+1\.36\.3\s+Minimal\s+S\s+312\.5\s+True\s+2027-12-06/m);
  assert.match(text, /3 guest\(s\) in 2 cell\(s\)/);
});
