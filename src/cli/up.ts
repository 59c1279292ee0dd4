// `tessera up`: start the local meta cluster in the foreground (Ctrl-C stops it cleanly), or with
// --detach in the background, returning once every node is Ready.
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startAllHosts } from '../local/hosts/local-hosts.ts';
import { resolveHome } from '../local/home.ts';
import { startMetaCluster } from '../local/metacluster/meta-cluster.ts';
import { isRecordAlive, readRecord, recordFor, writeRecord } from '../local/process/process-record.ts';
import { watchEventLoopStalls } from '../local/process/event-loop-stalls.ts';

const mainScript = fileURLToPath(new URL('./main.ts', import.meta.url));

function nextSteps(kubeconfig: string): string {
  return [
    '',
    'The Tessera meta cluster is up. Try:',
    '  npx tessera kubectl -- get nodes -L topology.kubernetes.io/zone',
    '  npx tessera kubectl -- create deployment echo --image=tessera.dev/echo-server --replicas=3',
    '  npx tessera status',
    `  export KUBECONFIG=${kubeconfig}   # for your own kubectl`,
    '  npx tessera down',
    '',
  ].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { detach: { type: 'boolean', default: false }, 'kubernetes-version': { type: 'string' } }, strict: true });
  const home = resolveHome();
  await mkdir(home.run, { recursive: true });
  const existing = await readRecord(home.supervisorPid);
  if (existing && isRecordAlive(existing)) {
    process.stdout.write(`the meta cluster in ${home.root} is already running (supervisor pid ${existing.pid})\n${nextSteps(home.kubeconfig)}`);
    return 0;
  }
  return values.detach ? detach(args.filter((arg) => arg !== '--detach'), home.root) : foreground(values['kubernetes-version']);
}

async function foreground(kubernetesVersion: string | undefined): Promise<number> {
  const home = resolveHome();
  const readyFile = join(home.run, 'ready');
  await rm(readyFile, { force: true });
  await writeRecord(home.supervisorPid, recordFor('supervisor', process.pid, process.argv));
  const log = (message: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
  let cluster: Awaited<ReturnType<typeof startMetaCluster>> | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      log(`${signal}: stopping the meta cluster`);
      await rm(readyFile, { force: true });
      await cluster?.stop();
      await rm(home.supervisorPid, { force: true });
      log('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  watchEventLoopStalls((ms) => log(`the supervisor's event loop stalled for ${ms} ms: pod workers, probes, DNS and the embedded operators waited`));
  try {
    cluster = await startMetaCluster({ kubernetesVersion, onProgress: log, networkIndex: Number(process.env['TESSERA_NETWORK_INDEX'] ?? 0) });
  } catch (error) {
    await rm(home.supervisorPid, { force: true });
    throw error;
  }
  // Hosts that `tessera down` powered off come back with their disks.
  const hosts = await startAllHosts({ tesseraHome: home.root, onProgress: log });
  if (hosts.length > 0) log(`hosts powered on: ${hosts.join(', ')}`);
  process.stdout.write(nextSteps(home.kubeconfig));
  await writeFile(readyFile, new Date().toISOString());
  await new Promise(() => {});
  return 0;
}

async function detach(args: string[], root: string): Promise<number> {
  const home = resolveHome();
  const logFile = join(home.logs, 'supervisor.log');
  await mkdir(home.logs, { recursive: true });
  const readyFile = join(home.run, 'ready');
  await rm(readyFile, { force: true });
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [mainScript, 'up', ...args], { detached: true, stdio: ['ignore', out, out], env: process.env });
  closeSync(out);
  child.unref();
  process.stdout.write(`starting the meta cluster in ${root} in the background (log: ${logFile})\n`);
  let offset = (await readFile(logFile).catch(() => Buffer.alloc(0))).length;
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  for (;;) {
    const ready = await readFile(readyFile, 'utf8').then(() => true, () => false);
    // Relay the supervisor's progress lines while waiting.
    const text = await readFile(logFile).catch(() => Buffer.alloc(0));
    if (text.length > offset) {
      process.stdout.write(text.subarray(offset).toString('utf8').replace(/^(?=.)/gm, '  '));
      offset = text.length;
    }
    if (ready) return 0;
    if (exited !== undefined) {
      process.stderr.write(`the meta cluster failed to start (exit ${exited}); see ${logFile}\n`);
      return 1;
    }
    await sleep(200);
  }
}
