#!/usr/bin/env node
// Runs every benchmark in turn (or the ones named):
//   node bench/run.mjs [lock probe instrumentation snapshot adapters serializer report idle] [--quick]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['lock', 'probe', 'instrumentation', 'snapshot', 'adapters', 'serializer', 'report', 'idle'];
const names = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
// Dependencies only the benchmarks use install here, not with the workspace.
if (spawnSync(process.execPath, [join(here, 'setup.mjs')], { stdio: 'inherit' }).status !== 0) process.exit(1);
let failed = 0;
for (const name of names.length ? names : all) {
  const file = join(here, `${name}.mjs`);
  if (!existsSync(file)) {
    console.error(`no such bench: ${name}`);
    failed++;
    continue;
  }
  console.log(`\n=== bench/${name}.mjs ===`);
  const r = spawnSync(process.execPath, [file, ...(name === 'lock' ? flags : [])], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
