// What a built package is: its manifest (the catalogue entry plus every file with its digest)
// and where its archive is. Built by src/local/packages/package-artifacts.ts; read by the
// install steps and the Node operator, which upload the archive and verify it on the host.
import type { PackageDefinition } from './catalogue.ts';

export const MANIFEST_FORMAT = 'tessera.dev/package-manifest/v1';

export type PackageFile = { path: string; sha256: string; size: number; mode: string };

export type PackageManifest = PackageDefinition & {
  format: typeof MANIFEST_FORMAT;
  recipe: number;
  os: 'linux';
  arch: 'amd64';
  installDir: string;
  files: PackageFile[];
  /** Where the programs came from: the wrapper module and Go version of each build. */
  source: { build: string; origin: string; go?: string }[];
};

/** A built package: its manifest, the archive as a local file, and the archive's SHA-256. */
export type PackageArtifact = { manifest: PackageManifest; archive: string; sha256: string; size: number };
