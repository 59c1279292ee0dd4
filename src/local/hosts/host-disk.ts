// A new host's disk: the writable layer of its overlay root, prepared so that the host looks
// like a freshly installed Debian server. The box's / is the read-only layer below; this layer
// hides what a fresh server would not have (Tessera's state and caches, the repository, the
// box's SSH keys and authorized keys, a container image's policy-rc.d) with overlayfs whiteouts,
// and adds what installation would have made: its own SSH host keys, machine-id, hostname, and
// root's authorized key.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { HostPaths } from './host-layout.ts';

const run = promisify(execFile);

/**
 * Kernel settings a kubelet changes at start (pkg/kubelet/cm setupKernelTunables) and that are
 * global to the machine, not per namespace. Each host gets its own copy of each.
 */
export const HOST_KERNEL_SETTINGS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
] as const;

export function kernelSettingPath(setting: string): string {
  return `/proc/sys/${setting.replaceAll('.', '/')}`;
}

export type HostDiskOptions = {
  name: string;
  vpcAddress: string;
  /** Absolute paths of the box a host must not see. */
  maskedPaths: readonly string[];
  /** The public key that may log in as root. */
  authorizedKey: string;
};

/** The paths a host must not see: Tessera's state and cache, the repository, the box's SSH identity. */
export function defaultMaskedPaths(input: { tesseraHome: string; cacheRoot: string; repository: string }): string[] {
  return [input.tesseraHome, input.cacheRoot, input.repository, '/usr/sbin/policy-rc.d'];
}

/** An overlayfs whiteout: a 0/0 character device in the upper layer hides the lower path. */
async function whiteout(upper: string, path: string): Promise<void> {
  const target = join(upper, path);
  if (existsSync(target)) return;
  await mkdir(dirname(target), { recursive: true });
  await run('mknod', [target, 'c', '0', '0']);
}

/** Only paths on the root filesystem show through the overlay; others need no mask. */
async function isOnRootFilesystem(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  const { stdout } = await run('findmnt', ['-n', '-o', 'TARGET', '--target', path]);
  return stdout.trim() === '/';
}

export async function prepareHostDisk(paths: HostPaths, options: HostDiskOptions): Promise<void> {
  for (const dir of [paths.upper, paths.work, paths.containerd, paths.kernel, paths.rootfs, paths.run, dirname(paths.clientKey)]) {
    await mkdir(dir, { recursive: true });
  }
  for (const path of options.maskedPaths) {
    if (await isOnRootFilesystem(path)) await whiteout(paths.upper, path);
  }

  // Root's SSH directory: the box's entries hidden one by one, then our authorized key.
  const sshDir = join(paths.upper, 'root', '.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await chmod(sshDir, 0o700);
  const boxEntries = await readdir('/root/.ssh').catch(() => [] as string[]);
  for (const entry of boxEntries) if (entry !== 'authorized_keys') await whiteout(paths.upper, `/root/.ssh/${entry}`);
  await writeFile(join(sshDir, 'authorized_keys'), `${options.authorizedKey.trim()}\n`, { mode: 0o600 });

  // New host keys of every type sshd loads by default, as Debian's openssh-server postinst
  // makes them on installation; the box's keys are replaced, not shared.
  await mkdir(join(paths.upper, 'etc', 'ssh'), { recursive: true });
  await run('ssh-keygen', ['-A', '-f', paths.upper]);

  await writeFile(join(paths.upper, 'etc', 'hostname'), `${options.name}\n`);
  await writeFile(join(paths.upper, 'etc', 'hosts'), `127.0.0.1\tlocalhost\n${options.vpcAddress}\t${options.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  await writeFile(join(paths.upper, 'etc', 'machine-id'), `${randomBytes(16).toString('hex')}\n`);

  for (const setting of HOST_KERNEL_SETTINGS) {
    const value = await readFile(kernelSettingPath(setting), 'utf8');
    await writeFile(join(paths.kernel, setting), value);
  }
}

/** The host's ed25519 public host key, without its comment, as a Machine pins it. */
export async function readHostKey(paths: HostPaths): Promise<string> {
  const text = await readFile(join(paths.upper, 'etc', 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8');
  const [type, key] = text.trim().split(/\s+/);
  if (type !== 'ssh-ed25519' || key === undefined) throw new Error(`${paths.upper}/etc/ssh/ssh_host_ed25519_key.pub is not an ed25519 public key`);
  return `${type} ${key}`;
}

/** A new ed25519 key pair for root's login; returns the public key line. */
export async function generateClientKey(path: string, comment: string): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return (await readFile(`${path}.pub`, 'utf8')).trim();
}
