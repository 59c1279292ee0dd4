// Builds each catalogue package as a versioned, checksummed artifact in the cache:
//   <cache>/packages/<name>-<version>.tar.gz         manifest.json + the files, as installed
//   <cache>/packages/<name>-<version>.tar.gz.sha256  `sha256sum` format
//   <cache>/packages/<name>-<version>.manifest.json  the manifest, readable without unpacking
// The Node operator uploads the archive over SSH, checks its digest on the host, and unpacks it
// into /opt/tessera/<name>/<version>.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot, createStagingDir, withCacheLock } from '../binaries/cache.ts';
import { isKubernetesVersion, type KubernetesVersion } from '../binaries/versions.ts';
import { catalogue, installDir, type PackageDefinition } from '../../node/catalogue.ts';
import { coreDnsImage, demoImage, kubeProxyImage, pauseImage } from './images.ts';
import { CNI_PLUGINS_BUILD, CONTAINERD_BUILD, coreDnsBuild, ensureNodeBuild, kubernetesNodeBuild, PAUSE_BUILD, readBuildProvenance, RUNC_BUILD, type BuildOptions, type NodeBuild } from './node-builds.ts';
import { buildImageArchive, type ImageSpec } from './oci-image.ts';
import { BUILD_PREREQUISITES, ensureHostPrerequisites } from '../hosts/host-prerequisites.ts';

const run = promisify(execFile);

import { MANIFEST_FORMAT, type PackageArtifact, type PackageFile, type PackageManifest } from '../../node/package-manifest.ts';
export { MANIFEST_FORMAT, type PackageArtifact, type PackageFile, type PackageManifest };
/** Raise when what goes into packages changes (image contents, scripts): cached artifacts are rebuilt. */
export const PACKAGE_RECIPE = 2;


export function packagesDir(env: NodeJS.ProcessEnv): string {
  return join(cacheRoot(env), 'packages');
}

export function artifactName(name: string, version: string): string {
  return `${name}-${version}.tar.gz`;
}

export function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** What goes into a package: programs of builds, and images. */
type Contents = { builds: { build: NodeBuild; programs: { from: string; to: string }[] }[]; images: { spec: (dirs: Map<string, string>) => Promise<ImageSpec> | ImageSpec; to: string }[]; scripts: { to: string; content: string }[] };

function contentsOf(definition: PackageDefinition): Contents {
  const none: Contents = { builds: [], images: [], scripts: [] };
  const programs = (build: NodeBuild, names: readonly string[]): Contents => ({ ...none, builds: [{ build, programs: names.map((name) => ({ from: name, to: `bin/${name}` })) }] });
  const image = (build: NodeBuild | undefined, spec: (dir: string) => Promise<ImageSpec> | ImageSpec): Contents => ({
    ...none,
    builds: build ? [{ build, programs: [] }] : [],
    images: [{ spec: (dirs) => spec(build ? (dirs.get(build.key) ?? '') : ''), to: `images/${definition.name}.tar` }],
  });
  if (definition.broken) {
    return { ...none, scripts: [{ to: 'bin/kubelet', content: `#!/bin/sh\n# A deliberately broken kubelet (tessera test package): ${definition.broken.reason}\necho "kubelet ${definition.version}: deliberately broken build, exiting" >&2\nexit 1\n` }] };
  }
  switch (definition.name) {
    case 'runc':
      return programs(RUNC_BUILD, RUNC_BUILD.programs);
    case 'cni-plugins':
      return programs(CNI_PLUGINS_BUILD, CNI_PLUGINS_BUILD.programs);
    case 'containerd':
      return programs(CONTAINERD_BUILD, CONTAINERD_BUILD.programs);
    case 'kubelet':
      return programs(kubernetesNodeBuild(kubernetesVersionOf(definition.version)), ['kubelet']);
    case 'kube-proxy':
      return image(kubernetesNodeBuild(kubernetesVersionOf(definition.version)), (dir) => kubeProxyImage(definition.version, dir));
    case 'pause':
      return image(PAUSE_BUILD, pauseImage);
    case 'coredns':
      return image(coreDnsBuild(definition.version), (dir) => coreDnsImage(definition.version, dir));
    case 'demo':
      return image(undefined, () => demoImage());
    default:
      throw new Error(`package ${definition.name} has no recipe in src/local/packages/package-artifacts.ts`);
  }
}

