#!/usr/bin/env node
// Runs the otel adapter's tests against OpenTelemetry 3.x (Node >= 22.15), beside the workspace's
// 2.x: installs scripts/otel3/package-lock.json into .tmp/otel3 (reused while the lock is the same)
// and lays out there a copy of the built adapter and its tests, so that every @opentelemetry/*
// import, the adapter's own included, resolves to 3.x. Core and the shared test support are links
// to the checkout. Run after the build (scripts/setup.mjs).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const spec = join(root, 'scripts', 'otel3');
const dir = join(root, '.tmp', 'otel3');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 15)) {
  console.error(`otel3: OpenTelemetry 3.x needs Node >= 22.15 (this is ${process.version})`);
  process.exit(2);
}

const lock = readFileSync(join(spec, 'package-lock.json'), 'utf8');
const installed = join(dir, 'package-lock.json');
if (!existsSync(installed) || readFileSync(installed, 'utf8') !== lock || !existsSync(join(dir, 'node_modules'))) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(spec, 'package.json'), join(dir, 'package.json'));
  cpSync(join(spec, 'package-lock.json'), installed);
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
}

// Fresh copies of what changes between runs; links for what must stay the checkout's own.
const nm = join(dir, 'node_modules');
const otel = join(nm, '@lockscope', 'otel');
for (const p of [otel, join(nm, '@lockscope', 'core'), join(nm, 'vitest'), join(dir, 'packages')])
  rmSync(p, { recursive: true, force: true });
mkdirSync(otel, { recursive: true });
cpSync(join(root, 'packages', 'otel', 'package.json'), join(otel, 'package.json'));
cpSync(join(root, 'packages', 'otel', 'dist'), join(otel, 'dist'), { recursive: true });
symlinkSync(join(root, 'packages', 'core'), join(nm, '@lockscope', 'core'));
symlinkSync(join(root, 'node_modules', 'vitest'), join(nm, 'vitest'));
cpSync(join(root, 'packages', 'otel', 'test'), join(dir, 'packages', 'otel', 'test'), { recursive: true });
for (const shared of ['pino-transport', 'core']) symlinkSync(join(root, 'packages', shared), join(dir, 'packages', shared));
rmSync(join(dir, 'test-support'), { recursive: true, force: true });
symlinkSync(join(root, 'test-support'), join(dir, 'test-support'));
// The test folders' tsconfig.json extend the root's (vite reads them to transform the tests).
for (const t of ['tsconfig.test.json', 'tsconfig.base.json']) {
  rmSync(join(dir, t), { force: true });
  symlinkSync(join(root, t), join(dir, t));
}

const versions = ['api', 'sdk-trace', 'sdk-node'].map(
  (p) => `${p} ${JSON.parse(readFileSync(join(nm, '@opentelemetry', p, 'package.json'), 'utf8')).version}`,
);
console.log(`otel3: @opentelemetry/{${versions.join(', ')}} on Node ${process.version}`);
const r = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', join(spec, 'vitest.config.ts')],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, LOCKSCOPE_OTEL_LINE: '3' },
  },
);
process.exit(r.status ?? 1);
