// End to end: local hosts through the real CLI, checked with the real OpenSSH client against the
// host keys `hosts create` prints, as a person (or the Node operator) would trust them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { MetaClusterCli } from '../harness/meta-cluster-cli.ts';
import { HOST_KERNEL_SETTINGS, kernelSettingPath } from '../../src/local/hosts/host-disk.ts';
import { hostCgroupDirectories, hostCgroupProcesses, loadFabric } from '../../src/local/hosts/local-hosts.ts';
import { hostNamespace, switchNamespace } from '../../src/local/fabric/vpc-plan.ts';

type Machine = { kind: 'Machine'; metadata: { name: string; labels: Record<string, string> }; spec: { clusterName?: string; address: string; port: number; zone: string; hostname: string; ssh: { user: string; hostKey: string; privateKeySecretRef: { name: string } } } };
type Secret = { kind: 'Secret'; metadata: { name: string }; type: string; stringData: { 'ssh-privatekey': string } };

const repository = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const cli = await MetaClusterCli.create(0);
const scratch = await mkdtemp(join(tmpdir(), 'tessera-ssh-'));
const kernelBefore = await readKernelSettings();

after(async () => {
  await cli.tessera(['hosts', 'delete', 'w1', 'w2'], 60_000);
  await rm(scratch, { recursive: true, force: true });
  await cli.destroy();
});

async function readKernelSettings(): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const setting of HOST_KERNEL_SETTINGS) values[setting] = (await readFile(kernelSettingPath(setting), 'utf8')).trim();
  return values;
}

type SshResult = { code: number; stdout: string; stderr: string };

/** The real ssh client with StrictHostKeyChecking=yes against a known_hosts made from `hostKey`. */
async function sshWith(machine: Machine, privateKey: string, hostKey: string, command: string): Promise<SshResult> {
  const id = `${machine.metadata.name}-${Math.random().toString(16).slice(2)}`;
  const keyFile = join(scratch, `${id}.key`);
  const knownHosts = join(scratch, `${id}.known_hosts`);
  await writeFile(keyFile, privateKey, { mode: 0o600 });
  await writeFile(knownHosts, `${machine.spec.address} ${hostKey}\n`);
  const args = ['-i', keyFile, '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-p', String(machine.spec.port), `${machine.spec.ssh.user}@${machine.spec.address}`, command];
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 255) : 0, stdout, stderr });
    });
  });
}

function parseManifests(stdout: string): { machines: Map<string, Machine>; secrets: Map<string, Secret> } {
  const objects = parseAllDocuments(stdout).map((document) => document.toJS() as Machine | Secret);
  const machines = new Map<string, Machine>();
  const secrets = new Map<string, Secret>();
  for (const object of objects) {
    if (object.kind === 'Machine') machines.set(object.metadata.name, object);
    else secrets.set(object.metadata.name, object);
  }
  return { machines, secrets };
}

const created = await cli.tessera(['hosts', 'create', 'w1', 'w2', '--zone', 'zone-a', '--cluster', 'shop', '-o', 'yaml'], 300_000);
const { machines, secrets } = parseManifests(created.stdout);
const machineOf = (name: string): Machine => {
  const machine = machines.get(name);
  assert.ok(machine, `a Machine for ${name} in: ${created.stdout}\n${created.stderr}`);
  return machine;
};
const keyOf = (name: string): string => {
  const secret = secrets.get(machineOf(name).spec.ssh.privateKeySecretRef.name);
  assert.ok(secret, `the Secret of ${name}`);
  return secret.stringData['ssh-privatekey'];
};

test('hosts create prints a Secret and a Machine per host, and the printed host key is the real one', async () => {
  assert.equal(created.code, 0, created.stderr);
  assert.deepEqual([...machines.keys()].sort(), ['w1', 'w2']);
  for (const name of ['w1', 'w2']) {
    const machine = machineOf(name);
    assert.equal(machine.spec.zone, 'zone-a');
    assert.equal(machine.spec.clusterName, 'shop');
    assert.equal(machine.spec.ssh.user, 'root');
    assert.match(machine.spec.ssh.hostKey, /^ssh-ed25519 [A-Za-z0-9+/=]+$/);
    assert.equal(secrets.get(machine.spec.ssh.privateKeySecretRef.name)?.type, 'kubernetes.io/ssh-auth');
    const login = await sshWith(machine, keyOf(name), machine.spec.ssh.hostKey, 'hostname');
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout.trim(), name, 'the host has its own hostname');
  }
  assert.notEqual(machineOf('w1').spec.ssh.hostKey, machineOf('w2').spec.ssh.hostKey, 'every host has its own host key');
});

test('ssh refuses a host whose key is not the pinned one', async () => {
  const impostor = await sshWith(machineOf('w1'), keyOf('w1'), machineOf('w2').spec.ssh.hostKey, 'true');
  assert.notEqual(impostor.code, 0);
  assert.match(impostor.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
});

test('a host looks like a fresh server: no Tessera state, repository, caches, node software or box keys', async () => {
  const checks = [
    `test ! -e ${cli.home}`,
    `test ! -e ${repository}`,
    'test ! -e /root/.cache/tessera',
    'test ! -e /usr/sbin/policy-rc.d',
    'test ! -e /opt/tessera && test ! -e /etc/containerd && test ! -e /var/lib/kubelet',
    '! command -v kubelet',
    'test "$(ls /root/.ssh)" = authorized_keys',
    'test "$(cat /etc/hostname)" = w1',
  ];
  const result = await sshWith(machineOf('w1'), keyOf('w1'), machineOf('w1').spec.ssh.hostKey, checks.map((check) => `(${check}) || echo "FAILED: ${check.replaceAll('"', "'")}"`).join('; '));
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), '', result.stdout);
  const boxKey = (await readFile('/etc/ssh/ssh_host_ed25519_key.pub', 'utf8').catch(() => '')).split(/\s+/).slice(0, 2).join(' ');
  assert.notEqual(machineOf('w1').spec.ssh.hostKey, boxKey, 'not the box\'s own host key');
});

