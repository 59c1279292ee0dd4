// Package archives from a directory laid out like the local build cache and a package mirror:
// <name>-<version>.tar.gz, its .sha256 and <name>-<version>.manifest.json. The operator uploads
// the archive and the host verifies the digest before unpacking.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackageManifest } from '../../node/package-manifest.ts';
import type { ArtifactSource } from './machine-pass.ts';

export function packageDirectory(directory: string): ArtifactSource {
  return async (definition) => {
    const base = join(directory, `${definition.name}-${definition.version}`);
    try {
      const manifest = JSON.parse(await readFile(`${base}.manifest.json`, 'utf8')) as PackageManifest;
      const sha256 = (await readFile(`${base}.tar.gz.sha256`, 'utf8')).trim().split(/\s+/)[0] ?? '';
      const { size } = await stat(`${base}.tar.gz`);
      return { manifest, archive: `${base}.tar.gz`, sha256, size };
    } catch (error) {
      throw new Error(`package ${definition.name} ${definition.version} is not in ${directory} (${(error as Error).message}): build it with \`tessera packages build\` or copy it there`, { cause: error });
    }
  };
}
