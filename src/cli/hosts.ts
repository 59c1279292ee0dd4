// `tessera hosts ...`: local machines you can SSH into (src/local/hosts). Thin: parses
// arguments, calls the module, prints.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { resolveHome } from '../local/home.ts';
import { ensureBinaries } from '../local/binaries/resolve.ts';
import { joinGuest, type Kubectl } from '../local/hosts/guest-join.ts';
import type { MetaClusterConfig } from '../local/metacluster/config.ts';
import { hostPaths, readHostRecord, type HostRecord } from '../local/hosts/host-layout.ts';
import { createHost, deleteHost, linkGuestToHosts, listHosts, startHost, stopHost } from '../local/hosts/local-hosts.ts';
import { renderMachineManifests } from '../local/hosts/machine-manifest.ts';
import { sshArguments, writeKnownHosts } from '../local/hosts/host-ssh.ts';

const USAGE = `Usage:
  tessera hosts create NAME... [--zone ZONE] [--cluster CLUSTER] [--namespace NS] [-o yaml]
      Create and power on local hosts: own namespaces, disk, hostname, VPC address and sshd
      with fresh host keys. -o yaml prints, per host, a Secret with its SSH key and a Machine.
  tessera hosts list
  tessera hosts ssh NAME [-- COMMAND...]      the real ssh client, host key pinned
  tessera hosts stop NAME...                  power off (disk kept)
  tessera hosts start NAME...                 power on
  tessera hosts delete NAME...                power off and wipe
  tessera hosts link SERVER
      Make a guest API server (https URL on the box, e.g. the Cluster's endpoint) reachable from
      every host, and the hosts from it; prints the API server flag that completes the link.
  tessera hosts join NAME... --cluster CLUSTER [--namespace NS]
      Until the Node operator does it: install the node packages of the guest's version on the
      hosts over SSH and join them to the guest with a short-lived bootstrap token.
  tessera hosts manifests NAME... [--cluster CLUSTER] [--namespace NS]
      Print the Secret and Machine of existing hosts.
`;

function table(rows: string[][]): string {
  const widths = rows.reduce<number[]>((acc, row) => row.map((cell, i) => Math.max(acc[i] ?? 0, cell.length)), []);
  return `${rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

async function manifests(home: string, records: HostRecord[], clusterName: string | undefined, namespace: string | undefined): Promise<string> {
  const documents: string[] = [];
  for (const record of records) {
    const privateKey = await readFile(hostPaths(home, record.name).clientKey, 'utf8');
    for (const object of renderMachineManifests(record, privateKey, { clusterName, namespace })) documents.push(stringify(object, { lineWidth: 0 }));
  }
  return documents.map((document) => `---\n${document}`).join('');
}

/** The pinned kubectl against the local meta cluster (or a guest, with a kubeconfig). */
async function metaKubectl(): Promise<Kubectl> {
  const home = resolveHome();
  const config = JSON.parse(await readFile(home.config, 'utf8').catch(() => {
    throw new Error(`no meta cluster in ${home.root}: run \`npx tessera up\` first`);
  })) as MetaClusterConfig;
  const { kubectl } = await ensureBinaries({ kubernetesVersion: config.kubernetesVersion, components: ['kubectl'] });
  return (args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(kubectl, [...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []), ...args], { env: { ...process.env, KUBECONFIG: home.kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim()}`))));
      child.stdin.end(options.input ?? '');
    });
}

async function existing(home: string, name: string): Promise<HostRecord> {
  const record = await readHostRecord(home, name);
  if (!record) throw new Error(`host ${name} does not exist: see \`tessera hosts list\``);
  return record;
}

