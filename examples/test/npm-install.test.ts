/**
 * The packages as npm users get them: packed tarballs (pnpm pack, as published) installed with
 * `npm install ./tarballs...` into a scratch app outside the workspace, then used there: ESM
 * import, require(), TypeScript (nodenext and bundler), the pino transport by its package name,
 * the CLI through npx, and OpenTelemetry on both lines with a single copy of
 * @opentelemetry/instrumentation (the 3.x line needs Node >= 22.15).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs helper shared with scripts/check-packages.mjs
import { packAll, root } from '../../scripts/pack.mjs';
import { flockHolder, type Holder } from '../../test-support/holders.js';

const APP = join(import.meta.dirname, 'npm-app');
const work = mkdtempSync(join(tmpdir(), 'lockscope-npm-'));
// The child's npm, npx and scripts run on this test's Node; nothing of `npm test`'s npm_* config leaks in.
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH}`;

function sh(cwd: string, cmd: string, args: string[], timeout = 240_000): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
const node = (cwd: string, ...args: string[]) => sh(cwd, process.execPath, args);

let tarballs: string[] = [];
function scratchApp(name: string, deps: string[]): string {
  const dir = join(work, name);
  cpSync(APP, dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `scratch-${name}`, private: true, type: 'module' }));
  // --prefer-offline: from the npm cache when it has them; the registry otherwise.
  sh(dir, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, ...deps]);
  return dir;
}

/** Every installed copy of a package in the app's node_modules tree. */
function copiesOf(dir: string, pkg: string): string[] {
  const found: string[] = [];
  const walk = (nm: string) => {
    let entries: string[];
    try {
      entries = readdirSync(nm);
    } catch {
      return;
    }
    for (const e of entries) {
      const names = e.startsWith('@') ? readdirSync(join(nm, e)).map((s) => `${e}/${s}`) : [e];
      for (const n of names) {
        if (n === pkg) found.push(join(nm, n));
        walk(join(nm, n, 'node_modules'));
      }
    }
  };
  walk(join(dir, 'node_modules'));
  return found;
}

const versionOf = (dir: string): string => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;

let holder: Holder;
let lockFile: string;
beforeAll(async () => {
  const packs = join(work, 'tarballs');
  cpSync(APP, packs, { recursive: true }); // any dir will do; keeps the tarballs beside the apps
  tarballs = (packAll(packs) as Array<{ tarball: string }>).map((p) => p.tarball);
  lockFile = join(work, 'held.lock');
  writeFileSync(lockFile, '');
  holder = flockHolder(lockFile, 'ex', 600);
  await holder.waitFor('ready');
}, 120_000);
afterAll(() => {
  holder?.kill();
  rmSync(work, { recursive: true, force: true });
});

