// Finds or produces the pinned upstream binaries. Per component, in order:
//   1. $TESSERA_KUBE_BIN/<component>, when that directory holds it;
//   2. the cache, <cache>/<component>-<version>/<component>;
//   3. the official release, verified against its published SHA-256;
//   4. a `go build` of the wrapper module in tools/upstream/.
// Steps 3 and 4 write into the cache, under a lock, through an atomic rename.
import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cacheEntryPath,
  cacheRoot,
  createStagingDir,
  installEntry,
  isExecutableFile,
  readProvenance,
  removeAbandonedStaging,
  withCacheLock,
} from './cache.ts';
import type { Provenance } from './cache.ts';
import { DEFAULT_DOWNLOAD_OPTIONS, DownloadError, downloadVerified, extractTarMembers, fetchPublishedSha256 } from './download.ts';
import type { DownloadOptions } from './download.ts';
import { binaryNameOf, compareGoVersions, goBuild, GoToolchainMissingError, goVersion, requiredGoVersion } from './go-build.ts';
import type { GoBuildProgress } from './go-build.ts';
import { DEFAULT_KUBERNETES_VERSION, pinFor, UPSTREAM_MODULES_DIR, VERSION_ARGS } from './versions.ts';
import type { Component, ComponentPin, PinLookup } from './versions.ts';

export type BinarySource = 'override' | 'cache' | 'release' | 'build';

export interface ResolvedBinary {
  component: Component;
  version: string;
  path: string;
  source: BinarySource;
  /** Where the file came from, for people: the override directory, the URL, the Go module. */
  detail: string;
}

/**
 * `step`: something a person should see as its own line (a fallback and why, a wait for another
 * process). `progress`: a transient status of a running download or build, sent every few
 * seconds; a terminal may overwrite the previous one.
 */
export interface ProgressEvent {
  kind: 'step' | 'progress';
  message: string;
}

export interface ResolveOptions<C extends Component> {
  /** Defaults to DEFAULT_KUBERNETES_VERSION. */
  kubernetesVersion?: string;
  components: readonly C[];
  onProgress?: (event: ProgressEvent) => void;
  /** TESSERA_KUBE_BIN, TESSERA_CACHE, TESSERA_OFFLINE, PATH, HOME and Go's variables. */
  env?: NodeJS.ProcessEnv;
  fetch?: typeof globalThis.fetch;
  /** Tests point these at local servers and tiny modules. */
  pins?: PinLookup;
  modulesDir?: string;
  download?: Partial<Omit<DownloadOptions, 'fetch' | 'onProgress'>>;
}

/** Paths of the requested binaries, downloading or building what is missing. */
export async function ensureBinaries<C extends Component>(options: ResolveOptions<C>): Promise<Record<C, string>> {
  const resolved = await resolveBinaries(options);
  return Object.fromEntries(Object.entries<ResolvedBinary>(resolved).map(([component, binary]) => [component, binary.path])) as Record<C, string>;
}

/** Like ensureBinaries, with where each binary came from. */
export async function resolveBinaries<C extends Component>(options: ResolveOptions<C>): Promise<Record<C, ResolvedBinary>> {
  const env = options.env ?? process.env;
  const kubernetesVersion = options.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION;
  const lookup = options.pins ?? pinFor;
  const root = cacheRoot(env);
  const report = options.onProgress ?? ((): void => undefined);
  const result = {} as Record<C, ResolvedBinary>;
  const missing: ComponentPin[] = [];

  for (const component of new Set(options.components)) {
    const pin = lookup(component, kubernetesVersion);
    const found = await findExisting(pin, env, root);
    if (found) result[component] = found;
    else missing.push(pin);
  }

  const run: RunContext = {
    env,
    root,
    report,
    modulesDir: options.modulesDir ?? UPSTREAM_MODULES_DIR,
    downloads: {
      ...DEFAULT_DOWNLOAD_OPTIONS,
      ...options.download,
      fetch: options.fetch ?? globalThis.fetch,
    },
    downloadsDisabledBecause: env['TESSERA_OFFLINE'] ? 'release downloads are off (TESSERA_OFFLINE is set)' : undefined,
    unreachableHosts: new Map(),
  };
  // One group per wrapper module and version: those are built by one `go build`. Groups run
  // one after another; two Go builds at once would only fight over the same cores.
  const groups = new Map<string, ComponentPin[]>();
  for (const pin of missing) {
    const key = `${pin.build.moduleDir}-${pin.version}`;
    groups.set(key, [...(groups.get(key) ?? []), pin]);
  }
  for (const [key, pins] of groups) {
    for (const binary of await produceGroup(key, pins, run)) result[binary.component as C] = binary;
  }
  return result;
}

