// The Debian packages a local host is made of. A host runs the box's own programs (its root is
// an overlay over the box's /), so whatever a fresh server would bring must be installed on the
// box: sshd, runit (the host's init), socat (the relays of the fabric), iproute2 and
// util-linux (namespaces), iptables and conntrack (kube-proxy and the CNI plugins on hosts).
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createInterface } from 'node:readline';

/** A program on PATH, or (for libraries and data) a file a Debian package installs. */
export type Prerequisite = { command: string; debianPackage: string } | { file: string; debianPackage: string };

export const HOST_PREREQUISITES: readonly Prerequisite[] = [
  { command: 'sshd', debianPackage: 'openssh-server' },
  { command: 'ssh', debianPackage: 'openssh-client' },
  { command: 'ssh-keygen', debianPackage: 'openssh-client' },
  { command: 'runsvdir', debianPackage: 'runit' },
  { command: 'socat', debianPackage: 'socat' },
  { command: 'ip', debianPackage: 'iproute2' },
  { command: 'nsenter', debianPackage: 'util-linux' },
  { command: 'unshare', debianPackage: 'util-linux' },
  { command: 'findmnt', debianPackage: 'util-linux' },
  // Package installs on a host hold a per-package lock (src/node/host-install.ts).
  { command: 'flock', debianPackage: 'util-linux' },
  { command: 'iptables', debianPackage: 'iptables' },
  { command: 'conntrack', debianPackage: 'conntrack' },
];

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function onPath(command: string): boolean {
  return SEARCH_PATH.some((dir) => {
    try {
      accessSync(`${dir}/${command}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * What building the node packages needs beyond Go: a C toolchain and a static libseccomp for
 * runc, and Debian's static busybox for the demo image.
 */
export const BUILD_PREREQUISITES: readonly Prerequisite[] = [
  { command: 'gcc', debianPackage: 'gcc' },
  { file: '/usr/lib/x86_64-linux-gnu/libc.a', debianPackage: 'libc6-dev' },
  { command: 'pkg-config', debianPackage: 'pkg-config' },
  { file: '/usr/lib/x86_64-linux-gnu/libseccomp.a', debianPackage: 'libseccomp-dev' },
  { file: '/usr/share/doc/busybox-static', debianPackage: 'busybox-static' },
];

function fileExists(path: string): boolean {
  try {
    accessSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The Debian packages whose commands or files are missing, in a stable order. */
export function missingPackages(isPresent: (command: string) => boolean = onPath, prerequisites: readonly Prerequisite[] = HOST_PREREQUISITES, hasFile: (path: string) => boolean = fileExists): string[] {
  const missing = new Set<string>();
  for (const prerequisite of prerequisites) {
    const present = 'command' in prerequisite ? isPresent(prerequisite.command) : hasFile(prerequisite.file);
    if (!present) missing.add(prerequisite.debianPackage);
  }
  return [...missing];
}

export function installCommand(packages: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

function streamed(command: string, args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

/**
 * Installs what hosts need when it is missing, showing apt's progress; where that is impossible
 * (not root, no apt-get) it stops with the exact command that would fix it.
 */
export async function ensureHostPrerequisites(onProgress: (line: string) => void, prerequisites: readonly Prerequisite[] = HOST_PREREQUISITES, purpose = 'local hosts'): Promise<void> {
  const packages = missingPackages(onPath, prerequisites);
  if (packages.length === 0) return;
  const command = installCommand(packages);
  if (process.getuid?.() !== 0) throw new Error(`${purpose} need Debian packages that are missing (${packages.join(', ')}) and installing them needs root: run \`sudo sh -c '${command}'\`, then try again`);
  if (!onPath('apt-get')) throw new Error(`${purpose} need ${packages.join(', ')} and this machine has no apt-get: install ${prerequisites.filter((p) => packages.includes(p.debianPackage)).map((p) => ('command' in p ? p.command : p.file)).join(', ')} with its package manager`);
  onProgress(`installing ${packages.join(', ')} (${command})`);
  await streamed('apt-get', ['update', '-q'], onProgress);
  await streamed('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], onProgress);
  const still = missingPackages(onPath, prerequisites);
  if (still.length > 0) throw new Error(`installed ${packages.join(', ')} but ${still.join(', ')} still lacks its commands: run \`${installCommand(still)}\` and check its output`);
}
