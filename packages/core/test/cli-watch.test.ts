/**
 * `lockscope watch` in a real terminal (tmux: send-keys, capture-pane) and as an NDJSON stream,
 * against a real flock(1) holder and a real rename-and-create.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flockCmd, tmpDir } from './helpers/probe-procs.js';

const coreEntry = createRequire(import.meta.url).resolve('@lockscope/core');
const pkgDir = join(dirname(coreEntry), '..');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const bin = join(pkgDir, pkg.bin.lockscope!);
const linux = process.platform === 'linux';
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | false;
  for (;;) {
    last = probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('lockscope watch usage', () => {
  it('--help exits 0, bad input exits 2, a missing file 4', () => {
    const run = (...a: string[]) => spawnSync(process.execPath, [bin, 'watch', ...a], { encoding: 'utf8' });
    expect(run('--help').stdout).toMatch(/Usage: lockscope watch <path>/);
    expect(run().status).toBe(2);
    expect(run('a', 'b').status).toBe(2);
    expect(run('/tmp/x', '--interval', 'soon').status).toBe(2);
    if (linux) {
      const r = run('/nonexistent/lockscope-watch-file', '--json');
      expect(r.status).toBe(4);
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'ENOENT', reason: 'not-found' });
    }
  });
});

describe.skipIf(!linux)('lockscope watch', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmpDir('lockscope-watch-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // tmux is installed by .ci/run; without it this terminal test cannot run at all.
  it.skipIf(!hasTmux)('in a terminal: a flock(1) holder appears and goes; Ctrl-C leaves the shell prompt and no UI behind', async () => {
    const file = join(dir, 'tty.lock');
    writeFileSync(file, '');
    const sock = `lockscope-test-${process.pid}`;
    const tmux = (...a: string[]) => spawnSync('tmux', ['-L', sock, ...a], { encoding: 'utf8' });
    // -J: a line the terminal wrapped (a long node path) comes back as the one line it was.
    const screen = () => tmux('capture-pane', '-p', '-J', '-t', 'w').stdout;
    expect(tmux('new-session', '-d', '-s', 'w', '-x', '160', '-y', '40', "env PS1='watch-test> ' sh").status).toBe(0);
    const holder = await (async () => {
      try {
        await until('the shell prompt', () => screen().includes('watch-test>'));
        tmux('send-keys', '-t', 'w', `${process.execPath} ${bin} watch ${file}`, 'Enter');
        await until('the empty view', () => screen().includes('nobody holds, waits for, or has this file open'));
        expect(tmux('display', '-p', '-t', 'w', '#{alternate_on}').stdout.trim()).toBe('1');
        const h = await flockCmd(file);
        try {
          const view = await until('the holder row', () => {
            const s = screen();
            return new RegExp(`^holder\\s+FLOCK\\s+WRITE\\s+${h.pid}\\s+\\d+\\s+r\\s+\\S+\\s+flock -x ${file}`, 'm').test(s) && s;
          });
          expect(view).toMatch(/^ROLE\s+KIND\s+MODE\s+PID\s+FD\s+ACCESS\s+FOR\s+COMMAND/m);
          expect(view).toMatch(new RegExp(`^holder\\s+FLOCK\\s+WRITE\\s+${h.sleepPid}\\s`, 'm'));
        } finally {
          await h.stop();
        }
        await until('the holder gone', () => {
          const s = screen();
          return s.includes('nobody holds, waits for, or has this file open') && !s.includes(String(h.pid));
        });
        tmux('send-keys', '-t', 'w', 'C-c');
        const after = await until('the prompt after Ctrl-C', () => {
          const lines = screen()
            .split('\n')
            .map((l) => l.trimEnd())
            .filter(Boolean);
          return lines.at(-1) === 'watch-test>' && lines;
        });
        // The screen is the shell's again: the command line typed, then a fresh prompt, nothing else.
        expect(after).toEqual([`watch-test> ${process.execPath} ${bin} watch ${file}`, 'watch-test>']);
        expect(tmux('display', '-p', '-t', 'w', '#{alternate_on} #{cursor_flag}').stdout.trim()).toBe('0 1');
        return h;
      } finally {
        tmux('kill-server');
      }
    })();
    expect(holder.pid).toBeGreaterThan(0);
  });

  it('--json: one event per change (holder, waiter, writer appear and go; rotated), SIGINT exits 0', async () => {
    const file = join(dir, 'json.log');
    writeFileSync(file, 'a');
    const child = spawn(process.execPath, [bin, 'watch', file, '--json', '--interval', '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const events: Array<Record<string, any>> = [];
    createInterface({ input: child.stdout }).on('line', (l) => events.push(JSON.parse(l)));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await until('the watch event', () => events.some((e) => e.event === 'watch'));
      const h = await flockCmd(file);
      // Blocked behind h (a waiter), and a process with the file open for appending (a writer).
      const waiter = spawn('flock', ['-x', file, 'true'], { stdio: 'ignore' });
      const writer = spawn('sh', ['-c', 'exec 3>>"$1"; exec sleep 60', 'sh', file], { stdio: 'ignore' });
      try {
        // flock(1) opens the file before it locks it: the watch may first (truly) see it as a reader.
        await until('appeared', () => events.some((e) => e.event === 'appeared' && e.pid === h.pid && e.role === 'holder'));
        expect(
          await until('the waiter', () => events.find((e) => e.event === 'appeared' && e.pid === waiter.pid && e.role === 'waiter')),
        ).toMatchObject({
          role: 'waiter',
          kind: 'FLOCK',
          mode: 'exclusive',
        });
        expect(await until('the writer', () => events.find((e) => e.event === 'appeared' && e.pid === writer.pid))).toMatchObject({
          role: 'writer',
          access: 'w',
        });
      } finally {
        writer.kill('SIGKILL');
        await h.stop();
      }
      await until('the writer gone', () => events.some((e) => e.event === 'gone' && e.pid === writer.pid));
      await until('gone', () => events.some((e) => e.event === 'gone' && e.pid === h.pid && e.role === 'holder'));
      const oldIno = events.find((e) => e.event === 'watch')!.ino;
      renameSync(file, `${file}.1`);
      writeFileSync(file, 'new');
      const rot = await until('rotated', () => events.find((e) => e.event === 'rotated'));
      // (its size may be seen before or after the write that follows the create)
      expect(rot).toMatchObject({ previousIno: oldIno, ino: statSync(file).ino });
      const appeared = events.find((e) => e.event === 'appeared' && e.pid === h.pid && e.role === 'holder')!;
      expect(appeared).toMatchObject({ role: 'holder', kind: 'FLOCK', mode: 'exclusive', fd: expect.any(Number), command: 'flock' });
      expect(typeof appeared.time).toBe('string');
      expect(events.find((e) => e.event === 'gone' && e.pid === h.pid && e.role === 'holder')!.forMs).toBeGreaterThanOrEqual(0);
      // No event is about this watch process itself.
      expect(events.some((e) => e.pid === child.pid)).toBe(false);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});
