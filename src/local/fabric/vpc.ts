// The local VPC: a "switch" network namespace with a bridge, and one cable (a veth pair) per
// host from the bridge into the host's own network namespace. Nothing is added to the box's own
// interfaces, addresses or routes: every change here happens inside namespaces this file creates
// (`ip -n <namespace>`), and the switch's packet forwarding is a per-namespace setting.
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { boxNamespace, hostNamespace, switchNamespace, switchPortOf, VPC_GATEWAY, VPC_PREFIX_LENGTH, vpcAddressOf, type FabricIdentity } from './vpc-plan.ts';

const run = promisify(execFile);
const BRIDGE = 'vpc0';

export type RunCommand = (command: string, args: readonly string[]) => Promise<string>;

export const runCommand: RunCommand = async (command, args) => {
  try {
    const { stdout } = await run(command, [...args], { timeout: 30_000 });
    return stdout;
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(failure.stderr ?? '').trim() || failure.message}`, { cause: error });
  }
};

export function namespacePath(name: string): string {
  return `/run/netns/${name}`;
}

async function namespaceExists(name: string): Promise<boolean> {
  try {
    await access(namespacePath(name));
    return true;
  } catch {
    return false;
  }
}

async function linkExists(namespace: string, link: string, exec: RunCommand): Promise<boolean> {
  try {
    await exec('ip', ['-n', namespace, 'link', 'show', 'dev', link]);
    return true;
  } catch {
    return false;
  }
}

/** The switch namespace and its bridge with the VPC gateway address; idempotent. */
export async function ensureSwitch(identity: FabricIdentity, exec: RunCommand = runCommand): Promise<void> {
  const ns = switchNamespace(identity);
  if (!(await namespaceExists(ns))) await exec('ip', ['netns', 'add', ns]);
  await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  if (!(await linkExists(ns, BRIDGE, exec))) await exec('ip', ['-n', ns, 'link', 'add', BRIDGE, 'type', 'bridge']);
  await exec('ip', ['-n', ns, 'address', 'replace', `${VPC_GATEWAY}/${VPC_PREFIX_LENGTH}`, 'dev', BRIDGE]);
  await exec('ip', ['-n', ns, 'link', 'set', BRIDGE, 'up']);
  // The box's own namespace gets a name too (nothing about it changes): relays inside hosts
  // enter it to reach guest API servers on the box's loopback.
  if (!(await namespaceExists(boxNamespace(identity)))) await exec('ip', ['netns', 'attach', boxNamespace(identity), String(process.pid)]);
  // The switch routes between hosts' pod subnets: forwarding inside this namespace only.
  await exec('nsenter', [`--net=${namespacePath(ns)}`, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
}

/**
 * The host's network namespace, its cable to the switch (`eth0` inside the host), its VPC
 * address and a default route through the switch; idempotent.
 */
export async function attachHost(identity: FabricIdentity, hostName: string, index: number, exec: RunCommand = runCommand): Promise<void> {
  const sw = switchNamespace(identity);
  const ns = hostNamespace(identity, hostName);
  if (!(await namespaceExists(ns))) await exec('ip', ['netns', 'add', ns]);
  await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const port = switchPortOf(index);
  if (!(await linkExists(ns, 'eth0', exec))) {
    // A port left from a host whose namespace vanished (a reboot of the box) goes first.
    if (await linkExists(sw, port, exec)) await exec('ip', ['-n', sw, 'link', 'delete', port]);
    await exec('ip', ['-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  }
  await exec('ip', ['-n', sw, 'link', 'set', port, 'master', BRIDGE, 'up']);
  await exec('ip', ['-n', ns, 'address', 'replace', `${vpcAddressOf(index)}/${VPC_PREFIX_LENGTH}`, 'dev', 'eth0']);
  await exec('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  await exec('ip', ['-n', ns, 'route', 'replace', 'default', 'via', VPC_GATEWAY]);
}

/** Removes the host's namespace; its cable goes with it. */
export async function detachHost(identity: FabricIdentity, hostName: string, exec: RunCommand = runCommand): Promise<void> {
  const ns = hostNamespace(identity, hostName);
  if (await namespaceExists(ns)) await exec('ip', ['netns', 'delete', ns]);
}

/** Removes the switch once no host is attached. */
export async function removeSwitch(identity: FabricIdentity, exec: RunCommand = runCommand): Promise<void> {
  const ns = switchNamespace(identity);
  if (await namespaceExists(ns)) await exec('ip', ['netns', 'delete', ns]);
  // Removes the name only: the box's namespace itself lives on.
  if (await namespaceExists(boxNamespace(identity))) await exec('ip', ['netns', 'delete', boxNamespace(identity)]);
}

/** Routes a pod subnet to the host that owns it, as a datacenter router (or a cloud route table) would. */
export async function routePodSubnet(identity: FabricIdentity, podSubnet: string, hostIndex: number, exec: RunCommand = runCommand): Promise<void> {
  await exec('ip', ['-n', switchNamespace(identity), 'route', 'replace', podSubnet, 'via', vpcAddressOf(hostIndex)]);
}
