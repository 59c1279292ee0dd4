import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

// Scripts and the e2e tests run `tessera kubectl` in polling loops. Loading client-node and
// typebox made each call cost about 2 CPU seconds before kubectl even started.
test('tessera kubectl loads neither client-node nor typebox unless --cell is given', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'tessera-kubectl-'));
  t.after(() => rm(directory, { recursive: true, force: true }));
  const loaded = join(directory, 'loaded.txt');
  // Records every module the process resolves, through Node's own module hooks.
  const recorder = join(directory, 'record-modules.mjs');
  await writeFile(
    recorder,
    `import { registerHooks } from 'node:module';\nimport { appendFileSync } from 'node:fs';\n` +
      `registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); appendFileSync(${JSON.stringify(loaded)}, result.url + '\\n'); return result; } });\n`,
  );
  const exit = await new Promise<{ code: number; stderr: string }>((resolve) => {
    // An empty home: the command stops at "no meta cluster", after its modules have loaded.
    execFile(process.execPath, ['--import', recorder, main, 'kubectl', '--', 'version'], { env: { ...process.env, TESSERA_HOME: join(directory, 'home') } }, (error, _stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stderr }),
    );
  });
  assert.equal(exit.code, 1);
  assert.match(exit.stderr, /no meta cluster in .*run `npx tessera up` first/);
  const urls = (await readFile(loaded, 'utf8')).split('\n');
  assert.ok(urls.some((url) => url.endsWith('/src/cli/kubectl.ts')), 'the kubectl command module was loaded');
  assert.deepEqual(urls.filter((url) => /\/node_modules\/(@kubernetes\/client-node|@sinclair\/typebox)\//.test(url)), []);
});
