// `tessera binaries ensure|list`: resolve, download or build the pinned upstream binaries, or
// show which of them are ready. The work happens in src/local/binaries/.
import { parseArgs } from 'node:util';
import { inspectBinaries, resolveBinaries } from '../local/binaries/resolve.ts';
import type { ProgressEvent } from '../local/binaries/resolve.ts';
import { cacheRoot } from '../local/binaries/cache.ts';
import { COMPONENTS, DEFAULT_KUBERNETES_VERSION, isKubernetesVersion, KUBERNETES_VERSIONS, pinFor } from '../local/binaries/versions.ts';
import type { Component } from '../local/binaries/versions.ts';

const USAGE = `Usage:
  tessera binaries ensure [--kubernetes-version V | --all-versions] [--component NAME]...
      Make the pinned binaries available: TESSERA_KUBE_BIN, else the cache, else the
      official release (checksum verified), else a build with Go. Prints where each came from.
  tessera binaries list
      Show every pinned binary and whether it is ready, without downloading or building.

Kubernetes versions: ${KUBERNETES_VERSIONS.join(', ')} (default ${DEFAULT_KUBERNETES_VERSION})
Components: ${COMPONENTS.join(', ')}
Environment: TESSERA_KUBE_BIN (directory of your own binaries), TESSERA_CACHE (cache directory),
  TESSERA_OFFLINE=1 (skip release downloads)
`;

/** Progress on a terminal rewrites one status line; in a log it becomes a line every 30 s. */
function progressPrinter(stream: NodeJS.WriteStream): { print: (event: ProgressEvent) => void; done: () => void } {
  let statusShown = false;
  let lastLogged = 0;
  const clearStatus = (): void => {
    if (statusShown) stream.write('\r\x1b[K');
    statusShown = false;
  };
  return {
    print: (event) => {
      if (event.kind === 'step') {
        clearStatus();
        stream.write(`${event.message}\n`);
      } else if (stream.isTTY) {
        stream.write(`\r\x1b[K${event.message.slice(0, Math.max(20, (stream.columns || 80) - 1))}`);
        statusShown = true;
      } else if (Date.now() - lastLogged >= 30_000) {
        lastLogged = Date.now();
        stream.write(`${event.message}\n`);
      }
    },
    done: clearStatus,
  };
}

function formatTable(rows: string[][]): string {
  const widths = rows.reduce<number[]>((acc, row) => row.map((cell, i) => Math.max(acc[i] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

function parseComponents(values: string[] | undefined): Component[] {
  if (!values || values.length === 0) return [...COMPONENTS];
  const names = values.flatMap((value) => value.split(','));
  for (const name of names) {
    if (!(COMPONENTS as readonly string[]).includes(name)) {
      throw new Error(`--component ${name} is not a pinned component: use one of ${COMPONENTS.join(', ')}`);
    }
  }
  return names as Component[];
}

async function ensure(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'kubernetes-version': { type: 'string' },
      'all-versions': { type: 'boolean', default: false },
      component: { type: 'string', multiple: true },
    },
  });
  const requested = values['kubernetes-version']?.replace(/^v/, '');
  if (requested !== undefined && values['all-versions']) {
    throw new Error('--kubernetes-version and --all-versions exclude each other: pass one');
  }
  if (requested !== undefined && !isKubernetesVersion(requested)) {
    throw new Error(`--kubernetes-version ${requested} is not pinned: use one of ${KUBERNETES_VERSIONS.join(', ')}`);
  }
  const versions = values['all-versions'] ? [...KUBERNETES_VERSIONS] : [requested ?? DEFAULT_KUBERNETES_VERSION];
  const components = parseComponents(values.component);
  const progress = progressPrinter(process.stderr);
  const seen = new Set<string>();
  const rows: string[][] = [];
  try {
    for (const kubernetesVersion of versions) {
      const resolved = await resolveBinaries({ kubernetesVersion, components, onProgress: progress.print });
      const ordered = COMPONENTS.flatMap((component) => (components.includes(component) ? [resolved[component]] : []));
      for (const binary of ordered) {
        // etcd and kwok are shared by Kubernetes versions: one line each.
        if (seen.has(binary.path)) continue;
        seen.add(binary.path);
        rows.push([binary.component, binary.version, binary.source, binary.path, binary.detail]);
      }
    }
  } finally {
    progress.done();
  }
  process.stdout.write(`${formatTable([['COMPONENT', 'VERSION', 'SOURCE', 'PATH', 'DETAIL'], ...rows])}\n`);
  return 0;
}

async function list(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  const rows: string[][] = [];
  const seen = new Set<string>();
  for (const kubernetesVersion of KUBERNETES_VERSIONS) {
    const found = await inspectBinaries({ kubernetesVersion, components: COMPONENTS });
    for (const component of COMPONENTS) {
      const binary = found[component];
      const version = pinFor(component, kubernetesVersion).version;
      const key = `${component}-${version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const kubernetes = kubernetesVersion === DEFAULT_KUBERNETES_VERSION ? `${kubernetesVersion} (default)` : kubernetesVersion;
      rows.push(
        binary
          ? [kubernetes, component, binary.version, binary.source, binary.path, binary.detail]
          : [kubernetes, component, version, 'missing', '', 'run `tessera binaries ensure' + (kubernetesVersion === DEFAULT_KUBERNETES_VERSION ? '`' : ` --kubernetes-version ${kubernetesVersion}\``)],
      );
    }
  }
  process.stdout.write(`cache: ${cacheRoot(process.env)}\n`);
  if (process.env['TESSERA_KUBE_BIN']) process.stdout.write(`TESSERA_KUBE_BIN: ${process.env['TESSERA_KUBE_BIN']}\n`);
  process.stdout.write(`${formatTable([['KUBERNETES', 'COMPONENT', 'VERSION', 'SOURCE', 'PATH', 'DETAIL'], ...rows])}\n`);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'ensure':
      return ensure(rest);
    case 'list':
      return list(rest);
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(subcommand === undefined ? USAGE : `tessera binaries: unknown subcommand "${subcommand}"\n\n${USAGE}`);
      return 2;
  }
}
