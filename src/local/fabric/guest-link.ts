// Links guest control planes on the box's loopback with the hosts, both ways:
// - hosts -> guest API: inside every host's network namespace a relay listens on the guest's
//   API address (the same loopback address and port as on the box) and on API_RELAY_ADDRESS,
//   and forwards each connection to the box's namespace, where the guest API server answers;
// - guest API -> hosts: the egress proxy (egress-proxy.ts), started once per fabric.
// The links are kept in $TESSERA_HOME/hosts/links.json so that a host powered on later gets its
// relays too.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRecordAlive, readRecord, recordFor, terminateRecorded, writeRecord } from '../process/process-record.ts';
import { hostPaths, hostsRoot, type HostRecord } from '../hosts/host-layout.ts';
import { namespacePath, runCommand, type RunCommand } from './vpc.ts';
import { API_RELAY_ADDRESS, API_RELAY_PORT, boxNamespace, egressSocketName, hostNamespace, switchNamespace, type FabricIdentity } from './vpc-plan.ts';
import { renderEgressSelectorConfiguration } from './egress-proxy.ts';

const EGRESS_MAIN = fileURLToPath(new URL('./egress-proxy-main.ts', import.meta.url));

export type GuestLink = { server: string };

function linksPath(tesseraHome: string): string {
  return join(hostsRoot(tesseraHome), 'links.json');
}

export function egressSelectorPath(tesseraHome: string): string {
  return join(hostsRoot(tesseraHome), 'egress-selector.yaml');
}

export async function readLinks(tesseraHome: string): Promise<GuestLink[]> {
  try {
    return JSON.parse(await readFile(linksPath(tesseraHome), 'utf8')) as GuestLink[];
  } catch {
    return [];
  }
}

/** host:port of an https URL whose host is an IPv4 address. */
export function endpointOf(server: string): { address: string; port: number } {
  const url = new URL(server);
  if (url.protocol !== 'https:' || !/^\d+\.\d+\.\d+\.\d+$/.test(url.hostname)) throw new Error(`guest server ${JSON.stringify(server)} must be an https URL with an IPv4 address, e.g. https://127.108.22.250:6443`);
  return { address: url.hostname, port: Number(url.port || 443) };
}

