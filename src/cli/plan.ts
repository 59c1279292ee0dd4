// `tessera plan FILE [--output text|json]`: checks a ClusterPlan or Cluster before it exists.
// Exit status: 0 without errors, 1 with errors, 2 when the input cannot be read or parsed (or the
// command line is wrong).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { planDocument } from '../plan/plan.ts';
import { renderPlanReportText } from '../plan/plan-report-text.ts';
import { parsePlanSource } from '../plan/plan-source.ts';

const usage = `Usage: tessera plan FILE [--output text|json]

Checks a ClusterPlan (or a Cluster) before the cluster exists: CIDRs and overlaps, maximum
nodes and pods, worker and master sizing, and the choices that cannot be changed later.
FILE is YAML or JSON; "-" reads standard input.

Options:
  -o, --output text|json  report format (default text)
  -h, --help              show this help

Exit status: 0 no errors, 1 errors found, 2 unreadable input or bad usage.
`;

async function readSource(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(args: string[]): Promise<number> {
  let values: { output?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o', default: 'text' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`tessera plan: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const output = values.output;
  if (output !== 'text' && output !== 'json') {
    process.stderr.write(`tessera plan: --output must be text or json, not "${output}"\n\n${usage}`);
    return 2;
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    process.stderr.write(`tessera plan: ${file === undefined ? 'no FILE given' : `one FILE only, got ${positionals.length}`}\n\n${usage}`);
    return 2;
  }

  const unreadable = (message: string, line: number | null, column: number | null): number => {
    const where = line === null ? file : `${file}:${line}${column === null ? '' : `:${column}`}`;
    process.stderr.write(`tessera plan: ${where}: ${message}\n`);
    if (output === 'json') {
      process.stdout.write(`${JSON.stringify({ ok: false, error: { file, line, column, message } }, null, 2)}\n`);
    }
    return 2;
  };

  let text: string;
  try {
    text = await readSource(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : error instanceof Error ? error.message : String(error);
    return unreadable(`cannot read: ${reason}`, null, null);
  }
  const source = parsePlanSource(text);
  if (!source.ok) return unreadable(source.message, source.line, source.column);

  const report = planDocument(source.document);
  process.stdout.write(output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderPlanReportText(report, file));
  return report.ok ? 0 : 1;
}
