// Local hosts: machines you can SSH into, made of namespaces on this box. A host is powered on
// by starting its boot script (host-boot.sh) as PID 1 of new PID, mount and UTS namespaces inside
// its own network namespace and cgroup, and made reachable by a relay from a loopback address of
// the box to its sshd on the VPC, as a NAT would. Powering off ends its PID namespace (every
// process on it goes); the disk stays until `delete`.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../binaries/cache.ts';
import { isRecordAlive, readRecord, recordFor, terminateRecorded, writeRecord } from '../process/process-record.ts';
import { attachHost, detachHost, ensureSwitch, namespacePath, removeSwitch, routePodSubnet } from '../fabric/vpc.ts';
import { ensureEgressProxy, linkGuest, startHostRelays, stopEgressProxy } from '../fabric/guest-link.ts';
import { FABRIC_SLOTS, hostNamespace, MAX_HOSTS, sshAddressOf, switchNamespace, validateHostName, vpcAddressOf, type FabricIdentity } from '../fabric/vpc-plan.ts';
import { defaultMaskedPaths, generateClientKey, prepareHostDisk, readHostKey } from './host-disk.ts';
import { hostPaths, hostsRoot, listHostRecords, readHostRecord, writeHostRecord, type HostRecord } from './host-layout.ts';
import { ensureHostPrerequisites } from './host-prerequisites.ts';

const BOOT_SCRIPT = fileURLToPath(new URL('./host-boot.sh', import.meta.url));
const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const CGROUP_ROOT = '/sys/fs/cgroup';
const SSH_PORT = 22;

export type HostState = 'running' | 'stopped';

export type HostStatus = HostRecord & { state: HostState; fingerprint: string };

export type HostOptions = {
  tesseraHome: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (line: string) => void;
};