test('a host has its own process tree, network and address on the VPC, and reaches the other host', async () => {
  const result = await sshWith(machineOf('w1'), keyOf('w1'), machineOf('w1').spec.ssh.hostKey, 'cat /proc/1/comm; ls /sys/class/net | sort | tr "\\n" " "; echo; exec 3<>/dev/tcp/10.240.0.7/22 && head -c 7 <&3');
  assert.equal(result.code, 0, result.stderr);
  const [init, interfaces, banner] = result.stdout.split('\n');
  assert.equal(init, 'runsvdir', 'PID 1 is the host\'s init');
  assert.equal(interfaces?.trim(), 'eth0 lo');
  assert.equal(banner, 'SSH-2.0', 'w2\'s sshd answers on its VPC address');
});

test('kernel settings a kubelet changes are the host\'s own: the box keeps its values', async () => {
  const script = 'echo 1 > /proc/sys/vm/overcommit_memory; echo 10 > /proc/sys/kernel/panic; echo 1 > /proc/sys/kernel/panic_on_oops; cat /proc/sys/vm/overcommit_memory /proc/sys/kernel/panic /proc/sys/kernel/panic_on_oops';
  const result = await sshWith(machineOf('w1'), keyOf('w1'), machineOf('w1').spec.ssh.hostKey, script);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n'), ['1', '10', '1'], 'the host sees what it wrote');
  assert.deepEqual(await readKernelSettings(), kernelBefore, 'the box does not');
});

test('stop powers a host off and start brings it back with its disk and keys', async () => {
  const machine = machineOf('w2');
  const written = await sshWith(machine, keyOf('w2'), machine.spec.ssh.hostKey, 'echo kept > /root/marker');
  assert.equal(written.code, 0, written.stderr);
  assert.equal((await cli.tessera(['hosts', 'stop', 'w2'])).code, 0);
  const list = await cli.tessera(['hosts', 'list']);
  assert.match(list.stdout, /^w2\s+zone-a\s+\S+\s+10\.240\.0\.7\s+stopped\s+SHA256:/m);
  assert.notEqual((await sshWith(machine, keyOf('w2'), machine.spec.ssh.hostKey, 'true')).code, 0, 'nothing answers while off');
  const started = await cli.tessera(['hosts', 'start', 'w2']);
  assert.equal(started.code, 0, started.stderr);
  const read = await sshWith(machine, keyOf('w2'), machine.spec.ssh.hostKey, 'cat /root/marker');
  assert.equal(read.code, 0, read.stderr);
  assert.equal(read.stdout.trim(), 'kept');
});

test('delete wipes a host: no process, mount, namespace or cgroup is left, and a new host of that name has new keys', async () => {
  const before = machineOf('w1');
  const fabric = await loadFabric(cli.home);
  const processes = await hostCgroupProcesses(cli.home, 'w1');
  assert.ok(processes.length >= 3, `init, runsv and sshd run on w1: ${processes.join(', ')}`);
  const deleted = await cli.tessera(['hosts', 'delete', 'w1']);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.deepEqual(processes.filter((pid) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))), [], 'every process of the host is gone');
  assert.equal(existsSync(`/run/netns/${hostNamespace(fabric, 'w1')}`), false, 'network namespace removed');
  assert.deepEqual(await hostCgroupDirectories(cli.home, 'w1'), [], 'cgroups removed');
  const hostDir = join(cli.home, 'hosts', 'w1');
  assert.equal((await readFile('/proc/self/mountinfo', 'utf8')).includes(hostDir), false, 'no mount of the host left on the box');
  assert.equal(existsSync(hostDir), false, 'disk wiped');
  assert.ok(existsSync(`/run/netns/${switchNamespace(fabric)}`), 'the switch stays while w2 is attached');

  const again = await cli.tessera(['hosts', 'create', 'w1', '-o', 'yaml'], 120_000);
  assert.equal(again.code, 0, again.stderr);
  const manifests = parseManifests(again.stdout);
  const reinstalled = manifests.machines.get('w1');
  const newKey = manifests.secrets.get('w1-ssh-key')?.stringData['ssh-privatekey'];
  assert.ok(reinstalled && newKey);
  assert.notEqual(reinstalled.spec.ssh.hostKey, before.spec.ssh.hostKey, 'a reinstalled server has new host keys');
  const stale = await sshWith(reinstalled, newKey, before.spec.ssh.hostKey, 'true');
  assert.notEqual(stale.code, 0, 'the old pinned key no longer matches');
  const fresh = await sshWith(reinstalled, newKey, reinstalled.spec.ssh.hostKey, 'hostname');
  assert.equal(fresh.stdout.trim(), 'w1', fresh.stderr);
});
