#!/usr/bin/env node
// Lints every package as published: publint (package.json vs the files in the tarball) and
// arethetypeswrong (types resolve like the JavaScript, per module resolution mode).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packAll, root } from './pack.mjs';

const bin = (name) => join(root, 'node_modules', '.bin', name);
const dest = mkdtempSync(join(tmpdir(), 'lockscope-check-'));
const license = readFileSync(join(root, 'LICENSE'), 'utf8');
let failed = 0;
try {
  for (const { dir, name, tarball } of packAll(dest)) {
    console.log(`\n== ${name}`);
    if (readFileSync(join(dir, 'LICENSE'), 'utf8') !== license) {
      console.log(`${dir}/LICENSE differs from the root LICENSE`);
      failed++;
    }
    const runs = [
      [bin('publint'), ['run', '--strict', tarball]],
      // node16 profile: node10 resolution predates `exports` (subpaths cannot resolve there).
      // cjs-resolves-to-esm: ESM-only on purpose; require() of ESM works from Node 20.19, and
      // the npm-install test runs it.
      [bin('attw'), [tarball, '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'table-flipped']],
    ];
    for (const [cmd, args] of runs) {
      try {
        process.stdout.write(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
      } catch (e) {
        process.stdout.write(`${e.stdout ?? ''}${e.stderr ?? ''}`);
        failed++;
      }
    }
  }
} finally {
  rmSync(dest, { recursive: true, force: true });
}
if (failed) {
  console.error(`\ncheck-packages: ${failed} problem(s)`);
  process.exit(1);
}
console.log('\ncheck-packages: all packages pass publint and arethetypeswrong');
