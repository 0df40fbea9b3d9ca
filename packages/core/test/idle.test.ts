/**
 * waitIdle() against real writers (python3 child processes), flock(1), renames and truncations
 * done the way logrotate does them. Assertions are about order (never resolved before the close
 * plus quietMs), not about how fast: the machine is shared and noisy.
 */
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, LockError, waitIdle, type IdleResult } from '@lockscope/core';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';
import { coreForOthers } from './helpers/core-for-others.js';
import { flockCmd, tmpDir, type Proc } from './helpers/probe-procs.js';
import { startWriter, type Writer } from './helpers/writer.js';

const linux = process.platform === 'linux';
const asRootWithSetpriv = linux && process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
const QUIET = 250;
/** Long enough for waitIdle's probe to have seen a writer that keeps its fd open (a loaded machine: generous). */
const SEEN = 800;
// A timeout whose error names the writers: the first look through /proc must have finished by then,
// which on a loaded machine took longer than 800 ms.
const NAMING_TIMEOUT = 3000;

/**
 * fds of this process other than inotify instances, its inotify instances, and their watches
 * (fdinfo `inotify wd:` lines). waitIdle shares one instance per process, closed 2 s after its
 * last use (closing one costs a kernel grace period): what it must leave behind is no watch and
 * no other fd.
 */
