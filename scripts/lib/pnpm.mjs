// The pinned pnpm (package.json packageManager), through npx unless that version is on PATH.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PNPM = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager;

export function run(cmd, args, { cwd = root, env = process.env } = {}) {
  execFileSync(cmd, args, { cwd, stdio: 'inherit', env });
}

export function pnpm(args, opts = {}) {
  const env = opts.env ?? process.env;
  try {
    const v = execFileSync('pnpm', ['--version'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (v === PNPM.split('@')[1]) return run('pnpm', args, opts);
  } catch {
    // no pnpm on PATH: npx brings the pinned one
  }
  run('npx', ['--yes', PNPM, ...args], opts);
}

/** `pnpm install --frozen-lockfile` in `dir` unless its node_modules is newer than its lockfile (always on CI). */
export function installIfStale(dir, opts = {}) {
  const lock = join(dir, 'pnpm-lock.yaml');
  const marker = join(dir, 'node_modules', '.modules.yaml');
  if (!existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs || process.env.CI) {
    pnpm(['install', '--frozen-lockfile'], { ...opts, cwd: dir });
  }
}
