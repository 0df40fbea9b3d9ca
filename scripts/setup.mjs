#!/usr/bin/env node
// Makes a fresh clone runnable with only Node and npm: installs the pinned pnpm through npx,
// installs the workspace, builds every package. Quiet and fast when already done. Compiles no
// native code: the benchmarks' native peers install separately (bench/setup.mjs).
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { installIfStale, root, run } from './lib/pnpm.mjs';

function newest(dir, acc = { t: 0 }) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest(p, acc);
    else acc.t = Math.max(acc.t, statSync(p).mtimeMs);
  }
  return acc.t;
}

installIfStale(root);

const pkgs = ['core', 'pino-transport', 'winston-format', 'otel'];
const stale = pkgs.some((p) => {
  const dist = join(root, 'packages', p, 'dist');
  return !existsSync(dist) || newest(join(root, 'packages', p, 'src')) > newest(dist);
});
if (stale || process.env.CI) run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b']);
