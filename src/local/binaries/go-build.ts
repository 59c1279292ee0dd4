// Builds upstream commands from a wrapper module with the machine's Go. Several commands of one
// module go through one `go build`, which compiles their shared packages once.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface GoBuildRequest {
  /** Absolute path of the wrapper module (holds go.mod). */
  moduleDir: string;
  packages: readonly string[];
  ldflags: readonly string[];
  /** Build tags (`go build -tags`). */
  tags?: readonly string[];
  /** Link C code in (runc's nsenter needs it); static builds otherwise. */
  cgo?: boolean;
  /** Existing directory the binaries are written into, named by binaryNameOf. */
  outputDir: string;
  env: NodeJS.ProcessEnv;
  /** Called at least every few seconds while Go works. */
  onProgress?: (progress: GoBuildProgress) => void;
  progressEveryMs?: number;
}

export interface GoBuildProgress {
  phase: 'loading' | 'compiling';
  /** Packages compiled so far (cached ones are not compiled again). */
  compiled: number;
  /** Packages in the build, standard library included: an upper bound for compiled. */
  total: number | undefined;
  /** Module downloads seen so far. */
  downloaded: number;
  elapsedMs: number;
}

/** The Go toolchain is absent; message says what to install. */
export class GoToolchainMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoToolchainMissingError';
  }
}

export class GoBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoBuildError';
  }
}

/** The file name `go build` gives a main package: its last element, skipping a /vN suffix. */
export function binaryNameOf(goPackage: string): string {
  const parts = goPackage.split('/');
  const last = parts.at(-1) ?? goPackage;
  return /^v\d+$/.test(last) && parts.length > 1 ? (parts.at(-2) ?? last) : last;
}

/** The `go` line of a module's go.mod, the oldest Go that may build it. */
export async function requiredGoVersion(moduleDir: string): Promise<string | undefined> {
  const text = await readFile(join(moduleDir, 'go.mod'), 'utf8');
  return /^go\s+(\d+\.\d+(?:\.\d+)?)\s*$/m.exec(text)?.[1];
}

/** Compares dotted versions numerically ("1.26.8" vs "1.26.0"). */
export function compareGoVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i += 1) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

interface GoRun {
  code: number | null;
  stdout: string;
  stderrTail: string[];
}

/** Runs go, streaming stderr lines to onLine; ENOENT becomes GoToolchainMissingError. */
function runGo(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, onLine?: (line: string) => void): Promise<GoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const stderrTail: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 60) stderrTail.shift();
      onLine?.(line);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(new GoToolchainMissingError(`the Go toolchain is not installed: no \`go\` on PATH (${env['PATH'] ?? ''})`));
      } else {
        reject(error);
      }
    });
    child.on('close', (code) => resolve({ code, stdout, stderrTail }));
  });
}

/** The version of the `go` on PATH, e.g. "1.26.8". */
export async function goVersion(env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  const run = await runGo(['env', 'GOVERSION'], cwd, env);
  if (run.code !== 0) throw new GoBuildError(`\`go env GOVERSION\` failed: ${run.stderrTail.join('\n')}`);
  return run.stdout.trim().replace(/^go/, '');
}

/** The environment every build runs with, whatever the user's Go settings. */
export function goBuildEnv(env: NodeJS.ProcessEnv, cgo = false): NodeJS.ProcessEnv {
  return {
    ...env,
    // -mod=mod: resolve from go.mod/go.sum even where a user's GOFLAGS asks for vendor/readonly.
    // -buildvcs=false: the wrapper module sits in Tessera's checkout, whose git state is not
    // upstream's and may not be readable (a tarball, another user's clone).
    GOFLAGS: '-mod=mod -buildvcs=false',
    // Static binaries, as upstream releases them, and no C toolchain needed; where C is part of
    // the program (runc), the caller links it statically through -extldflags.
    CGO_ENABLED: cgo ? '1' : '0',
  };
}

const PACKAGE_LINE = /^[A-Za-z0-9_.~\-/]+$/;

/**
 * Lists the packages (so progress has a total, and modules are downloaded with visible
 * progress), then compiles them with `go build -v`, whose stderr names each package as it is
 * compiled.
 */
export async function goBuild(request: GoBuildRequest): Promise<void> {
  const env = goBuildEnv(request.env, request.cgo ?? false);
  const started = Date.now();
  const state: GoBuildProgress = { phase: 'loading', compiled: 0, total: undefined, downloaded: 0, elapsedMs: 0 };
  const report = (): void => {
    state.elapsedMs = Date.now() - started;
    request.onProgress?.({ ...state });
  };
  const heartbeat = setInterval(report, request.progressEveryMs ?? 5_000);
  const tags = request.tags && request.tags.length > 0 ? ['-tags', request.tags.join(',')] : [];
  const onLine = (line: string): void => {
    if (line.startsWith('go: downloading ')) {
      state.downloaded += 1;
    } else if (state.phase === 'compiling' && PACKAGE_LINE.test(line)) {
      state.compiled += 1;
    }
  };
  try {
    report();
    const listed = await runGo(['list', ...tags, '-deps', '-f', '{{.ImportPath}}', ...request.packages], request.moduleDir, env, onLine);
    if (listed.code !== 0) {
      throw new GoBuildError(`go list in ${request.moduleDir} failed:\n${listed.stderrTail.join('\n')}`);
    }
    state.total = listed.stdout.split('\n').filter((line) => line.trim() !== '').length;
    state.phase = 'compiling';
    report();
    const args = ['build', '-v', '-trimpath', ...tags, '-ldflags', request.ldflags.join(' '), '-o', `${request.outputDir}/`, ...request.packages];
    const built = await runGo(args, request.moduleDir, env, onLine);
    if (built.code !== 0) {
      const errors = built.stderrTail.filter((line) => !PACKAGE_LINE.test(line));
      throw new GoBuildError(`go ${args.join(' ')} in ${request.moduleDir} failed (exit ${built.code}):\n${errors.join('\n')}`);
    }
    report();
  } finally {
    clearInterval(heartbeat);
  }
}
