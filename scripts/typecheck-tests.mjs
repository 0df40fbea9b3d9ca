#!/usr/bin/env node
// Type-checks the tests (each folder's tsconfig.json extends tsconfig.test.json: no emit), which
// `tsc -b` does not build and vitest runs without checking. Part of `npm run lint`.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const folders = [
  'packages/core/test',
  'packages/pino-transport/test',
  'packages/winston-format/test',
  'packages/otel/test',
  'test-support',
  'examples/test',
];
let failed = 0;
for (const folder of folders) {
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', join(root, folder, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
if (failed > 0) {
  console.error(`typecheck-tests: ${failed} of ${folders.length} test folders have type errors`);
  process.exit(1);
}
