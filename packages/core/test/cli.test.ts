/** The `lockscope` bin, run as a child process the way users run it. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFile, pyHolder, tmpDir, type Proc } from './helpers/probe-procs.js';
import { flockHolder, type Holder } from '../../../test-support/holders.js';

const coreEntry = createRequire(import.meta.url).resolve('@lockscope/core');
const pkgDir = join(dirname(coreEntry), '..');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const bin = join(pkgDir, pkg.bin.lockscope!);
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
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

  it.each([
    [['locks', '-o', 'NOPE']],
    [['locks', '-o', '']],
    [['locks', '-p', 'x']],
    [['holders', 'x', '--pid', '0']],
    [[]],
    [['bogus']],
    [['holders']],
    [['holders', 'a', 'b']],
    [['locks', 'x']],
    [['holders', 'x', '--depth', 'deep']],
    [['holders', 'x', '--timeout', 'soon']],
    [['--nope']],
  ])('usage error %j exits 2', (args) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^lockscope: /);
    expect(r.stderr).toMatch(/Usage:/);
  });
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
    expect(r.stdout).toMatch(new RegExp(`^holder\\s+POSIX\\s+WRITE\\s+10\\s+19\\s+${h.pid}\\s`, 'm'));
    expect(r.stdout).toMatch(/^PID\s+USER\s+STARTED\s+FDS\s+MAPS\s+COMMAND/m);
  });

  it('holders --json is the probe result', () => {
    const r = run('holders', file, '--json', '--depth', 'holders');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ path: file, ino: statSync(file).ino, depth: 'holders', openers: null });
    expect(j.locks[0].holders[0].pid).toBe(h.pid);
  });

  it(
    'a file nobody holds or opens exits 1 even when some process cannot be read ' + '(the lock table is complete); --strict exits 3 then',
    () => {
      const idle = makeFile(dir, 'idle');
      const r = run('holders', idle, '--json');
      const j = JSON.parse(r.stdout);
      expect(j.locks).toEqual([]);
      expect(j.openers).toEqual([]);
      expect(r.status).toBe(1);
      const t = run('holders', idle);
      expect(t.status).toBe(1);
      expect(t.stdout).toContain("locks: none (from the kernel's lock table: complete)");
      // Here PID 1 is unreadable even to root: the opener part is partial and says so.
      if (j.unreadable.some((u: { reason: string }) => u.reason === 'permission')) {
        expect(t.stdout).toContain('open by: nobody seen (partial: see below)');
        expect(t.stdout).toMatch(/could not be inspected \(permission\): .*\b1 \(/);
        expect(run('holders', idle, '--strict').status).toBe(3);
      }
      const strict = run('holders', file, '--strict', '--json');
      expect(strict.status).toBe(JSON.parse(strict.stdout).complete ? 0 : 3);
    },
  );

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
    expect(r.stdout).toMatch(/^ROLE\s+TYPE\s+MODE\s+START\s+END\s+PID\s+USER\s+STARTED\s+FD\s+COMMAND\s+PATH/m);
    const line = r.stdout.split('\n').find((l) => l.endsWith(file));
    expect(line).toMatch(new RegExp(`^holder\\s+POSIX\\s+WRITE\\s+10\\s+19\\s+${h.pid}\\s`));
    const j = JSON.parse(run('locks', '--json').stdout);
    expect(j.locks.find((l: { path: string }) => l.path === file).holders[0].pid).toBe(h.pid);
  });

  it('redacts command lines unless --no-redact', async () => {
    const f = makeFile(dir, 'secret');
    const child = flockHolder(f, 'ex', 300, { withCommand: true, scriptArgs: ['--password', 'hunter2'] });
    await child.waitFor('ready');
    try {
      const red = JSON.parse(run('holders', f, '--json', '--depth', 'holders').stdout);
      const argv = red.locks[0].holders.find((x: { pid: number }) => x.pid === child.pid).argv;
      expect(argv.slice(-2)).toEqual(['--password', '[redacted]']);
      expect(run('holders', f).stdout).not.toContain('hunter2');
      const raw = JSON.parse(run('holders', f, '--json', '--depth', 'holders', '--no-redact').stdout);
      expect(raw.locks[0].holders.find((x: { pid: number }) => x.pid === child.pid).argv.slice(-1)).toEqual(['hunter2']);
    } finally {
      await child.stop();
    }
  });
});

describe.skipIf(!linux)('lockscope locks / holders with lslocks options', () => {
  let dir: string;
  let file: string;
  let child: Holder;
  const longArg = `a long argument with spaces ${'x'.repeat(160)}`;
  beforeAll(async () => {
    dir = tmpDir('lockscope-cli-lslocks-');
    file = makeFile(dir, 'wide.lock');
    // flock(1) holds it and runs sh, whose command line is long and has an argument with spaces.
    child = flockHolder(file, 'ex', 300, { withCommand: true, scriptArgs: ['sh', longArg] });
    await child.waitFor('ready');
  });
  afterAll(async () => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = (cols?: number) => ({ ...process.env, COLUMNS: cols === undefined ? '' : String(cols) });
  const runEnv = (e: NodeJS.ProcessEnv, ...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: e });
  const quoted = `'${longArg}'`;

  it('-u never cuts COMMAND; without it COMMAND is cut to the width ($COLUMNS), and piped output is never cut', () => {
    const cut = runEnv(env(100), 'locks', '-o', 'PID,COMMAND,PATH', '-p', String(child.pid));
    expect(cut.status).toBe(0);
    const line = cut.stdout.split('\n').find((l) => l.includes(String(child.pid)))!;
    expect(line.length).toBeLessThanOrEqual(100);
    expect(line).toContain('…');
    const whole = runEnv(env(100), 'locks', '-u', '-o', 'PID,COMMAND,PATH', '-p', String(child.pid));
    expect(whole.stdout).toContain(`flock -x ${file} sh -c 'echo ready $$; exec sleep 300' sh ${quoted}`);
    expect(runEnv(env(), 'locks', '-o', 'PID,COMMAND', '-p', String(child.pid)).stdout).toContain(quoted);
  });

  it('-o, -n, -r and -p: lslocks column names, raw cells with blanks escaped', () => {
    const r = run('locks', '-n', '-r', '-o', 'PID,TYPE,MODE,M,START,END,PATH', '-p', String(child.pid));
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`${child.pid} FLOCK WRITE 0 0 EOF ${file}`);
    const head = run('locks', '-o', 'command,pid', '-p', String(child.pid)).stdout.split('\n')[0];
    expect(head).toMatch(/^COMMAND\s+PID$/);
    const raw = run('locks', '-r', '-n', '-o', 'COMMAND', '-p', String(child.pid)).stdout.trim();
    expect(raw).not.toMatch(/\s/);
    expect(raw).toContain('\\x20');
    const all = run('holders', file, '--output-all', '--depth', 'holders').stdout;
    expect(all).toMatch(
      /^ROLE\s+COMMAND\s+PID\s+TYPE\s+SIZE\s+INODE\s+MAJ:MIN\s+MODE\s+M\s+START\s+END\s+PATH\s+BLOCKER\s+USER\s+STARTED\s+FD$/m,
    );
    // A pid that holds nothing: nothing found.
    expect(run('locks', '-p', String(process.pid)).status).toBe(1);
  });

  it('-J -o gives lslocks-style rows with the same words as lslocks -J (and as the text)', () => {
    // lslocks names the /proc/locks PID column (flock(1)); lockscope may also name the sh it runs,
    // which shares the lock, when the fast path falls back to a scan: compare flock's rows.
    const mine = (l: { path: string; pid: number }) => l.path === file && l.pid === child.pid;
    const ours = JSON.parse(run('locks', '-J', '-o', 'PID,TYPE,MODE,M,START,PATH').stdout).locks.filter(mine);
    const theirs = JSON.parse(spawnSync('lslocks', ['-J', '-o', 'PID,TYPE,MODE,M,START,PATH'], { encoding: 'utf8' }).stdout).locks.filter(
      mine,
    );
    expect(ours).toHaveLength(1);
    // lslocks 2.38 can list one lock twice while other processes come and go (seen under load): the
    // claim is that our row is one of lslocks's, word for word.
    expect(theirs.length).toBeGreaterThan(0);
    for (const t of theirs) expect(t).toEqual(ours[0]);
    expect(ours.map((l: { mode: string }) => l.mode)).toContain('WRITE');
    // Without -o, --json/-J stays the probe result (modes in the lock API's words).
    const probe = JSON.parse(run('holders', file, '-J', '--depth', 'holders').stdout);
    expect(probe.locks[0].mode).toBe('exclusive');
  });
});
