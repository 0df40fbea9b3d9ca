#!/usr/bin/env node
// Makes a fresh clone runnable with only Node and npm: installs the pinned pnpm through npx,
// installs the workspace, builds every package. Quiet and fast when already done.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM = 'pnpm@12.4.2';
const env = { ...process.env };
// node-gyp (fs-ext, os-lock in bench/) must use the headers this machine ships, not download them.
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env });
}

function pnpm(args) {
  try {
    const v = execFileSync('pnpm', ['--version'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (v === PNPM.split('@')[1]) return run('pnpm', args);
  } catch {}
  run('npx', ['--yes', PNPM, ...args]);
}

function newest(dir, acc = { t: 0 }) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest(p, acc);
    else acc.t = Math.max(acc.t, statSync(p).mtimeMs);
  }
  return acc.t;
}

const lock = join(root, 'pnpm-lock.yaml');
const marker = join(root, 'node_modules', '.modules.yaml');
if (!existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs || process.env.CI) {
  pnpm(['install', '--frozen-lockfile']);
}

const pkgs = ['core', 'pino-transport', 'winston-format', 'otel'];
const stale = pkgs.some((p) => {
  const dist = join(root, 'packages', p, 'dist');
  return !existsSync(dist) || newest(join(root, 'packages', p, 'src')) > newest(dist);
});
if (stale || process.env.CI) run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b']);
