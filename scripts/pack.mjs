// Packs every published package as npm users get it: `pnpm pack` (it turns workspace: ranges into
// versions, which npm pack would not). Used by scripts/check-packages.mjs and the npm-install test.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNPM, root } from './lib/pnpm.mjs';

export { root };
export const PACKAGES = ['core', 'pino-transport', 'winston-format', 'otel'];

/** Packs each package into `dest`; returns [{ dir, name, tarball }]. Expects built dist/. */
export function packAll(dest) {
  return PACKAGES.map((p) => {
    const dir = join(root, 'packages', p);
    const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const out = execFileSync('npx', ['--yes', PNPM, 'pack', '--pack-destination', dest], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tarball = out.trim().split('\n').pop().trim();
    return { dir, name, tarball };
  });
}
