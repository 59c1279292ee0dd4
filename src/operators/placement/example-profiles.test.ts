import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { ClusterProfile } from '../../api/v1alpha1/cluster-profile.ts';
import { defaultTierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';
import { checkProfileTemplate } from './profile.ts';

const directory = new URL('../../../examples/profiles/', import.meta.url);

test('the example profiles (standard, minimal, ci, large) are valid templates naming tiers that exist', async () => {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.yaml')).sort();
  assert.deepEqual(files, ['ci.yaml', 'large.yaml', 'minimal.yaml', 'standard.yaml']);
  for (const file of files) {
    const profile = parse(await readFile(new URL(file, directory), 'utf8')) as ClusterProfile;
    assert.equal(profile.kind, 'ClusterProfile', file);
    assert.deepEqual(checkProfileTemplate(profile.spec.template), [], file);
    const tier = profile.spec.template['tier'];
    if (tier !== undefined) assert.ok(defaultTierPolicySpec.tiers.some((t) => t.name === tier), `${file}: tier ${String(tier)}`);
  }
});
