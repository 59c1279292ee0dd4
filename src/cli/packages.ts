// `tessera packages build|list`: the node stack as versioned, checksummed packages (see
// src/local/packages/). Thin: parses arguments, calls the module, prints.
import { parseArgs } from 'node:util';
import { KUBERNETES_VERSIONS } from '../local/binaries/versions.ts';
import { catalogue } from '../node/catalogue.ts';
import { ensureAllPackages, packagesDir, readArtifact } from '../local/packages/package-artifacts.ts';

const USAGE = `Usage:
  tessera packages build [--kubernetes-version V]...
      Build every package of the catalogue that the cache lacks (kubelet and kube-proxy for the
      given Kubernetes versions, default all of ${KUBERNETES_VERSIONS.join(', ')}).
  tessera packages list
      Every package and version of the catalogue and whether its artifact is built.
`;

function table(rows: string[][]): string {
  const widths = rows.reduce<number[]>((acc, row) => row.map((cell, i) => Math.max(acc[i] ?? 0, cell.length)), []);
  return `${rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

export async function run(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const { values } = parseArgs({ args: rest, options: { 'kubernetes-version': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || verb === undefined) {
    process.stdout.write(USAGE);
    return verb === undefined ? 2 : 0;
  }
  const versions = values['kubernetes-version'];
  for (const version of versions ?? []) {
    if (!(KUBERNETES_VERSIONS as readonly string[]).includes(version)) throw new Error(`--kubernetes-version ${version} is not pinned: use one of ${KUBERNETES_VERSIONS.join(', ')}`);
  }
  if (verb === 'build') {
    const started = Date.now();
    const artifacts = await ensureAllPackages({ ...(versions ? { kubernetesVersions: versions } : {}), onProgress: (line) => void process.stderr.write(`${line}\n`) });
    process.stdout.write(`${artifacts.length} packages ready in ${packagesDir(process.env)} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return 0;
  }
  if (verb === 'list') {
    const rows = [['NAME', 'VERSION', 'KIND', 'SIZE', 'SHA256', 'NOTE']];
    for (const definition of catalogue()) {
      const artifact = await readArtifact(process.env, definition.name, definition.version);
      rows.push([definition.name, definition.version, definition.activation.kind, artifact ? `${(artifact.size / 1048576).toFixed(1)}M` : '-', artifact ? artifact.sha256.slice(0, 16) : 'not built', definition.broken ? 'BROKEN on purpose' : '']);
    }
    process.stdout.write(table(rows));
    return 0;
  }
  process.stderr.write(`tessera packages: unknown command "${verb}"\n\n${USAGE}`);
  return 2;
}
