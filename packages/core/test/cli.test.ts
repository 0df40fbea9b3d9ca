/** The `lockscope` bin, run as a child process the way users run it. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFile, pyHolder, tmpDir, type Proc } from './helpers/probe-procs.js';

const coreEntry = createRequire(import.meta.url).resolve('@lockscope/core');
const pkgDir = join(dirname(coreEntry), '..');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const bin = join(pkgDir, pkg.bin.lockscope!);
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const linux = process.platform === 'linux';

describe('lockscope bin', () => {
  it('is declared, has a node shebang', () => {
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('--help and --version exit 0', () => {
    const h = run('--help');
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/lockscope holders <path>/);
    expect(h.stdout).toMatch(/Exit codes:/);
    expect(run('--version').stdout.trim()).toBe(pkg.version);
  });

  it.each([[[]], [['bogus']], [['holders']], [['holders', 'a', 'b']], [['locks', 'x']], [['holders', 'x', '--depth', 'deep']], [['holders', 'x', '--timeout', 'soon']], [['--nope']]])(
    'usage error %j exits 2',
    (args) => {
      const r = run(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^lockscope: /);
      expect(r.stderr).toMatch(/Usage:/);
    },
  );
});

describe.skipIf(!linux)('lockscope holders / locks', () => {
  let dir: string;
  let file: string;
  let h: Proc;
  beforeAll(async () => {
    dir = tmpDir('lockscope-cli-');
    file = makeFile(dir, 'held');
    h = await pyHolder('lockf', file);
  });
  afterAll(async () => {
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holders prints a table with the holder and exits 0', () => {
    const r = run('holders', file);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(file);
    expect(r.stdout).toMatch(new RegExp(`^holder\\s+POSIX\\s+WRITE\\s+10-19\\s+${h.pid}\\s`, 'm'));
    expect(r.stdout).toMatch(/^PID\s+USER\s+STARTED\s+FDS\s+MAPS\s+COMMAND/m);
  });

  it('holders --json is the probe result', () => {
    const r = run('holders', file, '--json', '--depth', 'holders');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ path: file, ino: statSync(file).ino, depth: 'holders', openers: null });
    expect(j.locks[0].holders[0].pid).toBe(h.pid);
  });

  it('a file nobody holds or opens exits 1 (or 3 when some process was not visible)', () => {
    const idle = makeFile(dir, 'idle');
    const r = run('holders', idle, '--json');
    const j = JSON.parse(r.stdout);
    expect(j.locks).toEqual([]);
    expect(j.openers).toEqual([]);
    expect(r.status).toBe(j.complete ? 1 : 3);
    const strict = run('holders', file, '--strict', '--json');
    expect(strict.status).toBe(JSON.parse(strict.stdout).complete ? 0 : 3);
  });

  it('errors exit 4 with the typed error', () => {
    const r = run('holders', join(dir, 'missing'));
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/ENOENT: no such file or directory, stat/);
    const d = run('holders', dir, '--json');
    expect(d.status).toBe(4);
    expect(JSON.parse(d.stderr).error).toMatchObject({ name: 'ProbeError', code: 'EISDIR', reason: 'invalid-argument' });
  });

  it('locks lists the lock with its path', () => {
    const r = run('locks');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ROLE\s+TYPE\s+MODE\s+RANGE\s+PID\s+USER\s+STARTED\s+FD\s+COMMAND\s+PATH/m);
    const line = r.stdout.split('\n').find((l) => l.endsWith(file));
    expect(line).toMatch(new RegExp(`^holder\\s+POSIX\\s+WRITE\\s+10-19\\s+${h.pid}\\s`));
    const j = JSON.parse(run('locks', '--json').stdout);
    expect(j.locks.find((l: { path: string }) => l.path === file).holders[0].pid).toBe(h.pid);
  });

  it('redacts command lines unless --no-redact', async () => {
    const f = makeFile(dir, 'secret');
    const { spawn } = await import('node:child_process');
    const child = spawn('flock', ['-x', f, 'sh', '-c', 'echo ready $$; exec sleep 300', '--password', 'hunter2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sleeper = await new Promise<number>((res) => child.stdout!.once('data', (d: Buffer) => res(Number(/ready (\d+)/.exec(d.toString())![1]))));
    try {
      const red = JSON.parse(run('holders', f, '--json', '--depth', 'holders').stdout);
      const argv = red.locks[0].holders.find((x: { pid: number }) => x.pid === child.pid).argv;
      expect(argv.slice(-2)).toEqual(['--password', '[redacted]']);
      expect(run('holders', f).stdout).not.toContain('hunter2');
      const raw = JSON.parse(run('holders', f, '--json', '--depth', 'holders', '--no-redact').stdout);
      expect(raw.locks[0].holders.find((x: { pid: number }) => x.pid === child.pid).argv.slice(-1)).toEqual(['hunter2']);
    } finally {
      const done = new Promise((r) => child.once('exit', r));
      process.kill(sleeper, 'SIGKILL');
      child.kill('SIGKILL');
      await done;
    }
  });
});