async function ssh(home: string, name: string, command: string[]): Promise<number> {
  const record = await existing(home, name);
  const knownHosts = await writeKnownHosts(home, record);
  const args = [...(command.length === 0 ? ['-t'] : []), ...sshArguments(home, record, knownHosts), ...(command.length === 0 ? [] : ['--', ...command])];
  const child = spawn('ssh', args, { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

export async function run(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const home = resolveHome().root;
  const progress = (line: string): void => void process.stderr.write(`${line}\n`);
  if (verb === 'ssh') {
    const separator = rest.indexOf('--');
    const names = separator === -1 ? rest : rest.slice(0, separator);
    if (names.length !== 1 || names[0] === undefined) throw new Error('hosts ssh takes one host name: tessera hosts ssh NAME -- COMMAND');
    return ssh(home, names[0], separator === -1 ? [] : rest.slice(separator + 1));
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      zone: { type: 'string', default: 'zone-a' },
      cluster: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || verb === undefined) {
    process.stdout.write(USAGE);
    return verb === undefined ? 2 : 0;
  }
  if (values.output !== undefined && values.output !== 'yaml') throw new Error(`-o ${values.output} is not supported: use -o yaml`);
  const needsNames = ['create', 'stop', 'start', 'delete', 'manifests', 'join'];
  if (needsNames.includes(verb) && positionals.length === 0) throw new Error(`hosts ${verb} needs at least one host name\n\n${USAGE}`);
  switch (verb) {
    case 'create': {
      const created: HostRecord[] = [];
      for (const name of positionals) {
        const started = Date.now();
        const record = await createHost({ tesseraHome: home, name, zone: values.zone, onProgress: progress });
        progress(`host ${name}: up in ${((Date.now() - started) / 1000).toFixed(1)} s, ssh root@${record.sshAddress}:${record.sshPort}, zone ${record.zone}, VPC address ${record.vpcAddress}`);
        created.push(record);
      }
      if (values.output === 'yaml') process.stdout.write(await manifests(home, created, values.cluster, values.namespace));
      return 0;
    }
    case 'manifests': {
      const records = await Promise.all(positionals.map((name) => existing(home, name)));
      process.stdout.write(await manifests(home, records, values.cluster, values.namespace));
      return 0;
    }
    case 'link': {
      const [server] = positionals;
      if (server === undefined || positionals.length !== 1) throw new Error('hosts link takes one https URL: tessera hosts link https://127.108.22.250:6443');
      const { configPath } = await linkGuestToHosts(home, server);
      process.stdout.write(`egress-selector-config-file: ${configPath}\n`);
      progress(`hosts reach ${server}; give the guest's API server the flag above (spec.controlPlane.apiServer.extraArgs) so it reaches kubelets and pods`);
      return 0;
    }
    case 'join': {
      if (values.cluster === undefined) throw new Error('hosts join needs --cluster CLUSTER: the guest the hosts join');
      await joinGuest({
        tesseraHome: home,
        cluster: values.cluster,
        namespace: values.namespace ?? 'default',
        hosts: positionals,
        kubectl: await metaKubectl(),
        guestKubeconfigPath: join(home, 'hosts', `${values.cluster}.kubeconfig`),
        writeFile: (path, content) => writeFile(path, content, { mode: 0o600 }),
        onProgress: progress,
      });
      progress(`joined ${positionals.join(', ')}; see them with: tessera kubectl -- --kubeconfig ${join(home, 'hosts', `${values.cluster}.kubeconfig`)} get nodes`);
      return 0;
    }
    case 'list': {
      const hosts = await listHosts(home);
      const rows = [['NAME', 'ZONE', 'SSH', 'VPC ADDRESS', 'STATE', 'HOST KEY'], ...hosts.map((h) => [h.name, h.zone, `${h.sshAddress}:${h.sshPort}`, h.vpcAddress, h.state, h.fingerprint])];
      process.stdout.write(table(rows));
      return 0;
    }
    case 'stop':
      for (const name of positionals) {
        await existing(home, name);
        await stopHost({ tesseraHome: home, name });
        progress(`host ${name}: stopped`);
      }
      return 0;
    case 'start':
      for (const name of positionals) {
        await startHost({ tesseraHome: home, name, onProgress: progress });
        progress(`host ${name}: running`);
      }
      return 0;
    case 'delete':
      for (const name of positionals) {
        await existing(home, name);
        await deleteHost({ tesseraHome: home, name });
        progress(`host ${name}: deleted`);
      }
      return 0;
    default:
      process.stderr.write(`tessera hosts: unknown command "${verb}"\n\n${USAGE}`);
      return 2;
  }
}
