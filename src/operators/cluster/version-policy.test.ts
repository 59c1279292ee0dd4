import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults } from '../../api/v1alpha1/cluster.ts';
import type { CatalogueEntry } from '../../api/v1alpha1/version-catalogue.ts';
import { componentOverrideViolation, decideVersion } from './version-policy.ts';

const catalogue: CatalogueEntry[] = ['1.37.2', '1.37.1', '1.36.3', '1.35.4'].map((kubernetes) => ({ kubernetes, etcd: '3.7.3', coredns: '1.14.6', kubeProxy: kubernetes }));

test('a new guest may start at any catalogued version, and nothing else', () => {
  assert.deepEqual(decideVersion({ desired: '1.36.3', current: undefined, catalogue }).accepted, true);
  const refused = decideVersion({ desired: '1.34.0', current: undefined, catalogue });
  assert.equal(refused.accepted, false);
  assert.match(refused.accepted ? '' : refused.message, /spec\.version 1\.34\.0 is not a supported Kubernetes version; use one of 1\.37\.2, 1\.37\.1, 1\.36\.3, 1\.35\.4/);
});

test('one minor up is an upgrade; a minor down is refused naming the version to go back to', () => {
  assert.deepEqual(decideVersion({ desired: '1.37.2', current: '1.36.3', catalogue }), { accepted: true, version: '1.37.2', change: 'upgrade', message: 'upgrade from 1.36.3 to 1.37.2 allowed' });
  const down = decideVersion({ desired: '1.36.3', current: '1.37.2', catalogue });
  assert.equal(down.accepted ? '' : down.reason, 'MinorDowngrade');
  assert.match(down.accepted ? '' : down.message, /set spec\.version back to 1\.37\.2/);
});

test('skipping a minor is refused, naming the intermediate release to take first', () => {
  const skip = decideVersion({ desired: '1.37.2', current: '1.35.4', catalogue });
  assert.equal(skip.accepted ? '' : skip.reason, 'MinorSkip');
  assert.match(skip.accepted ? '' : skip.message, /set spec\.version to 1\.36\.3 first, then to 1\.37\.2/);
});

test('patch changes within a minor are allowed both ways', () => {
  assert.equal(decideVersion({ desired: '1.37.1', current: '1.37.2', catalogue }).accepted, true);
  assert.equal(decideVersion({ desired: '1.37.2', current: '1.37.1', catalogue }).accepted, true);
  const same = decideVersion({ desired: '1.37.2', current: '1.37.2', catalogue });
  assert.equal(same.accepted && same.change, 'none');
});

test('component overrides keep the skew policy and the catalogue', () => {
  const spec = (controlPlane: object) => withDefaults({ version: '1.37.2', controlPlane });
  assert.equal(componentOverrideViolation(spec({}), catalogue), undefined);
  assert.equal(componentOverrideViolation(spec({ scheduler: { version: '1.36.3' } }), catalogue), undefined);
  assert.match(componentOverrideViolation(spec({ apiServer: { version: '1.36.3' }, controllerManager: { version: '1.37.2' } }), catalogue)?.message ?? '', /spec\.controlPlane\.controllerManager\.version 1\.37\.2 is newer than the API server/);
  assert.match(componentOverrideViolation(spec({ scheduler: { version: '1.35.4' } }), catalogue)?.message ?? '', /more than one minor older/);
  assert.match(componentOverrideViolation(spec({ scheduler: { version: '1.30.0' } }), catalogue)?.message ?? '', /not a supported Kubernetes version/);
  assert.match(componentOverrideViolation(spec({ etcd: { version: '3.5.0' } }), catalogue)?.message ?? '', /spec\.controlPlane\.etcd\.version 3\.5\.0 is not a supported etcd release; use one of 3\.7\.3/);
});