/** What is available without downloading or building: for `tessera binaries list`. */
export async function inspectBinaries<C extends Component>(
  options: Pick<ResolveOptions<C>, 'kubernetesVersion' | 'components' | 'env' | 'pins'>,
): Promise<Record<C, ResolvedBinary | undefined>> {
  const env = options.env ?? process.env;
  const lookup = options.pins ?? pinFor;
  const result = {} as Record<C, ResolvedBinary | undefined>;
  for (const component of options.components) {
    result[component] = await findExisting(lookup(component, options.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION), env, cacheRoot(env));
  }
  return result;
}

/** The version a binary reports, e.g. "1.37.2" from "Kubernetes v1.37.2". */
export async function binaryVersion(path: string, component: Component): Promise<string> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(path, [...VERSION_ARGS[component]], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path} ${VERSION_ARGS[component].join(' ')} failed: ${error.message}`));
      else resolve(`${stdout}\n${stderr}`);
    });
  });
  const version = /\bv?(\d+\.\d+\.\d+)\b/.exec(output)?.[1];
  if (version === undefined) throw new Error(`${path} printed no version: ${output.trim().slice(0, 200)}`);
  return version;
}

interface RunContext {
  env: NodeJS.ProcessEnv;
  root: string;
  report: (event: ProgressEvent) => void;
  modulesDir: string;
  downloads: DownloadOptions;
  downloadsDisabledBecause: string | undefined;
  /** Hosts that failed at the network level, and how, so the run does not wait on them again. */
  unreachableHosts: Map<string, string>;
}

async function findExisting(pin: ComponentPin, env: NodeJS.ProcessEnv, root: string): Promise<ResolvedBinary | undefined> {
  const { component, version } = pin;
  const overrideDir = env['TESSERA_KUBE_BIN'];
  if (overrideDir) {
    const info = await stat(overrideDir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new Error(`TESSERA_KUBE_BIN=${overrideDir} is not a directory: point it at a directory holding the binaries, or unset it`);
    }
    const path = join(overrideDir, component);
    const file = await stat(path).catch(() => undefined);
    if (file) {
      if (!(await isExecutableFile(path))) {
        throw new Error(`${path} (from TESSERA_KUBE_BIN) is not an executable file: run \`chmod +x ${path}\` or remove it`);
      }
      return { component, version, path, source: 'override', detail: `TESSERA_KUBE_BIN (${overrideDir}); version not checked` };
    }
  }
  const cached = cacheEntryPath(root, component, version);
  if (await isExecutableFile(cached)) {
    return { component, version, path: cached, source: 'cache', detail: describeProvenance(await readProvenance(root, component, version)) };
  }
  return undefined;
}

function describeProvenance(provenance: Provenance | undefined): string {
  if (provenance?.source === 'release') return `cache: downloaded ${provenance.installedAt} from ${provenance.url} (sha256 verified)`;
  if (provenance?.source === 'build') {
    return `cache: built ${provenance.installedAt} from tools/upstream/${provenance.moduleDir} with go${provenance.goVersion}`;
  }
  return 'cache';
}

function resolvedBinary(pin: ComponentPin, path: string, source: BinarySource, detail: string): ResolvedBinary {
  return { component: pin.component, version: pin.version, path, source, detail };
}

function names(pins: readonly ComponentPin[]): string {
  return `${pins.map((pin) => pin.component).join(', ')} ${pins[0]?.version ?? ''}`.trim();
}

