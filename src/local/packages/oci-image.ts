// Container images without a registry: an OCI image layout (one uncompressed layer, its config,
// a manifest, an index naming the image) packed into one tar archive, which
// `ctr -n k8s.io images import` loads into a host's containerd. Tars are made by GNU tar with
// fixed owners, order and times, so the same inputs give the same digests.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type ImageFile =
  | { path: string; copyFrom: string; mode?: number }
  | { path: string; content: string; mode?: number }
  | { path: string; symlinkTo: string }
  | { path: string; directory: true; mode?: number };

export type ImageConfig = {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
};

export type ImageSpec = {
  /** Full reference, e.g. "registry.k8s.io/pause:3.10.2". */
  reference: string;
  files: readonly ImageFile[];
  config: ImageConfig;
};

export type BuiltImage = { reference: string; manifestDigest: string; archive: string };

const DETERMINISTIC_TAR = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime'];

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** "registry.k8s.io/coredns/coredns:v1.14.6" -> its tag, "v1.14.6". */
export function tagOf(reference: string): string {
  const lastSlash = reference.lastIndexOf('/');
  const colon = reference.indexOf(':', lastSlash + 1);
  if (colon === -1) throw new Error(`image reference "${reference}" has no tag: write it as name:tag`);
  return reference.slice(colon + 1);
}

async function materialise(root: string, files: readonly ImageFile[]): Promise<void> {
  for (const file of files) {
    const target = join(root, file.path);
    await mkdir(dirname(target), { recursive: true });
    if ('directory' in file) {
      await mkdir(target, { recursive: true });
      await chmod(target, file.mode ?? 0o755);
    } else if ('symlinkTo' in file) {
      await rm(target, { force: true });
      await symlink(file.symlinkTo, target);
    } else if ('copyFrom' in file) {
      await copyFile(file.copyFrom, target);
      await chmod(target, file.mode ?? 0o755);
    } else {
      await writeFile(target, file.content);
      await chmod(target, file.mode ?? 0o644);
    }
  }
}

async function writeBlob(layout: string, content: string): Promise<{ digest: string; size: number }> {
  const digest = sha256(content);
  await writeFile(join(layout, 'blobs', 'sha256', digest), content);
  return { digest: `sha256:${digest}`, size: Buffer.byteLength(content) };
}

/** Builds the image and writes its archive to `archive`. */
export async function buildImageArchive(spec: ImageSpec, archive: string): Promise<BuiltImage> {
  const work = await mkdtemp(join(dirname(archive), '.image-'));
  try {
    const rootfs = join(work, 'rootfs');
    const layout = join(work, 'layout');
    await mkdir(rootfs);
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    await materialise(rootfs, spec.files);

    const layerTar = join(work, 'layer.tar');
    await run('tar', [...DETERMINISTIC_TAR, '-C', rootfs, '-cf', layerTar, '.']);
    const layerDigest = await sha256OfFile(layerTar);
    const { size: layerSize } = await stat(layerTar);
    await rename(layerTar, join(layout, 'blobs', 'sha256', layerDigest));

    const config = await writeBlob(
      layout,
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '1970-01-01T00:00:00Z',
        config: spec.config,
        rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
        history: [{ created: '1970-01-01T00:00:00Z', created_by: 'tessera (src/local/packages/oci-image.ts)' }],
      }),
    );
    const manifest = await writeBlob(
      layout,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerDigest}`, size: layerSize }],
      }),
    );
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifest,
            platform: { architecture: 'amd64', os: 'linux' },
            // containerd names the imported image after io.containerd.image.name.
            annotations: { 'io.containerd.image.name': spec.reference, 'org.opencontainers.image.ref.name': tagOf(spec.reference) },
          },
        ],
      }),
    );
    await run('tar', [...DETERMINISTIC_TAR, '-C', layout, '-cf', archive, '.']);
    return { reference: spec.reference, manifestDigest: manifest.digest, archive };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * A dynamically linked program of the box and the shared libraries it loads (from `ldd`), as
 * image files at the same paths: for tools upstream ships in its images (iptables).
 */
export async function programWithLibraries(program: string): Promise<ImageFile[]> {
  const { stdout } = await run('ldd', [program]);
  const files: ImageFile[] = [{ path: program, copyFrom: program }];
  for (const line of stdout.split('\n')) {
    const resolved = /=>\s+(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (resolved) files.push({ path: resolved, copyFrom: resolved });
  }
  return files;
}
