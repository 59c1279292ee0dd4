// Checks the artifacts `npm run packages` built (npm test builds them before unit tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogue } from '../../node/catalogue.ts';
import { readArtifact, sha256OfFile } from './package-artifacts.ts';

const artifacts = await Promise.all(catalogue().map(async (definition) => ({ definition, artifact: await readArtifact(process.env, definition.name, definition.version) })));

test('every catalogue package is built, and its published checksum is the archive\'s', async () => {
  for (const { definition, artifact } of artifacts) {
    assert.ok(artifact, `${definition.name} ${definition.version} is built (run \`npm run packages\`)`);
    assert.equal(await sha256OfFile(artifact.archive), artifact.sha256, `${definition.name} ${definition.version}`);
    assert.equal(artifact.manifest.installDir, `/opt/tessera/${definition.name}/${definition.version}`);
    assert.deepEqual(artifact.manifest.activation, definition.activation);
  }
});

test('an unpacked package holds exactly the files of its manifest, with their checksums', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-package-'));
  try {
    for (const { definition, artifact } of artifacts) {
      if (!artifact) continue;
      const target = join(dir, `${definition.name}-${definition.version}`);
      execFileSync('mkdir', ['-p', target]);
      execFileSync('tar', ['-xzf', artifact.archive, '-C', target]);
      const listing = artifact.manifest.files.map((file) => `${file.sha256}  ${file.path}`).join('\n');
      execFileSync('sha256sum', ['--check', '--strict', '--quiet', '-'], { cwd: target, input: `${listing}\n` });
      const found = execFileSync('find', ['.', '-type', 'f', '!', '-name', 'manifest.json'], { cwd: target, encoding: 'utf8' }).trim().split('\n').map((path) => path.slice(2)).sort();
      assert.deepEqual(found, artifact.manifest.files.map((file) => file.path).sort());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('programs report the version their package is named after', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-package-'));
  try {
    const checks: Record<string, { program: string; args: string[] }> = {
      kubelet: { program: 'bin/kubelet', args: ['--version'] },
      containerd: { program: 'bin/containerd', args: ['--version'] },
      runc: { program: 'bin/runc', args: ['--version'] },
      'cni-plugins': { program: 'bin/bridge', args: ['--version'] },
    };
    for (const { definition, artifact } of artifacts) {
      const check = checks[definition.name];
      if (!artifact || !check || definition.broken) continue;
      execFileSync('tar', ['-xzf', artifact.archive, '-C', dir, `./${check.program}`]);
      const result = spawnSync(join(dir, check.program), check.args, { encoding: 'utf8' });
      const output = `${result.stdout}${result.stderr}`;
      assert.match(output, new RegExp(`v?${definition.version.replaceAll('.', '\\.')}\\b`), `${definition.name}: ${output}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
