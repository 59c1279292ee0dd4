// The upstream programs of the node stack, each pinned to a wrapper module in tools/upstream/
// and built with the machine's Go (or, for the pause program, its C compiler) into the cache,
// like the control-plane binaries in src/local/binaries/. One build produces every program of
// its module at once.
import { execFile } from 'node:child_process';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot, createStagingDir, withCacheLock } from '../binaries/cache.ts';
import { binaryNameOf, goBuild, goVersion } from '../binaries/go-build.ts';
import { KUBERNETES_VERSIONS, kubernetesLdflags, minorOf, UPSTREAM_MODULES_DIR, type KubernetesVersion } from '../binaries/versions.ts';

const run = promisify(execFile);

import { CNI_PLUGINS_VERSION, CONTAINERD_VERSION, PAUSE_VERSION, RUNC_VERSION } from '../../node/package-versions.ts';
export { CNI_PLUGINS_VERSION, CONTAINERD_VERSION, PAUSE_VERSION, RUNC_VERSION };
/**
 * kubeadm's CoreDNSVersion per Kubernetes minor (cmd/kubeadm/app/constants); the Cluster
 * operator's CoreDNS addon deploys the same versions, a test checks they agree.
 */
export const COREDNS_VERSION_BY_KUBERNETES_MINOR: Readonly<Record<string, string>> = {
  '1.37': '1.14.6',
  '1.36': '1.14.2',
};

export type NodeBuild = {
  /** Names the cache entry, e.g. "kubernetes-node-1.37.2". */
  key: string;
  version: string;
  /** Wrapper module directory under tools/upstream/. */
  moduleDir: string;
  /** Go main packages; empty for the C-built pause program. */
  goPackages: readonly string[];
  ldflags: readonly string[];
  tags?: readonly string[];
  cgo?: boolean;
  /** The programs the build leaves in its directory. */
  programs: readonly string[];
  /** Arguments that make the first program print its version, and what it must contain. */
  versionCheck?: { args: readonly string[]; expect: string };
};

export function kubernetesNodeBuild(version: KubernetesVersion): NodeBuild {
  return {
    key: `kubernetes-node-${version}`,
    version,
    moduleDir: `kubernetes-node-${minorOf(version)}`,
    goPackages: ['k8s.io/kubernetes/cmd/kubelet', 'k8s.io/kubernetes/cmd/kube-proxy'],
    ldflags: kubernetesLdflags(version),
    programs: ['kubelet', 'kube-proxy'],
    versionCheck: { args: ['--version'], expect: `Kubernetes v${version}` },
  };
}

export const CONTAINERD_BUILD: NodeBuild = {
  key: `containerd-${CONTAINERD_VERSION}`,
  version: CONTAINERD_VERSION,
  moduleDir: `containerd-${minorOf(CONTAINERD_VERSION)}`,
  goPackages: ['github.com/containerd/containerd/v2/cmd/containerd', 'github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2', 'github.com/containerd/containerd/v2/cmd/ctr'],
  // As containerd's Makefile stamps its releases.
  ldflags: ['-s', '-w', `-X github.com/containerd/containerd/v2/version.Version=v${CONTAINERD_VERSION}`, '-X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2'],
  // The static build upstream calls "containerd-static": no btrfs headers, no cgo.
  tags: ['no_btrfs'],
  programs: ['containerd', 'containerd-shim-runc-v2', 'ctr'],
  versionCheck: { args: ['--version'], expect: `v${CONTAINERD_VERSION}` },
};

export const RUNC_BUILD: NodeBuild = {
  key: `runc-${RUNC_VERSION}-seccomp`,
  version: RUNC_VERSION,
  moduleDir: `runc-${minorOf(RUNC_VERSION)}`,
  goPackages: ['github.com/opencontainers/runc'],
  // runc's `make static`: nsexec is C and seccomp filters come from libseccomp (Debian's
  // libseccomp-dev, linked statically; pods ask for RuntimeDefault profiles). Without libpathrs,
  // an optional Rust library. The version comes from the module's embedded VERSION file.
  ldflags: ['-s', '-w', '-extldflags -static'],
  tags: ['seccomp', 'urfave_cli_no_docs', 'netgo', 'osusergo'],
  cgo: true,
  programs: ['runc'],
  versionCheck: { args: ['--version'], expect: `runc version ${RUNC_VERSION}` },
};

export const CNI_PLUGINS_BUILD: NodeBuild = {
  key: `cni-plugins-${CNI_PLUGINS_VERSION}`,
  version: CNI_PLUGINS_VERSION,
  moduleDir: `cni-plugins-${minorOf(CNI_PLUGINS_VERSION)}`,
  goPackages: ['bridge', 'host-local', 'loopback', 'portmap'].map((plugin) => `github.com/containernetworking/plugins/plugins/${plugin === 'host-local' ? 'ipam' : plugin === 'portmap' ? 'meta' : 'main'}/${plugin}`),
  ldflags: ['-s', '-w', `-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v${CNI_PLUGINS_VERSION}`],
  programs: ['bridge', 'host-local', 'loopback', 'portmap'],
  versionCheck: { args: ['--version'], expect: `v${CNI_PLUGINS_VERSION}` },
};

export function coreDnsBuild(version: string): NodeBuild {
  return {
    key: `coredns-${version}`,
    version,
    moduleDir: `coredns-${version}`,
    goPackages: ['github.com/coredns/coredns'],
    ldflags: ['-s', '-w'],
    programs: ['coredns'],
    versionCheck: { args: ['-version'], expect: `CoreDNS-${version}` },
  };
}

