#!/usr/bin/env node
// CI stage: the Windows backend tested for real under Wine. Builds lockscope, sets up Wine with the
// Windows Node 22 and koffi's win32 binary (scripts/wine/setup.sh), builds the fake rstrtmgr.dll
// fixture with mingw-w64, stages a node_modules tree for node.exe, runs every file in
// packages/core/test/fixtures/win32/wine-*.mjs with the Windows node.exe, and ends with a plain
// "N passed, N failed" line. Exit code 0 only when every scenario ran and passed.
//   node scripts/wine/test.mjs [--no-build] [--keep] [name-filter...]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = new Set(process.argv.slice(2));
const fixtures = path.join(root, 'packages', 'core', 'test', 'fixtures', 'win32');
const tmp = path.join(root, '.tmp', 'wine');
const PER_FILE_TIMEOUT_MS = 300_000;

function step(msg) {
  console.log(`[wine-test] ${msg}`);
}

// 1. Wine, Windows node.exe, koffi win32 binary (cached).
step('setup');
const vars = Object.fromEntries(
  execFileSync('bash', [path.join(root, 'scripts', 'wine', 'setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .map((l) => l.match(/^(\w+)='(.*)'$/))
    .filter(Boolean)
    .map((m) => [m[1], m[2]]),
);
for (const k of ['WINEPREFIX', 'WINE_NODE', 'WINE_NODE_MODULES']) {
  if (!vars[k]) throw new Error(`setup.sh did not report ${k}`);
}

// 2. Build lockscope (the scenarios run the built dist, like the vitest suite).
if (!args.has('--no-build')) {
  step('build');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], { cwd: root, stdio: 'inherit' });
}

// 3. Stage: node_modules with koffi + its win32 binary + @lockscope/core (dist), the scenarios, the fake DLL.
const stage = path.join(tmp, 'stage');
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(path.join(stage, 'node_modules', '@lockscope', 'core'), { recursive: true });
fs.cpSync(vars.WINE_NODE_MODULES, path.join(stage, 'node_modules'), { recursive: true });
const coreDir = path.join(root, 'packages', 'core');
const coreStage = path.join(stage, 'node_modules', '@lockscope', 'core');
fs.cpSync(path.join(coreDir, 'package.json'), path.join(coreStage, 'package.json'));
fs.cpSync(path.join(coreDir, 'dist'), path.join(coreStage, 'dist'), { recursive: true });
if (fs.existsSync(path.join(coreDir, 'schema')))
  fs.cpSync(path.join(coreDir, 'schema'), path.join(coreStage, 'schema'), { recursive: true });
const dll = path.join(tmp, 'rstrtmgr-fake.dll');
step('build fake rstrtmgr.dll');
execFileSync('x86_64-w64-mingw32-gcc', ['-shared', '-O2', '-Wall', '-Werror', '-o', dll, path.join(fixtures, 'fake-rstrtmgr.c')], {
  stdio: 'inherit',
});
// Every .mjs fixture is staged (harness.mjs is shared); each wine-*.mjs is one node.exe run.
for (const f of fs.readdirSync(fixtures).filter((n) => n.endsWith('.mjs'))) fs.cpSync(path.join(fixtures, f), path.join(stage, f));
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const scenarioFiles = fs
  .readdirSync(fixtures)
  .filter((f) => /^wine-.*\.mjs$/.test(f) && (only.length === 0 || only.some((o) => f.includes(o))))
  .sort();

// 4. Run each scenario file in the Windows node.exe. stdio goes to files: node.exe under Wine
//    breaks on Linux pipes.
const env = {
  ...process.env,
  WINEPREFIX: vars.WINEPREFIX,
  WINEDEBUG: '-all',
  WINEDLLOVERRIDES: 'mscoree,mshtml=',
  LOCKSCOPE_FAKE_RSTRTMGR: dll,
};
function runWine(file, results, work) {
  return new Promise((resolve) => {
    const out = fs.openSync(path.join(tmp, `${file}.stdout.txt`), 'w');
    const err = fs.openSync(path.join(tmp, `${file}.stderr.txt`), 'w');
    const child = spawn('wine', [vars.WINE_NODE, path.join(stage, file)], {
      cwd: stage,
      env: { ...env, LOCKSCOPE_RESULTS: results, LOCKSCOPE_WORK: work },
      stdio: ['ignore', out, err],
      detached: true, // own process group, so a timeout can end wine and its node.exe together
    });
    fs.closeSync(out);
    fs.closeSync(err);
    const timer = setTimeout(() => {
      step(`${file}: timed out after ${PER_FILE_TIMEOUT_MS} ms, killing process group ${child.pid}`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, PER_FILE_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

let passed = 0;
let failed = 0;
for (const file of scenarioFiles) {
  const results = path.join(tmp, `${file}.results.json`);
  const work = path.join(tmp, 'work', file);
  fs.mkdirSync(work, { recursive: true });
  step(`run ${file} with ${path.basename(vars.WINE_NODE)} under Wine`);
  const t0 = Date.now();
  const r = await runWine(file, results, work);
  let list;
  try {
    list = JSON.parse(fs.readFileSync(results, 'utf8'));
  } catch {
    failed++;
    console.log(`FAIL ${file}: no results (exit ${r.code ?? r.signal}); stderr:`);
    console.log(fs.readFileSync(path.join(tmp, `${file}.stderr.txt`), 'utf8').slice(-4000));
    continue;
  }
  for (const t of list) {
    if (t.observation) {
      console.log(`info ${t.name}: ${t.ok ? JSON.stringify(t.info) : t.error.split('\n')[0]}`);
      continue;
    }
    if (t.ok) passed++;
    else failed++;
    const info = t.info ? ` ${JSON.stringify(t.info)}` : '';
    console.log(`${t.ok ? 'ok  ' : 'FAIL'} ${t.name} (${t.ms} ms)${t.ok ? info : `\n     ${t.error.split('\n').join('\n     ')}`}`);
  }
  step(`${file}: ${list.length} scenarios in ${Date.now() - t0} ms`);
}
// Let this prefix's wineserver exit on its own (it lingers a few seconds after the last process).
try {
  execFileSync('wineserver', ['-w'], { env, stdio: 'ignore', timeout: 30_000 });
} catch {
  // no wineserver left to wait for
}
if (!args.has('--keep')) fs.rmSync(path.join(tmp, 'work'), { recursive: true, force: true });
console.log(`\nwine: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
