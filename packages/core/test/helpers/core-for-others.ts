/**
 * The built @lockscope/core as another, unprivileged uid can load it. CI may clone the repository
 * into a 0700 directory (mktemp -d), which such a child cannot enter: then a world-readable copy of
 * dist/ plus koffi (and its prebuilt binary, a sibling package koffi looks for) is staged in the
 * system temp dir, once per test process, and removed at exit.
 */
import { chmodSync, cpSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const coreDir = realpathSync(fileURLToPath(new URL('../../', import.meta.url)));

function searchableByOthers(path: string): boolean {
  for (let d = path; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === parse(d).root) return true;
  }
}

let staged: { entry: string; bin: string } | undefined;

/** `entry`: file URL of dist/index.js to import; `bin`: path of the CLI's main.js. */
export function coreForOthers(): { entry: string; bin: string } {
  if (staged) return staged;
  const koffiDir = realpathSync(join(coreDir, 'node_modules', 'koffi'));
  let pkg = coreDir;
  if (!searchableByOthers(join(coreDir, 'dist')) || !searchableByOthers(koffiDir)) {
    const root = mkdtempSync(join(tmpdir(), 'lockscope-core-'));
    chmodSync(root, 0o755);
    const mods = join(root, 'node_modules');
    pkg = join(mods, '@lockscope', 'core');
    for (const part of ['package.json', 'dist', 'schema'])
      cpSync(join(coreDir, part), join(pkg, part), { recursive: true, dereference: true });
    cpSync(koffiDir, join(mods, 'koffi'), { recursive: true, dereference: true });
    // Each prebuilt package by its real path: pnpm links them into @koromix, and Node 22+'s cpSync
    // copies a symlink inside a copied directory as a symlink (dangling in the copy) despite dereference.
    const koromix = join(dirname(koffiDir), '@koromix');
    for (const name of readdirSync(koromix))
      cpSync(realpathSync(join(koromix, name)), join(mods, '@koromix', name), { recursive: true, dereference: true });
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  staged = { entry: pathToFileURL(join(pkg, 'dist', 'index.js')).href, bin: join(pkg, 'dist', 'cli', 'main.js') };
  return staged;
}