function spawnDetached(command: string, args: string[], logFile: string): number {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    if (child.pid === undefined) throw new Error(`${command} did not start`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

function relayName(address: string, port: number): string {
  return `api-relay-${address}-${port}`;
}

async function startRelay(identity: FabricIdentity, host: HostRecord, tesseraHome: string, listen: { address: string; port: number }, target: { address: string; port: number }): Promise<void> {
  const paths = hostPaths(tesseraHome, host.name);
  const recordPath = join(paths.run, `${relayName(listen.address, listen.port)}.pid.json`);
  const existing = await readRecord(recordPath);
  if (existing && isRecordAlive(existing)) return;
  const dial = `nsenter --net=${namespacePath(boxNamespace(identity))} socat STDIO TCP\\:${target.address}\\:${target.port}`;
  const args = [`--net=${namespacePath(hostNamespace(identity, host.name))}`, 'socat', `TCP-LISTEN:${listen.port},bind=${listen.address},fork,reuseaddr`, `EXEC:"${dial}"`];
  const pid = spawnDetached('nsenter', args, join(paths.dir, 'api-relay.log'));
  await writeRecord(recordPath, recordFor(relayName(listen.address, listen.port), pid, ['nsenter', ...args]));
}

/** The relays of every linked guest on one running host; called when the host powers on. */
export async function startHostRelays(tesseraHome: string, identity: FabricIdentity, host: HostRecord, exec: RunCommand = runCommand): Promise<void> {
  const links = await readLinks(tesseraHome);
  if (links.length === 0) return;
  await exec('ip', ['-n', hostNamespace(identity, host.name), 'address', 'replace', `${API_RELAY_ADDRESS}/32`, 'dev', 'lo']);
  for (const [position, link] of links.entries()) {
    const endpoint = endpointOf(link.server);
    await startRelay(identity, host, tesseraHome, endpoint, endpoint);
    // One guest per fabric answers on the shared relay address: the first linked.
    if (position === 0) await startRelay(identity, host, tesseraHome, { address: API_RELAY_ADDRESS, port: API_RELAY_PORT }, endpoint);
  }
}

function egressRecordPath(tesseraHome: string): string {
  return join(hostsRoot(tesseraHome), 'run', 'egress-proxy.pid.json');
}

/**
 * Writes the egress selector file guest API servers mount (it names the proxy's socket, which
 * follows from the fabric's identity), so a guest started before any host already has it.
 */
export async function writeEgressSelectorFile(tesseraHome: string, identity: FabricIdentity): Promise<string> {
  const configPath = egressSelectorPath(tesseraHome);
  await mkdir(join(hostsRoot(tesseraHome), 'run'), { recursive: true });
  await writeFile(configPath, renderEgressSelectorConfiguration(egressSocketName(identity)));
  return configPath;
}

/** Starts the egress proxy unless it runs, and writes the API server's egress selector file. */
export async function ensureEgressProxy(tesseraHome: string, identity: FabricIdentity): Promise<{ configPath: string; udsName: string }> {
  const udsName = egressSocketName(identity);
  const configPath = await writeEgressSelectorFile(tesseraHome, identity);
  const record = await readRecord(egressRecordPath(tesseraHome));
  if (!record || !isRecordAlive(record)) {
    const args = ['--disable-warning=ExperimentalWarning', EGRESS_MAIN, udsName, namespacePath(switchNamespace(identity))];
    const pid = spawnDetached(process.execPath, args, join(hostsRoot(tesseraHome), 'egress-proxy.log'));
    await writeRecord(egressRecordPath(tesseraHome), recordFor('egress-proxy', pid, [process.execPath, ...args]));
  }
  return { configPath, udsName };
}

export async function stopEgressProxy(tesseraHome: string): Promise<void> {
  await terminateRecorded(join(hostsRoot(tesseraHome), 'run'), 3_000);
}

/**
 * Links a guest API server (its https URL as nodes dial it) with the fabric: records the link,
 * starts the egress proxy and the relays on the given running hosts.
 */
export async function linkGuest(tesseraHome: string, identity: FabricIdentity, server: string, runningHosts: readonly HostRecord[]): Promise<{ configPath: string; udsName: string }> {
  endpointOf(server);
  const links = await readLinks(tesseraHome);
  if (!links.some((link) => link.server === server)) {
    links.push({ server });
    await mkdir(hostsRoot(tesseraHome), { recursive: true });
    await writeFile(`${linksPath(tesseraHome)}.tmp`, `${JSON.stringify(links, null, 2)}\n`);
    await rename(`${linksPath(tesseraHome)}.tmp`, linksPath(tesseraHome));
  }
  const egress = await ensureEgressProxy(tesseraHome, identity);
  for (const host of runningHosts) await startHostRelays(tesseraHome, identity, host);
  return egress;
}

/**
 * The guest's `kubernetes` Service endpoints: the relay address every host answers on. The
 * guest API server does not publish its own (its address is a loopback address of the meta
 * cluster, which the API refuses in endpoints, and hosts could not reach it anyway).
 */
export function renderKubernetesEndpoints(): [object, object] {
  const labels = { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'local-fabric.tessera.dev' };
  return [
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets: [{ addresses: [{ ip: API_RELAY_ADDRESS }], ports: [{ name: 'https', port: API_RELAY_PORT, protocol: 'TCP' }] }] },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubernetes', namespace: 'default', labels }, addressType: 'IPv4', endpoints: [{ addresses: [API_RELAY_ADDRESS], conditions: { ready: true } }], ports: [{ name: 'https', port: API_RELAY_PORT, protocol: 'TCP' }] },
  ];
}