/** The fabric of this $TESSERA_HOME, created on first use. */
export async function loadFabric(tesseraHome: string): Promise<FabricIdentity> {
  const path = join(hostsRoot(tesseraHome), 'fabric.json');
  try {
    return JSON.parse(await readFile(path, 'utf8')) as FabricIdentity;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const identity: FabricIdentity = { id: randomBytes(3).toString('hex'), slot: randomBytes(1)[0]! % FABRIC_SLOTS };
  await mkdir(hostsRoot(tesseraHome), { recursive: true });
  await writeFile(path, `${JSON.stringify(identity)}\n`, { flag: 'wx' }).catch(() => undefined);
  return JSON.parse(await readFile(path, 'utf8')) as FabricIdentity;
}

/** SHA256 fingerprint as `ssh-keygen -l` prints it. */
export function hostKeyFingerprint(hostKey: string): string {
  const blob = Buffer.from(hostKey.trim().split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function portIsFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
}

async function allocateIndex(tesseraHome: string, identity: FabricIdentity): Promise<number> {
  const used = new Set((await listHostRecords(tesseraHome)).map((record) => record.index));
  for (let index = 1; index < MAX_HOSTS; index++) {
    if (used.has(index)) continue;
    // Another TESSERA_HOME may have picked the same slot: skip addresses someone listens on.
    if (await portIsFree(sshAddressOf(identity, index), SSH_PORT)) return index;
  }
  throw new Error(`no free host address left in this fabric: delete hosts you no longer need (tessera hosts delete NAME)`);
}

/** Creates and powers on a host with a fresh disk, host keys and login key. */
export async function createHost(options: HostOptions & { name: string; zone: string }): Promise<HostRecord> {
  const { tesseraHome, name, zone } = options;
  const invalid = validateHostName(name);
  if (invalid) throw new Error(invalid);
  if (await readHostRecord(tesseraHome, name)) throw new Error(`host ${name} already exists: start it with \`tessera hosts start ${name}\`, or delete it first`);
  await ensureHostPrerequisites(options.onProgress ?? (() => undefined));
  const identity = await loadFabric(tesseraHome);
  const paths = hostPaths(tesseraHome, name);
  // A directory without a record is what a failed create left: start over.
  await rm(paths.dir, { recursive: true, force: true });
  const index = await allocateIndex(tesseraHome, identity);
  await mkdir(join(paths.dir, 'ssh'), { recursive: true });
  const authorizedKey = await generateClientKey(paths.clientKey, `tessera@${name}`);
  const env = options.env ?? process.env;
  await prepareHostDisk(paths, {
    name,
    vpcAddress: vpcAddressOf(index),
    authorizedKey,
    maskedPaths: [...defaultMaskedPaths({ tesseraHome, cacheRoot: cacheRoot(env), repository: REPOSITORY })],
  });
  const record: HostRecord = {
    name,
    zone,
    index,
    vpcAddress: vpcAddressOf(index),
    sshAddress: sshAddressOf(identity, index),
    sshPort: SSH_PORT,
    hostKey: await readHostKey(paths),
    createdAt: new Date().toISOString(),
  };
  await writeHostRecord(tesseraHome, record);
  await startHost({ ...options, name });
  return record;
}

function cgroupPath(hierarchy: string, identity: FabricIdentity, name: string): string {
  return join(CGROUP_ROOT, hierarchy, 'tessera', identity.id, name);
}

async function cgroupHierarchies(): Promise<string[]> {
  // cgroup v2 (unified): one hierarchy, the root itself. Hosts were tested on cgroup v1 hybrid
  // machines; see docs/hosts.md.
  if (existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) return [''];
  const names = await readdir(CGROUP_ROOT).catch(() => [] as string[]);
  return names.filter((name) => existsSync(join(CGROUP_ROOT, name, 'cgroup.procs')));
}

/**
 * The host's cgroup in every hierarchy (its kubelet later nests pods under it). cgroup v1's
 * cpuset needs cpus and mems before a task may join, copied down from the parent.
 */
async function ensureHostCgroups(identity: FabricIdentity, name: string): Promise<string[]> {
  const procsFiles: string[] = [];
  for (const hierarchy of await cgroupHierarchies()) {
    const target = cgroupPath(hierarchy, identity, name);
    const levels = [join(CGROUP_ROOT, hierarchy, 'tessera'), join(CGROUP_ROOT, hierarchy, 'tessera', identity.id), target];
    for (const level of levels) {
      await mkdir(level, { recursive: true });
      if (hierarchy === 'cpuset') {
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          const current = (await readFile(join(level, file), 'utf8')).trim();
          if (current === '') await writeFile(join(level, file), await readFile(join(level, '..', file), 'utf8'));
        }
      }
    }
    procsFiles.push(join(target, 'cgroup.procs'));
  }
  return procsFiles;
}

/** Every process still in the host's cgroups (by pid), for stop and for leak checks. */
export async function hostCgroupProcesses(tesseraHome: string, name: string): Promise<number[]> {
  const identity = await loadFabric(tesseraHome);
  const pids = new Set<number>();
  for (const hierarchy of await cgroupHierarchies()) {
    const dir = cgroupPath(hierarchy, identity, name);
    const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
    for (const entry of ['', ...entries]) {
      if (entry !== '' && !entry.endsWith('cgroup.procs')) continue;
      const file = entry === '' ? join(dir, 'cgroup.procs') : join(dir, entry);
      const text = await readFile(file, 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (line.trim() !== '') pids.add(Number(line));
    }
  }
  return [...pids];
}

/** The host's cgroup directories that exist, in any hierarchy. */
export async function hostCgroupDirectories(tesseraHome: string, name: string): Promise<string[]> {
  const identity = await loadFabric(tesseraHome);
  const dirs: string[] = [];
  for (const hierarchy of await cgroupHierarchies()) if (existsSync(cgroupPath(hierarchy, identity, name))) dirs.push(cgroupPath(hierarchy, identity, name));
  return dirs;
}

/** Deepest first: a cgroup directory can only be removed once its children are gone. */
async function removeCgroupTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory()) await removeCgroupTree(join(dir, entry.name));
  await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw new Error(`cannot remove cgroup ${dir}: ${error.message}`);
  });
}

