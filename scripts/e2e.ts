// `npm run test:e2e`: the end-to-end files in two groups that share nothing and run side by side.
//  - control planes: each file its own local meta cluster and guests, two files at a time;
//  - hosts: files that start local hosts (kubelet, containerd, sshd per host), one at a time,
//    because two of them at once would use up the box's inotify instances (128 per user; a
//    host file peaks near 70).
// Each line is prefixed with its group; the exit code is non-zero when either group fails.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const HOST_FILES = ['hosts', 'node-stack', 'machines*', 'package-rollout*'];
const groups = [
  { name: 'control-planes', args: ['--test', '--test-concurrency=2', `test/e2e/!(${HOST_FILES.join('|')}).test.ts`] },
  { name: 'hosts', args: ['--test', '--test-concurrency=1', `test/e2e/{${HOST_FILES.join(',')}}.test.ts`] },
];

const codes = await Promise.all(
  groups.map(
    (group) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, group.args, { stdio: ['ignore', 'pipe', 'pipe'] });
        for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${group.name}] ${line}\n`));
        child.on('exit', (code, signal) => {
          process.stdout.write(`[${group.name}] finished: ${signal ?? `exit ${code}`}\n`);
          resolve(code ?? 1);
        });
      }),
  ),
);
process.exit(codes.some((code) => code !== 0) ? 1 : 0);
