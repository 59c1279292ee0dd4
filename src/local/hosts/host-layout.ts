// Where a local host keeps its state: everything under $TESSERA_HOME/hosts/<name>/, so that
// `hosts delete` is one removal and `hosts start` after a stop finds the same disk.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type HostRecord = {
  name: string;
  zone: string;
  /** 1-based position in the fabric: decides the VPC address and the SSH address. */
  index: number;
  /** The host's address on the local VPC (its node address). */
  vpcAddress: string;
  /** Where the meta cluster dials the host's sshd: a loopback address relayed into the VPC. */
  sshAddress: string;
  sshPort: number;
  /** The host's ed25519 public host key, as in known_hosts ("ssh-ed25519 AAAA..."). */
  hostKey: string;
  createdAt: string;
};

export type HostPaths = {
  dir: string;
  record: string;
  /** The overlay's writable layer: everything the host writes to its / lands here. */
  upper: string;
  work: string;
  /** A plain directory for /var/lib/containerd (overlay layers cannot live on an overlay). */
  containerd: string;
  /** One file per kernel setting the host sees as its own (vm.overcommit_memory, ...). */
  kernel: string;
  /** Mount point of the assembled root, used only inside the host's mount namespace. */
  rootfs: string;
  /** The SSH key pair that logs in as root; the private key goes into the Machine's Secret. */
  clientKey: string;
  /** Process records of the host's init and its SSH relay. */
  run: string;
  log: string;
};

export function hostsRoot(tesseraHome: string): string {
  return join(tesseraHome, 'hosts');
}

export function hostPaths(tesseraHome: string, name: string): HostPaths {
  const dir = join(hostsRoot(tesseraHome), name);
  return {
    dir,
    record: join(dir, 'host.json'),
    upper: join(dir, 'disk', 'upper'),
    work: join(dir, 'disk', 'work'),
    containerd: join(dir, 'disk', 'containerd'),
    kernel: join(dir, 'kernel'),
    rootfs: join(dir, 'rootfs'),
    clientKey: join(dir, 'ssh', 'id_ed25519'),
    run: join(dir, 'run'),
    log: join(dir, 'console.log'),
  };
}

export async function readHostRecord(tesseraHome: string, name: string): Promise<HostRecord | undefined> {
  try {
    return JSON.parse(await readFile(hostPaths(tesseraHome, name).record, 'utf8')) as HostRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function writeHostRecord(tesseraHome: string, record: HostRecord): Promise<void> {
  const path = hostPaths(tesseraHome, record.name).record;
  await mkdir(hostPaths(tesseraHome, record.name).dir, { recursive: true });
  await writeFile(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Every host with a record, sorted by index. */
export async function listHostRecords(tesseraHome: string): Promise<HostRecord[]> {
  let names: string[];
  try {
    names = await readdir(hostsRoot(tesseraHome));
  } catch {
    return [];
  }
  const records = await Promise.all(names.map((name) => readHostRecord(tesseraHome, name).catch(() => undefined)));
  return records.filter((record): record is HostRecord => record !== undefined).sort((a, b) => a.index - b.index);
}