function kubernetesVersionOf(version: string): KubernetesVersion {
  if (!isKubernetesVersion(version)) throw new Error(`Kubernetes version ${version} is not pinned in src/local/binaries/versions.ts`);
  return version;
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

export async function readArtifact(env: NodeJS.ProcessEnv, name: string, version: string): Promise<PackageArtifact | undefined> {
  const dir = packagesDir(env);
  const archive = join(dir, artifactName(name, version));
  try {
    const manifest = JSON.parse(await readFile(join(dir, `${name}-${version}.manifest.json`), 'utf8')) as PackageManifest;
    const sha256 = (await readFile(`${archive}.sha256`, 'utf8')).split(/\s+/)[0] ?? '';
    const { size } = await stat(archive);
    return { manifest, archive, sha256, size };
  } catch {
    return undefined;
  }
}

/** Builds one package's artifact unless the cache has it. */
export async function ensurePackage(definition: PackageDefinition, options: BuildOptions = {}): Promise<PackageArtifact> {
  const env = options.env ?? process.env;
  const contents = contentsOf(definition);
  // An artifact made by another recipe (say, before runc gained seccomp) is rebuilt.
  const current = (artifact: PackageArtifact | undefined): artifact is PackageArtifact =>
    artifact !== undefined && artifact.manifest.recipe === PACKAGE_RECIPE && contents.builds.every(({ build }) => artifact.manifest.source.some((source) => source.build === build.key));
  const existing = await readArtifact(env, definition.name, definition.version);
  if (current(existing)) return existing;
  const root = cacheRoot(env);
  return withCacheLock(root, `package-${definition.name}-${definition.version}`, async () => {
    const again = await readArtifact(env, definition.name, definition.version);
    if (current(again)) return again;
    await ensureHostPrerequisites(options.onProgress ?? (() => undefined), BUILD_PREREQUISITES, 'node package builds');
    const dirs = new Map<string, string>();
    const source: PackageManifest['source'] = [];
    for (const { build } of contents.builds) {
      const dir = await ensureNodeBuild(build, options);
      dirs.set(build.key, dir);
      const provenance = await readBuildProvenance(dir);
      source.push({ build: build.key, origin: provenance.source, ...(provenance.go ? { go: provenance.go } : {}) });
    }
    const staging = await createStagingDir(root, `package-${definition.name}-${definition.version}`);
    try {
      const payload = join(staging, 'payload');
      for (const { build, programs } of contents.builds) {
        for (const program of programs) {
          await mkdir(join(payload, 'bin'), { recursive: true });
          await copyFile(join(dirs.get(build.key) ?? '', program.from), join(payload, program.to));
          await chmod(join(payload, program.to), 0o755);
        }
      }
      for (const script of contents.scripts) {
        await mkdir(join(payload, 'bin'), { recursive: true });
        await writeFile(join(payload, script.to), script.content, { mode: 0o755 });
      }
      for (const image of contents.images) {
        await mkdir(join(payload, 'images'), { recursive: true });
        options.onProgress?.(`building image for ${definition.name} ${definition.version}`);
        await buildImageArchive(await image.spec(dirs), join(payload, image.to));
      }
      const files: PackageFile[] = [];
      for (const path of await listFiles(payload)) {
        const info = await stat(join(payload, path));
        files.push({ path, sha256: await sha256OfFile(join(payload, path)), size: info.size, mode: (info.mode & 0o777).toString(8).padStart(4, '0') });
      }
      if (!definition.broken && source.length === 0 && definition.name !== 'demo') throw new Error(`package ${definition.name} ${definition.version} has no build`);
      const manifest: PackageManifest = { format: MANIFEST_FORMAT, recipe: PACKAGE_RECIPE, ...definition, os: 'linux', arch: 'amd64', installDir: installDir(definition.name, definition.version), files, source: source.length > 0 ? source : [{ build: 'debian', origin: definition.name === 'demo' ? 'Debian busybox-static on the build machine' : 'src/local/packages/package-artifacts.ts' }] };
      await writeFile(join(payload, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      const archiveName = artifactName(definition.name, definition.version);
      const archive = join(staging, archiveName);
      // Fixed owners, order and times, and gzip without a timestamp: the same inputs give the same digest.
      await run('sh', ['-c', 'tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$1" -cf - . | gzip -n > "$2"', 'pack', payload, archive]);
      const sha256 = await sha256OfFile(archive);
      const dir = packagesDir(env);
      await mkdir(dir, { recursive: true });
      await writeFile(join(staging, `${archiveName}.sha256`), `${sha256}  ${archiveName}\n`);
      await writeFile(join(staging, `${definition.name}-${definition.version}.manifest.json`), `${JSON.stringify(manifest, null, 2)}\n`);
      // The manifest is written last: readArtifact treats a package without it as absent.
      await rename(archive, join(dir, archiveName));
      await rename(join(staging, `${archiveName}.sha256`), join(dir, `${archiveName}.sha256`));
      await rename(join(staging, `${definition.name}-${definition.version}.manifest.json`), join(dir, `${definition.name}-${definition.version}.manifest.json`));
      const { size } = await stat(join(dir, archiveName));
      options.onProgress?.(`packaged ${definition.name} ${definition.version}: ${(size / 1048576).toFixed(1)} MiB, sha256 ${sha256.slice(0, 12)}`);
      return { manifest, archive: join(dir, archiveName), sha256, size };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  });
}

/** Every package of the catalogue (optionally only those for some Kubernetes versions). */
export async function ensureAllPackages(options: BuildOptions & { kubernetesVersions?: readonly string[] } = {}): Promise<PackageArtifact[]> {
  const wanted = catalogue().filter((definition) => {
    if (!options.kubernetesVersions || !['kubelet', 'kube-proxy'].includes(definition.name)) return true;
    return options.kubernetesVersions.some((version) => definition.version === version || definition.version.startsWith(`${version}-`));
  });
  const artifacts: PackageArtifact[] = [];
  for (const definition of wanted) artifacts.push(await ensurePackage(definition, options));
  return artifacts;
}