async function produceGroup(key: string, pins: readonly ComponentPin[], run: RunContext): Promise<ResolvedBinary[]> {
  return withCacheLock(
    run.root,
    key,
    async () => {
      const produced: ResolvedBinary[] = [];
      let pending: ComponentPin[] = [];
      // Another process may have finished these while we waited for the lock.
      for (const pin of pins) {
        const path = cacheEntryPath(run.root, pin.component, pin.version);
        if (await isExecutableFile(path)) {
          produced.push(resolvedBinary(pin, path, 'cache', describeProvenance(await readProvenance(run.root, pin.component, pin.version))));
        } else {
          pending.push(pin);
        }
      }
      if (pending.length === 0) return produced;
      await removeAbandonedStaging(run.root);

      let fallbackReason = run.downloadsDisabledBecause;
      const releasable = pending.filter((pin) => pin.release !== undefined);
      const knownUnreachable = releasable
        .flatMap((pin) => (pin.release ? [pin.release.url, pin.release.checksum.url] : []))
        .map((url) => run.unreachableHosts.get(new URL(url).host))
        .find((reason) => reason !== undefined);
      if (fallbackReason === undefined && knownUnreachable !== undefined) {
        fallbackReason = `release download skipped: ${knownUnreachable}`;
      }
      if (fallbackReason === undefined && releasable.length < pending.length) {
        fallbackReason = `no official release of ${names(pending.filter((pin) => pin.release === undefined))} for ${process.platform}/${process.arch}`;
      }
      if (fallbackReason === undefined) {
        const outcome = await downloadGroup(key, releasable, run);
        produced.push(...outcome.installed);
        pending = pending.filter((pin) => !outcome.installed.some((binary) => binary.component === pin.component));
        if (outcome.failure) {
          const { failure } = outcome;
          if (failure.failure === 'network' && failure.url !== undefined) {
            const host = new URL(failure.url).host;
            run.unreachableHosts.set(host, `${host} was unreachable earlier in this run`);
          }
          fallbackReason = `release download failed (${failure.message})`;
        }
      }
      if (pending.length > 0) {
        run.report({ kind: 'step', message: `${names(pending)}: ${fallbackReason}; building from source with Go` });
        produced.push(...(await buildGroup(key, pending, run, fallbackReason)));
      }
      return produced;
    },
    {
      onWait: (pid) => {
        run.report({ kind: 'step', message: `${names(pins)}: waiting for process ${pid}, which is producing them (lock ${key})` });
      },
    },
  );
}

interface DownloadOutcome {
  installed: ResolvedBinary[];
  /** Why the rest could not be downloaded; undefined when everything was. */
  failure?: DownloadError;
}