function spawnRecorded(name: string, command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv): number {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env });
    child.unref();
    if (child.pid === undefined) throw new Error(`${command} did not start`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export async function isHostRunning(tesseraHome: string, name: string): Promise<boolean> {
  const record = await readRecord(join(hostPaths(tesseraHome, name).run, 'init.pid.json'));
  return record !== undefined && isRecordAlive(record);
}

/** Reads the SSH banner: the host's sshd (not only the relay) answers. */
export function sshAnswers(address: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let banner = '';
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('data', (chunk) => {
      banner += chunk.toString('latin1');
      if (banner.includes('\n')) done(banner.startsWith('SSH-2.0-'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

/** Powers a host on with the disk it has; returns once its sshd answers through the relay. */
export async function startHost(options: HostOptions & { name: string; timeoutMs?: number }): Promise<HostRecord> {
  const { tesseraHome, name } = options;
  const record = await readHostRecord(tesseraHome, name);
  if (!record) throw new Error(`host ${name} does not exist: create it with \`tessera hosts create ${name}\``);
  const identity = await loadFabric(tesseraHome);
  const paths = hostPaths(tesseraHome, name);
  if (!(await isHostRunning(tesseraHome, name))) {
    // Whatever a crashed run left (a relay, stray processes) goes before a clean start.
    await stopHost({ tesseraHome, name });
    await ensureSwitch(identity);
    await attachHost(identity, name, record.index);
    const procsFiles = await ensureHostCgroups(identity, name);
    await mkdir(paths.run, { recursive: true });
    const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', TESSERA_CGROUPS: procsFiles.join(' ') };
    // Join the host's cgroups first, so every process of the host is born inside them.
    const joinThenBoot = 'for f in $TESSERA_CGROUPS; do echo $$ > "$f"; done; unset TESSERA_CGROUPS; exec "$@"';
    const bootArgs = [`--net=${namespacePath(hostNamespace(identity, name))}`, 'unshare', '--mount', '--uts', '--pid', '--fork', '--kill-child', '--propagation', 'private', '--', '/bin/sh', BOOT_SCRIPT, paths.dir, name];
    const initArgs = ['-c', joinThenBoot, 'host-init', 'nsenter', ...bootArgs];
    const initPid = spawnRecorded('init', '/bin/sh', initArgs, paths.log, env);
    await writeRecord(join(paths.run, 'init.pid.json'), recordFor('init', initPid, ['/bin/sh', ...initArgs]));
    // The relay dials from inside the switch, as traffic from outside would arrive.
    const dial = `nsenter --net=${namespacePath(switchNamespace(identity))} socat STDIO TCP\\:${record.vpcAddress}\\:${SSH_PORT}`;
    const relayArgs = [`TCP-LISTEN:${record.sshPort},bind=${record.sshAddress},fork,reuseaddr`, `EXEC:"${dial}"`];
    const relayPid = spawnRecorded('ssh-relay', 'socat', relayArgs, join(paths.dir, 'ssh-relay.log'), env);
    await writeRecord(join(paths.run, 'ssh-relay.pid.json'), recordFor('ssh-relay', relayPid, ['socat', ...relayArgs]));
  }
  await startHostRelays(tesseraHome, identity, record);
  for (const subnet of await readPodRoutes(tesseraHome, name)) await routePodSubnet(identity, subnet, record.index);
  // Running from the first host on, so a guest API server can be given the egress selector
  // file before any guest is linked.
  await ensureEgressProxy(tesseraHome, identity);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await sshAnswers(record.sshAddress, record.sshPort))) {
    if (!(await isHostRunning(tesseraHome, name))) throw new Error(`host ${name} stopped while booting: see ${paths.log}`);
    if (Date.now() > deadline) throw new Error(`host ${name}: sshd did not answer on ${record.sshAddress}:${record.sshPort} within ${(options.timeoutMs ?? 60_000) / 1000} s: see ${paths.log}`);
    await sleep(100);
  }
  return record;
}

/** Powers a host off: its init goes, and with it every process in its PID namespace. */
export async function stopHost(options: { tesseraHome: string; name: string }): Promise<void> {
  const { tesseraHome, name } = options;
  const paths = hostPaths(tesseraHome, name);
  await terminateRecorded(paths.run, 5_000);
  // Anything that left the PID namespace but not the cgroup (nothing should) is killed too.
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = await hostCgroupProcesses(tesseraHome, name);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(100);
  }
  throw new Error(`host ${name}: processes ${(await hostCgroupProcesses(tesseraHome, name)).join(', ')} survive SIGKILL`);
}

/** Powers a host off and wipes it: disk, keys, namespace, cgroups. */
export async function deleteHost(options: { tesseraHome: string; name: string }): Promise<void> {
  const { tesseraHome, name } = options;
  const identity = await loadFabric(tesseraHome);
  await stopHost(options);
  await detachHost(identity, name);
  for (const dir of await hostCgroupDirectories(tesseraHome, name)) await removeCgroupTree(dir);
  await rm(hostPaths(tesseraHome, name).dir, { recursive: true, force: true });
  if ((await listHostRecords(tesseraHome)).length === 0) {
    await stopEgressProxy(tesseraHome);
    await removeSwitch(identity);
    for (const hierarchy of await cgroupHierarchies()) {
      await rmdir(join(CGROUP_ROOT, hierarchy, 'tessera', identity.id)).catch(() => undefined);
      // Shared with other fabrics: removed only when it is empty.
      await rmdir(join(CGROUP_ROOT, hierarchy, 'tessera')).catch(() => undefined);
    }
  }
}

export async function listHosts(tesseraHome: string): Promise<HostStatus[]> {
  const records = await listHostRecords(tesseraHome);
  return Promise.all(
    records.map(async (record) => ({
      ...record,
      state: (await isHostRunning(tesseraHome, record.name)) ? ('running' as const) : ('stopped' as const),
      fingerprint: hostKeyFingerprint(record.hostKey),
    })),
  );
}

/** For `tessera down`: powers every running host off, disks kept. Returns their names. */
export async function stopAllHosts(tesseraHome: string): Promise<string[]> {
  const running = (await listHosts(tesseraHome)).filter((host) => host.state === 'running');
  await Promise.all(running.map((host) => stopHost({ tesseraHome, name: host.name })));
  await stopEgressProxy(tesseraHome);
  return running.map((host) => host.name);
}

/** For `tessera up`: powers on every host that exists. */
export async function startAllHosts(options: HostOptions): Promise<string[]> {
  const hosts = await listHostRecords(options.tesseraHome);
  await Promise.all(hosts.map((host) => startHost({ ...options, name: host.name })));
  return hosts.map((host) => host.name);
}

/**
 * Links a guest API server with the hosts (relays into every host, the egress proxy back); see
 * src/local/fabric/guest-link.ts. Returns the egress selector file the guest API server needs.
 */
export async function linkGuestToHosts(tesseraHome: string, server: string): Promise<{ configPath: string; udsName: string }> {
  const identity = await loadFabric(tesseraHome);
  const running = (await listHosts(tesseraHome)).filter((host) => host.state === 'running');
  return linkGuest(tesseraHome, identity, server, running);
}

function podRoutesPath(tesseraHome: string, name: string): string {
  return join(hostPaths(tesseraHome, name).dir, 'pod-routes.json');
}

async function readPodRoutes(tesseraHome: string, name: string): Promise<string[]> {
  try {
    return JSON.parse(await readFile(podRoutesPath(tesseraHome, name), 'utf8')) as string[];
  } catch {
    return [];
  }
}

/** Routes a pod subnet to a host through the VPC switch, now and whenever the host starts. */
export async function routePodSubnetToHost(tesseraHome: string, name: string, podSubnet: string): Promise<void> {
  const record = await readHostRecord(tesseraHome, name);
  if (!record) throw new Error(`host ${name} does not exist: see \`tessera hosts list\``);
  const routes = await readPodRoutes(tesseraHome, name);
  if (!routes.includes(podSubnet)) await writeFile(podRoutesPath(tesseraHome, name), `${JSON.stringify([...routes, podSubnet])}\n`);
  await routePodSubnet(await loadFabric(tesseraHome), podSubnet, record.index);
}