/** Kubernetes' own pause.c, from the pinned k8s.io/kubernetes module, compiled statically. */
export const PAUSE_BUILD: NodeBuild = {
  key: `pause-${PAUSE_VERSION}`,
  version: PAUSE_VERSION,
  moduleDir: `kubernetes-node-${minorOf(KUBERNETES_VERSIONS[0])}`,
  goPackages: [],
  ldflags: [],
  programs: ['pause'],
  versionCheck: { args: ['-v'], expect: `pause.c v${PAUSE_VERSION}` },
};

export function coreDnsVersionFor(kubernetesVersion: string): string {
  const version = COREDNS_VERSION_BY_KUBERNETES_MINOR[minorOf(kubernetesVersion)];
  if (version === undefined) throw new Error(`no CoreDNS version is pinned for Kubernetes ${kubernetesVersion}: add its minor to COREDNS_VERSION_BY_KUBERNETES_MINOR in src/local/packages/node-builds.ts`);
  return version;
}

/** Every node build, for `tessera packages build`. */
export function allNodeBuilds(): NodeBuild[] {
  const coreDnsVersions = [...new Set(KUBERNETES_VERSIONS.map(coreDnsVersionFor))];
  return [RUNC_BUILD, CNI_PLUGINS_BUILD, CONTAINERD_BUILD, PAUSE_BUILD, ...KUBERNETES_VERSIONS.map(kubernetesNodeBuild), ...coreDnsVersions.map(coreDnsBuild)];
}

export type BuildOptions = {
  env?: NodeJS.ProcessEnv;
  onProgress?: (line: string) => void;
};

export function nodeBuildDir(env: NodeJS.ProcessEnv, build: NodeBuild): string {
  return join(cacheRoot(env), 'node', build.key);
}

async function complete(dir: string): Promise<boolean> {
  try {
    await access(join(dir, 'source.json'));
    return true;
  } catch {
    return false;
  }
}

async function checkVersion(dir: string, build: NodeBuild): Promise<void> {
  if (!build.versionCheck) return;
  const program = join(dir, build.programs[0] ?? '');
  const { stdout, stderr } = await run(program, [...build.versionCheck.args], { timeout: 15_000 }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }));
  if (!`${stdout}${stderr}`.includes(build.versionCheck.expect)) {
    throw new Error(`${program} ${build.versionCheck.args.join(' ')} printed "${`${stdout}${stderr}`.trim().slice(0, 200)}", expected "${build.versionCheck.expect}": check tools/upstream/${build.moduleDir}`);
  }
}

async function compilePause(moduleDir: string, outputDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run('go', ['list', '-m', '-f', '{{.Dir}}', 'k8s.io/kubernetes'], { cwd: moduleDir, env: { ...env, GOFLAGS: '-mod=mod' } });
  const source = join(stdout.trim(), 'build', 'pause', 'linux', 'pause.c');
  // The flags of build/pause/Makefile: a static, stripped binary stamped with its version.
  await run('gcc', ['-Os', '-Wall', '-Werror', '-static', '-s', `-DVERSION=v${PAUSE_VERSION}`, '-o', join(outputDir, 'pause'), source], { env });
  return source;
}

/** The directory with the build's programs, building it first when the cache lacks it. */
export async function ensureNodeBuild(build: NodeBuild, options: BuildOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const report = options.onProgress ?? ((): void => undefined);
  const dir = nodeBuildDir(env, build);
  if (await complete(dir)) return dir;
  const root = cacheRoot(env);
  return withCacheLock(root, `node-${build.key}`, async () => {
    if (await complete(dir)) return dir;
    const staging = await createStagingDir(root, `node-${build.key}`);
    try {
      const moduleDir = join(UPSTREAM_MODULES_DIR, build.moduleDir);
      const started = Date.now();
      report(`building ${build.key} from tools/upstream/${build.moduleDir}`);
      let source: string;
      if (build.goPackages.length === 0) {
        source = await compilePause(moduleDir, staging, env);
      } else {
        await goBuild({
          moduleDir,
          packages: build.goPackages,
          ldflags: build.ldflags,
          ...(build.tags ? { tags: build.tags } : {}),
          ...(build.cgo ? { cgo: true } : {}),
          outputDir: staging,
          env,
          onProgress: (progress) => report(`building ${build.key}: ${progress.phase} ${progress.compiled}/${progress.total ?? '?'} packages, ${Math.round(progress.elapsedMs / 1000)} s`),
        });
        source = `tools/upstream/${build.moduleDir}`;
        for (const goPackage of build.goPackages) {
          if (!build.programs.includes(binaryNameOf(goPackage))) throw new Error(`${goPackage} builds ${binaryNameOf(goPackage)}, not one of ${build.programs.join(', ')}`);
        }
      }
      await checkVersion(staging, build);
      const provenance = { key: build.key, version: build.version, source, go: build.goPackages.length > 0 ? await goVersion(env, moduleDir) : undefined, builtAt: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000) };
      await writeFile(join(staging, 'source.json'), `${JSON.stringify(provenance, null, 2)}\n`);
      await mkdir(join(root, 'node'), { recursive: true });
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
      report(`built ${build.key} in ${provenance.seconds} s`);
      return dir;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  });
}

export async function readBuildProvenance(dir: string): Promise<{ source: string; go?: string }> {
  return JSON.parse(await readFile(join(dir, 'source.json'), 'utf8')) as { source: string; go?: string };
}