function resources(): { fds: number; inotifyFds: number; watches: number } {
  let inotifyFds = 0;
  let watches = 0;
  const names = readdirSync('/proc/self/fd');
  for (const n of names) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${n}`);
    } catch {
      continue; // the fd of the readdir itself
    }
    if (target !== 'anon_inode:inotify') continue;
    inotifyFds++;
    watches += readFileSync(`/proc/self/fdinfo/${n}`, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('inotify wd:')).length;
  }
  return { fds: names.length - inotifyFds, inotifyFds, watches };
}

function expectNothingLeft(before: ReturnType<typeof resources>): void {
  const now = resources();
  expect({ fds: now.fds, watches: now.watches }).toEqual({ fds: before.fds, watches: before.watches });
  expect(now.inotifyFds).toBeLessThanOrEqual(1);
}

/** waitIdle(f, { quietMs: 100, timeout: 1500 }) in a child running as nobody (uid 65534): what it answered. */
function waitIdleAsNobody(f: string): Record<string, unknown> {
  const r = spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      '--input-type=module',
      '-e',
      `
      import { waitIdle } from '${coreForOthers().entry}';
      waitIdle(${JSON.stringify(f)}, { quietMs: 100, timeout: 1500 }).then(
        (r) => console.log(JSON.stringify({ idle: true, complete: r.complete, writers: r.writers.map((x) => x.pid) })),
        (e) => console.log(JSON.stringify({ idle: false, reason: e.reason, holders: e.holders.map((x) => x.pid) })));
    `,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function expectLockError(p: Promise<unknown>, reason: string): Promise<LockError> {
  const e = await p.then(
    () => {
      throw new Error(`resolved, expected a rejection with reason ${reason}`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LockError);
  expect((e as LockError).reason).toBe(reason);
  return e as LockError;
}

describe.skipIf(!linux)('waitIdle with real writers', () => {
  let dir: string;
  let n = 0;
  const procs: Array<Writer | Proc> = [];
  const file = (content = ''): string => {
    const f = join(dir, `f${++n}.log`);
    writeFileSync(f, content);
    return f;
  };
  const writer = async (): Promise<Writer> => {
    const w = await startWriter();
    procs.push(w);
    return w;
  };
  beforeAll(() => {
    dir = tmpDir('lockscope-idle-');
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an appender writing every 1-20 ms then closing: resolves only after the close plus quietMs, naming the writer', async () => {
    const f = file();
    const w = await writer();
    await w.send(`open ${f}`);
    const before = resources();
    const idle = waitIdle(f, { quietMs: QUIET });
    let resolvedAt = 0;
    void idle.then(
      () => (resolvedAt = Date.now()),
      () => {},
    );
    await new Promise((r) => setTimeout(r, SEEN)); // the fd stays open: waitIdle's probe sees it
    await w.send('burst 40 1 20');
    expect(resolvedAt).toBe(0);
    const closedAt = await w.send('close');
    const r = await idle;
    expect(resolvedAt).toBeGreaterThanOrEqual(Math.floor(closedAt) + QUIET);
    expect(r.idleSince).toBeGreaterThanOrEqual(Math.floor(closedAt));
    expect(r.path).toBe(f);
    expect(r.detection).toBe('inotify');
    expect(r.modifications).toBeGreaterThan(0);
    expect(r.size).toBe(40 * 16);
    expect(r.waitedMs).toBeGreaterThanOrEqual(SEEN + QUIET);
    const me = r.writers.find((x) => x.pid === w.pid)!;
    expect(me).toMatchObject({ access: 'w', role: 'opener', fd: expect.any(Number), command: 'python3' });
    expect(me.startTime).toBeGreaterThan(0);
    expect(me.seenMs).toBeGreaterThan(0);
    expect(r.changes).toEqual([]);
    expectNothingLeft(before);
  });

  it('a writer that keeps its fd open and pauses longer than quietMs is not idle', async () => {
    const f = file();
    const w = await writer();
    await w.send(`open ${f}`);
    await w.send('write 10');
    const e = await expectLockError(waitIdle(f, { quietMs: 100, timeout: NAMING_TIMEOUT }), 'timeout');
    expect(e.code).toBe('ETIMEDOUT');
    expect(e.syscall).toBe('waitIdle');
    expect(e.path).toBe(f);
    // Node's timers run off the loop's cached clock: up to ~1 ms early against performance.now().
    expect(e.waitedMs).toBeGreaterThanOrEqual(NAMING_TIMEOUT - 1);
    expect(e.message).toContain(`pid ${w.pid}`);
    expect((e.holders as Array<{ pid: number }>).map((h) => h.pid)).toContain(w.pid);
  });

  it('an exclusive flock(1) holder that writes nothing is not idle; once it is gone, the file is', async () => {
    const f = file('data');
    const h = await flockCmd(f);
    procs.push(h);
    const e = await expectLockError(waitIdle(f, { quietMs: 100, timeout: NAMING_TIMEOUT }), 'timeout');
    const held = e.holders as Array<{ pid: number; role: string; lockKind: string; lockMode: string }>;
    expect(held.map((x) => x.pid)).toEqual(expect.arrayContaining([h.pid, h.sleepPid]));
    expect(held.every((x) => x.role === 'holder' && x.lockKind === 'flock' && x.lockMode === 'exclusive')).toBe(true);
    const idle = waitIdle(f, { quietMs: 100 });
    // Its first look through /proc must see the holder before it goes (over 300 ms under load).
    await new Promise((r) => setTimeout(r, NAMING_TIMEOUT));
    const stopAt = Date.now(); // it certainly still held the lock then
    await h.stop();
    const r = await idle;
    expect(Date.now()).toBeGreaterThanOrEqual(stopAt + 100);
    expect(r.writers.find((x) => x.pid === h.sleepPid)).toMatchObject({ access: 'lock', lockKind: 'flock', lockMode: 'exclusive' });
  });

  it('a timeout before the first look through /proc has finished names nobody and says so', async () => {
    const f = file();
    const w = await writer();
    await w.send(`open ${f}`);
    const e = await expectLockError(waitIdle(f, { quietMs: 100, timeout: 1 }), 'timeout');
    // 1 ms is shorter than any scan of /proc here: nobody known, and no change claimed.
    expect(e.holders).toEqual([]);
    expect(e.message).toContain('its writers were not known yet');
    expect(e.message).not.toContain('changed');
  });

  it('a writer through a shared writable map (no fd, no inotify event) is not idle', async () => {
    const f = file();
    const w = await writer();
    await w.send(`mmap ${f}`);
    const e = await expectLockError(waitIdle(f, { quietMs: 100, timeout: NAMING_TIMEOUT }), 'timeout');
    expect((e.holders as Array<{ pid: number }>).map((h) => h.pid)).toContain(w.pid);
  });

  it("logrotate rename-and-create, writer reopens: follow 'path' reports the rotation and waits for the new file's writer", async () => {
    const f = file();
    const oldIno = statSync(f).ino;
    const w = await writer();
    await w.send(`open ${f}`);
    await w.send('write 100');
    const idle = waitIdle(f, { quietMs: QUIET, follow: 'path' });
    await new Promise((r) => setTimeout(r, 100));
    renameSync(f, `${f}.1`);
    writeFileSync(f, '', { mode: 0o600 });
    await w.send('write 7'); // still into the renamed file, until it is told
    await w.send(`open ${f}`); // "postrotate: kill -HUP": it reopens the path
    await w.send('burst 10 1 20');
    const closedAt = await w.send('close');
    const r = await idle;
    expect(Date.now()).toBeGreaterThanOrEqual(Math.floor(closedAt) + QUIET);
    expect(r.ino).toBe(statSync(f).ino);
    expect(r.ino).not.toBe(oldIno);
    expect(r.size).toBe(160);
    const rot = r.changes.find((c) => c.type === 'rotated')!;
    expect(rot).toMatchObject({ previousIno: oldIno, ino: r.ino });
  });

  it("follow 'inode' keeps to the renamed file: idle once the writer has left it, whatever the new file does", async () => {
    const f = file();
    const oldIno = statSync(f).ino;
    const w = await writer();
    await w.send(`open ${f}`);
    await w.send('write 100');
    const idle = waitIdle(f, { quietMs: QUIET, follow: 'inode' });
    await new Promise((r) => setTimeout(r, 100));
    renameSync(f, `${f}.1`);
    writeFileSync(f, '');
    await w.send('burst 5 1 10');
    const reopenedAt = await w.send(`open ${f}`); // closes the old fd: the renamed file has no writer left
    const w2 = await writer();
    await w2.send(`open ${f}`);
    const r = await idle;
    expect(Date.now()).toBeGreaterThanOrEqual(Math.floor(reopenedAt) + QUIET);
    expect(r.ino).toBe(oldIno);
    expect(r.size).toBe(100 + 5 * 16);
    expect(r.changes.map((c) => c.type)).toContain('renamed');
  });

  it('copytruncate with a writer that reopens: the truncation is reported, idle only after the writer closes', async () => {
    const f = file();
    const w = await writer();
    await w.send(`open ${f}`);
    await w.send('burst 10 1 5');
    const idle = waitIdle(f, { quietMs: QUIET });
    await new Promise((r) => setTimeout(r, 50));
    copyFileSync(f, `${f}.1`);
    truncateSync(f, 0);
    await w.send(`open ${f}`);
    await w.send('burst 5 1 20');
    const closedAt = await w.send('close');
    const r = await idle;
    expect(Date.now()).toBeGreaterThanOrEqual(Math.floor(closedAt) + QUIET);
    expect(r.changes.find((c) => c.type === 'truncated')).toMatchObject({ ino: r.ino });
    expect(r.size).toBe(5 * 16);
  });

  it('deletion is a typed error, not idleness (inode: at once; path: when nothing takes its place)', async () => {
    const before = resources();
    const a = file('x');
    const pa = waitIdle(a, { quietMs: 5000, follow: 'inode' });
    await new Promise((r) => setTimeout(r, 50));
    unlinkSync(a);
    const ea = await expectLockError(pa, 'not-found');
    expect(ea.code).toBe('ENOENT');
    expect(ea.message).toMatch(/deleted/);
    const b = file('x');
    const pb = waitIdle(b, { quietMs: 200, follow: 'path' });
    await new Promise((r) => setTimeout(r, 50));
    unlinkSync(b);
    const eb = await expectLockError(pb, 'not-found');
    expect(eb.message).toMatch(/names no file/);
    expectNothingLeft(before);
  });

  it('timeout and abort reject with the lock API errors and leave no fd or inotify watch behind', async () => {
    const f = file();
    const w = await writer();
    await w.send(`open ${f}`);
    const before = resources();
    const e1 = await expectLockError(waitIdle(f, { quietMs: 50, timeout: 300 }), 'timeout');
    expect(e1.errno).toBe(110);
    const ac = new AbortController();
    const p = waitIdle(f, { quietMs: 50, signal: ac.signal });
    const during = resources();
    expect(during.inotifyFds).toBe(1);
    expect(during.watches).toBe(before.watches + 2); // the file and its directory
    setTimeout(() => ac.abort(new Error('stop')), 200);
    const e2 = await expectLockError(p, 'aborted');
    expect(e2.code).toBe('ABORT_ERR');
    expect((e2.cause as Error).message).toBe('stop');
    expectNothingLeft(before);
    await expectLockError(waitIdle(f, { signal: AbortSignal.abort() }), 'aborted');
    expectNothingLeft(before);
    // The shared instance retires once unused: then not even it is left.
    const deadline = Date.now() + 10_000;
    while (resources().inotifyFds > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(resources()).toEqual({ ...before, inotifyFds: 0, watches: 0 });
  });

  it('20 waits on one AbortSignal: one listener (no MaxListenersExceededWarning), every wait aborted', async () => {
    const f = file();
    const w = await writer();
    await w.send(`open ${f}`);
    const warnings: string[] = [];
    const onWarning = (e: Error): void => void warnings.push(`${e.name}: ${e.message}`);
    process.on('warning', onWarning);
    try {
      const ac = new AbortController();
      const waits = Array.from({ length: 20 }, () => expectLockError(waitIdle(f, { quietMs: 50, signal: ac.signal }), 'aborted'));
      await new Promise((r) => setTimeout(r, 100));
      ac.abort();
      expect(await Promise.all(waits)).toHaveLength(20);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((m) => m.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  });

  it('self: this process writing counts only with self: true', async () => {
    const f = file();
    const fd = openSync(f, 'a');
    try {
      writeSync(fd, 'mine');
      const r = await waitIdle(f, { quietMs: 100 });
      expect(r.writers).toEqual([]);
      const e = await expectLockError(waitIdle(f, { quietMs: 100, timeout: NAMING_TIMEOUT, self: true }), 'timeout');
      expect((e.holders as Array<{ pid: number }>).map((h) => h.pid)).toEqual([process.pid]);
    } finally {
      closeSync(fd);
    }
  });

  it('without inotify (LOCKSCOPE_INOTIFY=0) stat polling plus the probe still waits for the close plus quietMs', async () => {
    const f = file();
    const w = await writer();
    await w.send(`open ${f}`);
    process.env.LOCKSCOPE_INOTIFY = '0';
    let idle: Promise<IdleResult>;
    try {
      const { watches } = resources();
      idle = waitIdle(f, { quietMs: QUIET });
      expect(resources().watches).toBe(watches);
    } finally {
      delete process.env.LOCKSCOPE_INOTIFY;
    }
    await w.send('burst 20 1 20');
    await new Promise((r) => setTimeout(r, QUIET * 2)); // paused with the fd open: no stat change
    const closedAt = await w.send('close');
    const r = await idle;
    expect(r.detection).toBe('stat');
    expect(Date.now()).toBeGreaterThanOrEqual(Math.floor(closedAt) + QUIET);
    expect(r.writers.map((x) => x.pid)).toContain(w.pid);
  });

  it.skipIf(!asRootWithSetpriv)(
    "a writer this user cannot inspect (another user's process) is not idle: the kernel's write count says so",
    async () => {
      const f = file();
      chmodSync(dir, 0o755);
      chownSync(f, 65534, 65534); // nobody's file: a read lease needs its owner
      const w = await writer(); // root: its fds are unreadable to nobody
      await w.send(`open ${f}`);
      await w.send('write 1');
      expect(waitIdleAsNobody(f)).toMatchObject({ idle: false, reason: 'timeout' });
      await w.send('close');
      expect(waitIdleAsNobody(f)).toEqual({ idle: true, complete: false, writers: [] });
    },
  );

  it.skipIf(!asRootWithSetpriv)(
    'where the kernel refuses the lease check (not the owner), a probe made for the window end confirms',
    async () => {
      const f = file();
      chmodSync(dir, 0o755);
      chmodSync(f, 0o666); // root's file: nobody may write it but not take a lease on it
      const w = await startWriter(65534);
      procs.push(w);
      await w.send(`open ${f}`);
      await w.send('write 1');
      expect(waitIdleAsNobody(f)).toEqual({ idle: false, reason: 'timeout', holders: [w.pid] });
      await w.send('close');
      expect(waitIdleAsNobody(f)).toMatchObject({ idle: true, writers: [] });
    },
  );

  it('publishes an idle record on lockscope:file:idle', async () => {
    const f = file();
    const w = await writer();
    await w.send(`open ${f}`);
    const seen: unknown[] = [];
    const sub = (m: unknown) => seen.push(m);
    diagnosticsChannel.subscribe(CHANNELS.idle, sub);
    try {
      const idle = waitIdle(f, { quietMs: 100 });
      await new Promise((r) => setTimeout(r, SEEN));
      await w.send('burst 5 1 10');
      await w.send('close');
      const r = await idle;
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        schemaVersion: 1,
        event: 'idle',
        path: f,
        ino: r.ino,
        holders: [expect.objectContaining({ pid: w.pid, role: 'opener' })],
        idle: { idleSince: r.idleSince, quietMs: 100, follow: 'path', writers: [expect.objectContaining({ pid: w.pid, access: 'w' })] },
      });
    } finally {
      diagnosticsChannel.unsubscribe(CHANNELS.idle, sub);
    }
  });
});

describe.skipIf(!linux)('the native stat decoder (platform/linux/inotify.ts)', () => {
  it('reads what node:fs reads: dev, ino, nlink, mode, size, mtime and ctime to the ns, by fd (O_PATH) and by path', async () => {
    // Internal module of the built package (same instance as the package's).
    const N = await import(new URL('./platform/linux/inotify.js', import.meta.resolve('@lockscope/core')).href);
    const d = tmpDir('lockscope-stat-');
    try {
      const f = join(d, 'f');
      writeFileSync(f, 'x'.repeat(12345));
      const fd = N.openPath(f);
      expect(fd).toBeGreaterThanOrEqual(0);
      try {
        const s = statSync(f, { bigint: true });
        const want = {
          dev: Number(s.dev),
          ino: Number(s.ino),
          nlink: Number(s.nlink),
          mode: Number(s.mode),
          size: 12345,
          mtimeSec: Number(s.mtimeNs / 1_000_000_000n),
          mtimeNsec: Number(s.mtimeNs % 1_000_000_000n),
          ctimeSec: Number(s.ctimeNs / 1_000_000_000n),
          ctimeNsec: Number(s.ctimeNs % 1_000_000_000n),
        };
        for (const target of [fd, f]) {
          const out = N.emptyStat();
          expect(N.statInto(target, out)).toBe(0);
          expect(out).toEqual(want);
        }
        expect(N.statInto(join(d, 'missing'), N.emptyStat())).toBe(-2);
      } finally {
        N.closeFd(fd);
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('waitIdle input', () => {
  it.each([
    [undefined, {}],
    ['', {}],
    ['a\0b', {}],
    ['/tmp/x', 'fast'],
    ['/tmp/x', { quietMs: -1 }],
    ['/tmp/x', { quietMs: Number.NaN }],
    ['/tmp/x', { timeout: -5 }],
    ['/tmp/x', { follow: 'name' }],
    ['/tmp/x', { self: 'yes' }],
    ['/tmp/x', { signal: {} }],
    ['/tmp/x', { quiet: 5 }],
  ])('rejects %j %j with invalid-argument', async (path, options) => {
    const e = await expectLockError(waitIdle(path as string, options as never), 'invalid-argument');
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('waitIdle');
  });

  it.skipIf(!linux)('a missing file is not-found, a directory invalid-argument', async () => {
    const d = tmpDir('lockscope-idle-in-');
    try {
      const e = await expectLockError(waitIdle(join(d, 'nope')), 'not-found');
      expect(e.code).toBe('ENOENT');
      expect(e.path).toBe(join(d, 'nope'));
      mkdirSync(join(d, 'sub'));
      const e2 = await expectLockError(waitIdle(join(d, 'sub')), 'invalid-argument');
      expect(e2.code).toBe('EISDIR');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
