// `npm run test:e2e`: every end-to-end file in its own `node --test` process, two at a time.
// Each file starts its own local meta cluster on its own network index, so any two share nothing,
// with one exception: files that start local hosts (kubelet, containerd, sshd per host) share the
// hosts' VPC and relays, so never two of them at once. Longest files start first, so the run
// ends near the total work divided by two instead of after a long file started last.
//
// A host file beside a control-plane file needs more inotify instances than the kernel's
// default of 128 per user (kube-apiserver holds 6, kube-controller-manager 5, and a host file's
// kubelets and containerds near 70). With a lower fs.inotify.max_user_instances a host file runs
// alone, as the suite did before; `.ci/run` raises the limit for its run and restores it after.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';

const DIRECTORY = 'test/e2e';
const LANES = 2;
/** Enough inotify instances for a host file beside a control-plane file, with room to spare. */
const HOST_BESIDE_OTHERS_INOTIFY_INSTANCES = 512;
const HOST_FILE = /^(hosts|node-stack|machines.*|package-rollout.*)\.test\.ts$/;
/**
 * Seconds each file took in the last CI run (2b79ce5, files two at a time): only the order
 * comes from it. A file not listed is taken for a long one and starts early.
 */
const LAST_SECONDS: Record<string, number> = {
  'cluster-upgrade.test.ts': 600,
  'operator-crash.test.ts': 510,
  'machines.test.ts': 310,
  'fleet.test.ts': 255,
  'cluster-operator.test.ts': 220,
  'package-rollout.test.ts': 215,
  'certificate-renewal.test.ts': 210,
  'tiering.test.ts': 186,
  'meta-cluster.test.ts': 166,
  'machines-resilience.test.ts': 120,
  'node-stack.test.ts': 85,
  'hosts.test.ts': 60,
};
const UNKNOWN_SECONDS = 1000;

type Outcome = { file: string; code: number; seconds: number };

function inotifyLimit(): number {
  try {
    return Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8').trim());
  } catch {
    return 0;
  }
}

/** inotify instances open right now across the box's processes (what the limit counts, for root). */
function inotifyInstancesInUse(): number {
  let count = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify') count++;
      } catch {
        // The process or descriptor went away while we looked.
      }
    }
  }
  return count;
}

// TESSERA_E2E_ONLY=hosts,tiering runs just those files (names without .test.ts), for a quick look.
const only = process.env['TESSERA_E2E_ONLY']?.split(',').map((name) => `${name.trim()}.test.ts`);
const files = readdirSync(DIRECTORY)
  .filter((name) => name.endsWith('.test.ts') && (only === undefined || only.includes(name)))
  .sort((a, b) => (LAST_SECONDS[b] ?? UNKNOWN_SECONDS) - (LAST_SECONDS[a] ?? UNKNOWN_SECONDS) || a.localeCompare(b));
const limit = inotifyLimit();
const hostBesideOthers = limit >= HOST_BESIDE_OTHERS_INOTIFY_INSTANCES;
console.log(
  hostBesideOthers
    ? `e2e: ${files.length} files, ${LANES} at a time, never two host files at once`
    : `e2e: ${files.length} files, ${LANES} at a time, host files alone: fs.inotify.max_user_instances is ${limit}, below the ${HOST_BESIDE_OTHERS_INOTIFY_INSTANCES} a host file needs beside another (raise it with sysctl to run them side by side)`,
);

const running = new Map<string, Promise<void>>();
const outcomes: Outcome[] = [];
let peakInotify = 0;
const sampler = setInterval(() => (peakInotify = Math.max(peakInotify, inotifyInstancesInUse())), 5000);

/** The next file that may start beside the ones running, or undefined to wait for one to end. */
function nextStartable(waiting: string[]): string | undefined {
  const hostRunning = [...running.keys()].some((file) => HOST_FILE.test(file));
  return waiting.find((file) => {
    if (!HOST_FILE.test(file)) return !(hostRunning && !hostBesideOthers);
    return !hostRunning && (hostBesideOthers || running.size === 0);
  });
}

function run(file: string): Promise<Outcome> {
  const started = performance.now();
  const label = file.replace(/\.test\.ts$/, '');
  console.log(`[${label}] started`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', `${DIRECTORY}/${file}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => console.log(`[${label}] ${line}`));
    child.on('exit', (code, signal) => {
      const seconds = Math.round((performance.now() - started) / 1000);
      console.log(`[${label}] finished: ${signal ?? `exit ${code}`} after ${seconds}s`);
      resolve({ file, code: code ?? 1, seconds });
    });
  });
}

const waiting = [...files];
while (waiting.length > 0 || running.size > 0) {
  let file: string | undefined;
  while (running.size < LANES && (file = nextStartable(waiting)) !== undefined) {
    waiting.splice(waiting.indexOf(file), 1);
    const name = file;
    running.set(
      name,
      run(name).then((outcome) => {
        outcomes.push(outcome);
        running.delete(name);
      }),
    );
  }
  await Promise.race(running.values());
}
clearInterval(sampler);

console.log('e2e summary (seconds, in the order they finished):');
for (const outcome of outcomes) console.log(`  ${outcome.code === 0 ? 'ok    ' : 'FAILED'} ${String(outcome.seconds).padStart(5)}  ${outcome.file}`);
console.log(`  peak inotify instances in use (sampled every 5 s): ${peakInotify} of ${limit}`);
const failed = outcomes.filter((outcome) => outcome.code !== 0);
if (failed.length > 0) console.log(`e2e: ${failed.length} file(s) failed: ${failed.map((outcome) => outcome.file).join(', ')}`);
process.exit(failed.length > 0 ? 1 : 0);
