// The `tessera` command line: each subcommand is a module exporting `run(args)` that
// returns an exit status. Modules load lazily so `tessera plan` never pays for the runtime.
type Command = { summary: string; load: () => Promise<{ run: (args: string[]) => Promise<number> }> };

const commands: Record<string, Command> = {
  up: { summary: 'start the local meta cluster (--detach to run in the background)', load: () => import('./up.ts') },
  down: { summary: 'stop the local meta cluster and every process it started', load: () => import('./down.ts') },
  status: { summary: 'show the local meta cluster, its processes and nodes', load: () => import('./status.ts') },
  kubectl: { summary: 'run the pinned kubectl against the local meta cluster', load: () => import('./kubectl.ts') },
  binaries: { summary: 'resolve, download or build the pinned upstream binaries', load: () => import('./binaries.ts') },
  hosts: { summary: 'local hosts you can SSH into: create, list, ssh, stop, start, delete', load: () => import('./hosts.ts') },
  packages: { summary: 'build the node stack (kubelet, containerd, runc, CNI, images) as versioned packages', load: () => import('./packages.ts') },
  plan: { summary: 'check a ClusterPlan or Cluster before it exists', load: () => import('./plan.ts') },
  cells: { summary: 'local cells: add NAME [--region R] [--zones a,b,c] starts another meta cluster as a Cell; list', load: () => import('./cells.ts') },
  fleet: { summary: 'every guest and cell of the global cluster: cell, tier, load, health, capacity (-o json)', load: () => import('./fleet.ts') },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: tessera <command> [options]\n\nCommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`tessera: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`tessera: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env['TESSERA_DEBUG'] && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return 1;
});