describe('the packed packages in a scratch npm app (pino 10, winston 3, OTel 2.x line)', () => {
  let app: string;
  beforeAll(() => {
    app = scratchApp('v2', [
      'pino@^10.4.0',
      'winston@^3.19.0',
      '@opentelemetry/api@~1.9.0',
      '@opentelemetry/instrumentation@~0.223.0',
      '@opentelemetry/sdk-trace@~2.12.0',
      '@types/node@^20.19.0',
    ]);
  }, 300_000);

  it('each package ships README, LICENSE and full metadata; every source map carries its sources', () => {
    for (const name of ['core', 'pino-transport', 'winston-format', 'otel']) {
      const dir = join(app, 'node_modules', '@lockscope', name);
      const files = readdirSync(dir, { recursive: true }) as string[];
      expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(pkg).toMatchObject({
        description: expect.any(String),
        license: 'MIT',
        homepage: expect.any(String),
        bugs: { url: expect.any(String) },
      });
      expect(pkg.repository).toMatchObject({ type: 'git', directory: `packages/${name}` });
      expect(pkg.keywords.length).toBeGreaterThan(2);
      const maps = files.filter((f) => f.endsWith('.map'));
      expect(maps.length).toBeGreaterThan(0);
      for (const m of maps) {
        const map = JSON.parse(readFileSync(join(dir, m), 'utf8'));
        expect(map.sourcesContent?.length, m).toBe(map.sources.length);
      }
    }
  });

  it('imports as ESM and loads with require() (Node >= 20.19)', () => {
    expect(node(app, 'esm.mjs')).toContain('esm ok');
    expect(node(app, 'cjs.cjs')).toContain('cjs ok');
  });

  it('typechecks a TypeScript consumer with module nodenext and with moduleResolution bundler', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const p of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) expect(node(app, tsc, '-p', p)).toBe('');
  });

  const pinoTransportTitle =
    'pino.transport({ target: "@lockscope/pino-transport" }) resolves by name and writes the timeout record with the flock(1) holder';
  it(pinoTransportTitle, () => {
    const records = JSON.parse(node(app, 'pino-transport.mjs', lockFile, join(app, 'locks.ndjson')));
    const timeout = records.find((r: { event: string }) => r.event === 'timeout');
    expect(timeout?.holders.map((h: { pid: number }) => h.pid)).toContain(holder.proc.pid);
  });

  it('runs the CLI through npx -p @lockscope/core (the local install, not some package called lockscope)', () => {
    expect(sh(app, 'npx', ['--offline', '-p', '@lockscope/core', 'lockscope', '--help'])).toContain('lockscope holders <path>');
    expect(sh(app, 'npx', ['--offline', 'lockscope', '--version']).trim()).toBe('0.1.0');
  });

  it('@opentelemetry/instrumentation 0.223 is installed once (a peer); the acquire span and a busy-error span name the holder', () => {
    const copies = copiesOf(app, '@opentelemetry/instrumentation');
    expect(copies).toHaveLength(1);
    expect(versionOf(copies[0]!)).toMatch(/^0\.223\./);
    const { spans } = JSON.parse(node(app, 'otel.mjs', lockFile));
    const span = spans.find((s: { name: string }) => s.name === 'lockscope.lock.acquire');
    expect(span.attributes['lockscope.lock.outcome']).toBe('timeout');
    expect(span.attributes['lockscope.lock.holder.pids']).toContain(holder.proc.pid);
    const saved = spans.find((s: { name: string }) => s.name === 'save state');
    expect(saved.attributes).toMatchObject({ 'lockscope.file.holders.status': 'cached' });
    expect(saved.attributes['lockscope.file.holder.pids']).toContain(holder.proc.pid);
  });
});

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const otel3 = major > 22 || (major === 22 && minor >= 15);
if (!otel3) console.log(`npm-install: skipping the OTel 3.x line: it needs Node >= 22.15, this is ${process.versions.node}`);

describe.skipIf(!otel3)('the packed @lockscope/otel in an app on the OTel 3.x line (Node >= 22.15)', () => {
  it("dedupes to the app's @opentelemetry/instrumentation 0.301; the acquire span and a busy-error span name the holder", () => {
    const app = scratchApp('v3', [
      '@opentelemetry/api@~1.10.0',
      '@opentelemetry/instrumentation@~0.301.1',
      '@opentelemetry/sdk-trace@~3.1.1',
    ]);
    const copies = copiesOf(app, '@opentelemetry/instrumentation');
    expect(copies).toHaveLength(1);
    expect(versionOf(copies[0]!)).toMatch(/^0\.301\./);
    const { spans } = JSON.parse(node(app, 'otel.mjs', lockFile));
    const span = spans.find((s: { name: string }) => s.name === 'lockscope.lock.acquire');
    expect(span.attributes['lockscope.lock.holder.pids']).toContain(holder.proc.pid);
    // LockscopeHoldersSpanProcessor.onEnding on SDK 3.x.
    const saved = spans.find((s: { name: string }) => s.name === 'save state');
    expect(saved.attributes['lockscope.file.holder.pids']).toContain(holder.proc.pid);
  }, 300_000);
});
