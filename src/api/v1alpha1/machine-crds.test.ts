import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { machineCrdFiles } from './machine-crds.ts';

for (const { fileName, render } of machineCrdFiles) {
  test(`the checked-in ${fileName} is the one generated from its kind`, async () => {
    const onDisk = await readFile(new URL(`../../../deploy/crds/${fileName}`, import.meta.url), 'utf8').catch(() => '');
    assert.ok(onDisk === render(), `deploy/crds/${fileName} is out of date: run \`npm run crds\` and commit the result`);
  });
}