/** Downloads each distinct artifact once (etcd and etcdctl share one archive). */
async function downloadGroup(key: string, pins: readonly ComponentPin[], run: RunContext): Promise<DownloadOutcome> {
  const byUrl = new Map<string, ComponentPin[]>();
  for (const pin of pins) {
    if (pin.release) byUrl.set(pin.release.url, [...(byUrl.get(pin.release.url) ?? []), pin]);
  }
  const staging = await createStagingDir(run.root, `${key}-download`);
  const installed: ResolvedBinary[] = [];
  try {
    for (const [url, sharing] of byUrl) {
      const release = sharing[0]?.release;
      if (!release) continue;
      const sha256 = await fetchPublishedSha256(release.checksum, run.downloads);
      const file = join(staging, `download-${installed.length}`);
      let lastReport = 0;
      await downloadVerified(url, sha256, file, {
        ...run.downloads,
        onProgress: (received, total) => {
          if (Date.now() - lastReport < 2_000) return;
          lastReport = Date.now();
          const size = total === undefined ? megabytes(received) : `${megabytes(received)} of ${megabytes(total)}`;
          run.report({ kind: 'progress', message: `downloading ${names(sharing)}: ${size}` });
        },
      });
      const binaries = new Map<ComponentPin, string>();
      const members = sharing.map((pin) => pin.release?.archiveMember);
      if (members.every((member) => member !== undefined)) {
        const unpacked = join(staging, `unpacked-${installed.length}`);
        await mkdir(unpacked);
        await extractTarMembers(file, members, unpacked);
        for (const pin of sharing) binaries.set(pin, join(unpacked, pin.component));
      } else {
        for (const pin of sharing) binaries.set(pin, file);
      }
      for (const [pin, binary] of binaries) {
        const provenance: Provenance = {
          component: pin.component,
          version: pin.version,
          source: 'release',
          installedAt: new Date().toISOString(),
          url,
          sha256,
        };
        const path = await installEntry(run.root, binary, provenance);
        installed.push(resolvedBinary(pin, path, 'release', `downloaded ${url} (sha256 ${sha256} verified)`));
      }
      run.report({ kind: 'step', message: `${names(sharing)}: downloaded and verified ${url}` });
    }
    return { installed };
  } catch (error) {
    if (error instanceof DownloadError) return { installed, failure: error };
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

function describeBuildProgress(label: string, progress: GoBuildProgress): string {
  const elapsed = formatDuration(progress.elapsedMs);
  if (progress.phase === 'loading') {
    const downloads = progress.downloaded > 0 ? `, ${progress.downloaded} modules downloaded` : '';
    return `building ${label}: loading packages${downloads}, ${elapsed}`;
  }
  const total = progress.total === undefined ? '' : ` of at most ${progress.total}`;
  return `building ${label}: ${progress.compiled}${total} packages compiled, ${elapsed}`;
}

async function buildGroup(key: string, pins: readonly ComponentPin[], run: RunContext, whyNotDownloaded: string | undefined): Promise<ResolvedBinary[]> {
  const first = pins[0];
  if (!first) return [];
  const moduleDir = join(run.modulesDir, first.build.moduleDir);
  const label = names(pins);
  let version: string;
  try {
    version = await goVersion(run.env, moduleDir);
  } catch (error) {
    if (!(error instanceof GoToolchainMissingError)) throw error;
    const required = (await requiredGoVersion(moduleDir)) ?? '1.26';
    throw new GoToolchainMissingError(
      [
        `cannot get ${label}: ${whyNotDownloaded ?? 'no release download was possible'}, and building from source needs Go ${required} or newer, but \`go\` is not on PATH.`,
        'Fix one of:',
        `  - install Go ${required}+ (https://go.dev/dl/, or your package manager) so that \`go version\` works, then run \`npx tessera binaries ensure\`;`,
        '  - put prebuilt binaries in a directory and set TESSERA_KUBE_BIN to it;',
        '  - allow access to dl.k8s.io and github.com so the official releases can be downloaded.',
      ].join('\n'),
    );
  }
  const required = await requiredGoVersion(moduleDir);
  if (required !== undefined && compareGoVersions(version, required) < 0) {
    run.report({
      kind: 'step',
      message: `go${version} is older than go${required}, which tools/upstream/${first.build.moduleDir} needs: Go will fetch a newer toolchain unless GOTOOLCHAIN=local`,
    });
  }
  for (const pin of pins) {
    if (binaryNameOf(pin.build.goPackage) !== pin.component) {
      throw new Error(`pin for ${pin.component}: go build would name ${pin.build.goPackage} "${binaryNameOf(pin.build.goPackage)}", not "${pin.component}"`);
    }
  }
  const outputDir = await createStagingDir(run.root, `${key}-build`);
  const started = Date.now();
  try {
    run.report({ kind: 'step', message: `building ${label} with go${version} in tools/upstream/${first.build.moduleDir} (takes minutes on a cold Go cache)` });
    await goBuild({
      moduleDir,
      packages: pins.map((pin) => pin.build.goPackage),
      ldflags: first.build.ldflags,
      outputDir,
      env: run.env,
      onProgress: (progress) => run.report({ kind: 'progress', message: describeBuildProgress(label, progress) }),
    });
    const built: ResolvedBinary[] = [];
    for (const pin of pins) {
      const provenance: Provenance = {
        component: pin.component,
        version: pin.version,
        source: 'build',
        installedAt: new Date().toISOString(),
        moduleDir: pin.build.moduleDir,
        goVersion: version,
      };
      const path = await installEntry(run.root, join(outputDir, pin.component), provenance);
      built.push(resolvedBinary(pin, path, 'build', `built from tools/upstream/${pin.build.moduleDir} with go${version}`));
    }
    run.report({ kind: 'step', message: `built ${label} in ${formatDuration(Date.now() - started)}` });
    return built;
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}
