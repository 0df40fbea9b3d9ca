// Instrumentation through the REAL lock engine and the REAL probe, against real foreign holders:
// python3 fcntl.flock, flock(1), and lockscope itself in a child Node process. Every record seen
// is validated against the shipped JSON Schema.
import diagnosticsChannel from 'node:diagnostics_channel';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANNELS, configure, LockError, lock, lockStats, probe, tryLock, withLock, type LockHandle } from '@lockscope/core';
import type { AcquireContext, LockscopeRecord, ProbeContext } from '@lockscope/core/record';
import * as diag from '../dist/diagnostics/index.js';
import {
  assertValidRecord,
  flockHolder,
  pythonFlockHolder,
  sleep,
  spawnHolder,
  ownTimers,
  countPublishes,
  everyChannel,
  diagScratch,
} from './diag-support.js';
import { CORE_DIST, flockTry } from './helpers/lock-procs.js';
import { pyHolder } from './helpers/probe-procs.js';

const { dir, cardDir, keep } = diagScratch('lockscope-diag-engine-', () => diag.stopEventLoopMonitor());
let n = 0;
const newFile = (name: string) => {
  const p = join(dir, `${name}-${++n}.lock`);
  writeFileSync(p, '');
  return p;
};

async function hold<T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> {
  return keep(await p);
}

/** Subscribes to every lockscope channel; records are schema-checked as they arrive. */
function collect() {
  const contended: LockscopeRecord[] = [];
  const terminal: LockscopeRecord[] = [];
  const other: LockscopeRecord[] = [];
  const events: string[] = [];
  const order: string[] = [];
  const push = (list: LockscopeRecord[], r: LockscopeRecord) => {
    assertValidRecord(r);
    list.push(r);
  };
  const onContended = (m: unknown) => {
    push(contended, m as LockscopeRecord);
    order.push(`c${(m as LockscopeRecord).waitId}`);
  };
  const onOther = (m: unknown) => push(other, m as LockscopeRecord);
  const terminalOf = (c: AcquireContext) => {
    if (c.record) {
      push(terminal, c.record);
      order.push(`t${c.waitId}`);
    }
  };
  const tracing = {
    start: (m: unknown) => events.push(`start:${(m as AcquireContext).sync ? 'sync' : 'async'}`),
    end: (m: unknown) => {
      const c = m as AcquireContext;
      events.push('end');
      if (c.sync) terminalOf(c);
    },
    asyncStart: () => events.push('asyncStart'),
    asyncEnd: (m: unknown) => {
      events.push('asyncEnd');
      terminalOf(m as AcquireContext);
    },
    error: (m: unknown) => events.push(`error:${((m as AcquireContext).error as LockError)?.reason}`),
  };
  const tc = diagnosticsChannel.tracingChannel(CHANNELS.acquire);
  tc.subscribe(tracing);
  diagnosticsChannel.subscribe(CHANNELS.contended, onContended);
  const others = [CHANNELS.released, CHANNELS.heldTooLong, CHANNELS.leaked];
  for (const name of others) diagnosticsChannel.subscribe(name, onOther);
  return {
    contended,
    terminal,
    other,
    events,
    order,
    stop() {
      tc.unsubscribe(tracing);
      diagnosticsChannel.unsubscribe(CHANNELS.contended, onContended);
      for (const name of others) diagnosticsChannel.unsubscribe(name, onOther);
    },
  };
}

const holderPids = (r: LockscopeRecord) => r.holders.filter((h) => h.role === 'holder').map((h) => h.pid);

async function rejection(p: Promise<unknown>): Promise<LockError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(LockError);
    return e as LockError;
  }
  throw new Error('expected a rejection');
}

describe('foreign holders through the real engine and probe', () => {
  it('python fcntl.flock holder: one contended record while waiting, one timeout record, same holders on the error', async () => {
    const f = newFile('py');
    const py = await hold(pythonFlockHolder(f));
    const c = collect();
    try {
      const t0 = performance.now();
      let contendedAt = -1;
      diagnosticsChannel.subscribe(CHANNELS.contended, function mark() {
        contendedAt = performance.now() - t0;
        diagnosticsChannel.unsubscribe(CHANNELS.contended, mark);
      });
      const e = await rejection(lock(f, { timeout: 1500, contentionThreshold: 150, label: 'py-wait' }));
      expect(e.reason).toBe('timeout');
      expect(contendedAt).toBeGreaterThan(100);
      expect(c.contended).toHaveLength(1);
      expect(c.terminal).toHaveLength(1);
      const [cr] = c.contended;
      const [tr] = c.terminal;
      // Noticed while the wait was still going (the publish itself waits for the holder lookup,
      // which a loaded machine can stretch past the timeout under the suite's long deadline).
      expect(cr!.waitedMs).toBeLessThan(1500);
      expect(cr).toMatchObject({ event: 'contended', path: f, kind: 'flock', mode: 'exclusive', label: 'py-wait', holdersComplete: true });
      const { dev, ino } = statSync(f);
      expect(cr!.dev).toBe(dev);
      expect(cr!.ino).toBe(ino);
      expect(holderPids(cr!)).toEqual([py.pid]);
      // The probe also lists waiters in the kernel's queue: only this very process waits here (its waiter
      // thread may still be starting on a loaded machine, so it is not required to be there yet).
      for (const w of cr!.holders.filter((h) => h.role === 'waiter')) expect(w.pid).toBe(process.pid);
      expect(cr!.holders[0]).toMatchObject({ role: 'holder', lockKind: 'flock', lockMode: 'exclusive' });
      expect(cr!.holders[0]!.command).toMatch(/python/);
      expect(cr!.holders[0]!.startTime).toEqual(expect.any(Number));
      expect(cr!.snapshot).not.toBeNull();
      expect(cr!.snapshot!.stack).toMatch(/diag-engine\.test/);
      expect(tr).toMatchObject({
        event: 'timeout',
        waitId: cr!.waitId,
        error: { code: 'ETIMEDOUT', errno: 110, reason: 'timeout', syscall: 'lock' },
      });
      expect(tr!.holders).toEqual(cr!.holders);
      expect(e.holders).toEqual(cr!.holders);
      expect(c.order).toEqual([`c${cr!.waitId}`, `t${cr!.waitId}`]);
    } finally {
      c.stop();
    }
  });

  it('flock(1) holder: abort carries the holders of the contended record (flock and its command both hold it)', async () => {
    const f = newFile('flock1');
    const fl = await hold(flockHolder(f));
    const c = collect();
    try {
      const ac = new AbortController();
      const p = lock(f, { signal: ac.signal, contentionThreshold: 100 });
      while (c.contended.length === 0) await sleep(10);
      ac.abort(new Error('user gave up'));
      const e = await rejection(p);
      expect(e.reason).toBe('aborted');
      expect(c.contended).toHaveLength(1);
      expect(c.terminal).toHaveLength(1);
      const pids = c.contended[0]!.holders.map((h) => h.pid);
      expect(pids).toContain(fl.pid);
      const flockEntry = c.contended[0]!.holders.find((h) => h.pid === fl.pid)!;
      expect(flockEntry.command).toMatch(/flock/);
      expect(flockEntry.card).toBeUndefined();
      expect(c.terminal[0]).toMatchObject({ event: 'aborted', error: { code: 'ABORT_ERR', reason: 'aborted' } });
      expect(c.terminal[0]!.error!.errno).toBeGreaterThan(0);
      expect(e.holders).toEqual(c.contended[0]!.holders);
      expect(c.terminal[0]!.holders).toEqual(c.contended[0]!.holders);
    } finally {
      c.stop();
    }
  });

  it(
    'a lockscope holder in a child process: the waiter gets its card (label + acquiring stack); ' + 'SIGKILLed, its card misleads nobody',
    async () => {
      const f = newFile('node');
      configure({ cardDir });
      const src = `
      import { lock, configure } from ${JSON.stringify(CORE_DIST)};
      configure({ cards: true, cardDelay: 0, cardDir: ${JSON.stringify(cardDir)} });
      async function exportNightlyBatch() {
        return lock(${JSON.stringify(f)}, { label: 'nightly-export #42' });
      }
      globalThis.h = await exportNightlyBatch();
      setTimeout(() => console.log('ready'), 60);
      setInterval(() => {}, 1 << 30);
    `;
      const child = await hold(spawnHolder(process.execPath, ['--input-type=module', '-e', src]));
      const c = collect();
      try {
        const e = await rejection(lock(f, { timeout: 400, contentionThreshold: 100 }));
        expect(c.contended).toHaveLength(1);
        const h = c.contended[0]!.holders.find((x) => x.pid === child.pid)!;
        expect(h).toBeDefined();
        expect(h.command).toMatch(/node/);
        expect(h.card).toMatchObject({ label: 'nightly-export #42' });
        expect(h.card!.stack).toMatch(/exportNightlyBatch/);
        expect(e.holders).toEqual(c.contended[0]!.holders);

        // SIGKILL: the child cannot remove its card. The next holder is a plain python process.
        await child.stop();
        const stale = readdirSync(cardDir).filter((x) => x.includes(`-${child.pid}-`));
        expect(stale).toHaveLength(1);
        const py = await hold(pythonFlockHolder(f));
        const e2 = await rejection(lock(f, { timeout: 400, contentionThreshold: 100 }));
        expect(c.contended).toHaveLength(2);
        expect(holderPids(c.contended[1]!)).toEqual([py.pid]);
        expect(c.contended[1]!.holders[0]!.card).toBeUndefined();
        expect(e2.holders).toEqual(c.contended[1]!.holders);
        expect(existsSync(join(cardDir, stale[0]!))).toBe(false);
      } finally {
        c.stop();
      }
    },
  );

  it(
    '20 concurrent waits on 4 files held by foreign processes (timeouts, aborts, acquisitions): ' +
      'exactly one contended and one terminal record each',
    async () => {
      const files = [newFile('many'), newFile('many'), newFile('many'), newFile('many')];
      const hs = [
        await hold(pythonFlockHolder(files[0]!)),
        await hold(flockHolder(files[1]!)),
        await hold(pythonFlockHolder(files[2]!)),
        await hold(flockHolder(files[3]!)),
      ];
      const c = collect();
      const timers = ownTimers();
      try {
        const ac = new AbortController();
        const plans = Array.from({ length: 20 }, (_, i) => ({ file: i % 4, end: (['timeout', 'aborted', 'acquired'] as const)[i % 3]! }));
        const calls = plans.map((p, i) => {
          const opts = { contentionThreshold: 80, label: `w${i}` };
          if (p.end === 'timeout') return lock(files[p.file]!, { ...opts, timeout: 400 + (i % 5) * 40 });
          if (p.end === 'aborted') return lock(files[p.file]!, { ...opts, signal: ac.signal });
          return lock(files[p.file]!, opts).then((h) => h.release().then(() => h));
        });
        const settled = Promise.allSettled(calls);
        await sleep(700);
        ac.abort();
        await sleep(50);
        for (const h of hs) await h.stop(); // the acquirers get the files, one after the other
        const results = await settled;
        const byEnd = { timeout: 0, aborted: 0, acquired: 0 };
        results.forEach((r, i) => {
          const want = plans[i]!.end;
          if (want === 'acquired') expect(r.status).toBe('fulfilled');
          else expect((r as PromiseRejectedResult).reason).toMatchObject({ reason: want });
          byEnd[want]++;
        });
        expect(c.terminal).toHaveLength(20);
        expect(c.contended).toHaveLength(20);
        const ids = new Set(c.terminal.map((r) => r.waitId));
        expect(ids.size).toBe(20);
        expect(new Set(c.contended.map((r) => r.waitId))).toEqual(ids);
        for (const t of c.terminal) {
          const cr = c.contended.find((x) => x.waitId === t.waitId)!;
          expect(c.order.indexOf(`c${t.waitId}`)).toBeLessThan(c.order.indexOf(`t${t.waitId}`));
          const holderPid = hs[files.indexOf(t.path)]!.pid;
          expect(cr.holders.map((h) => h.pid)).toContain(holderPid);
          if (t.event !== 'acquired') expect(t.holders).toEqual(cr.holders);
          if (t.event === 'acquired') expect(t.holdId).toEqual(expect.any(Number));
        }
        const count = (ev: string) => c.terminal.filter((r) => r.event === ev).length;
        expect({ timeout: count('timeout'), aborted: count('aborted'), acquired: count('acquired') }).toEqual(byEnd);
        expect(c.other.filter((r) => r.event === 'released')).toHaveLength(byEnd.acquired);
        expect(diag.trackedCount()).toEqual({ waiters: 0, holders: 0 });
        expect(lockStats()).toMatchObject({ held: 0, waiting: 0, queued: 0 });
        expect(timers.live('lock')).toEqual([]);
        expect(timers.live('diagnostics').filter((m) => m !== 'diagnostics/eld')).toEqual([]);
      } finally {
        timers.stop();
        c.stop();
      }
    },
  );

  it(
    'report: true while a waiter thread is blocked in the kernel: no event-loop stall, ' +
      'the timeout fires, the wait goes on after the report',
    async () => {
      const f = newFile('report');
      // 4 s, not "until stopped": without the fix getReport() blocks this whole worker until it ends.
      const fl = await hold(flockHolder(f, 4));
      // A started, idle waiter thread: the next wait is in flock() at once, before the snapshot.
      await rejection(lock(f, { timeout: 100 }));
      while (lockStats().busyWaiterThreads > 0) await sleep(10);
      const c = collect();
      let last = performance.now();
      let maxGap = 0;
      const probe = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
      }, 10);
      try {
        const e = await rejection(lock(f, { timeout: 800, contentionThreshold: 250, report: true }));
        expect(e.reason).toBe('timeout');
        expect(flockTry(f)).toBe('busy'); // rejected while the other process still holds it
        expect(c.contended).toHaveLength(1);
        const rep = c.contended[0]!.snapshot!.report!;
        expect(rep.libuvHandles.length).toBeGreaterThan(0);
        expect(rep.nativeStack.length).toBeGreaterThan(0);
        // Paused waits take their lock call up again: this one gets the lock once the holder ends.
        const p = lock(f, { contentionThreshold: 100, report: true });
        while (c.contended.length < 2) await sleep(10);
        expect(c.contended[1]!.snapshot!.report).toBeDefined();
        await fl.stop();
        await (await p).release();
        expect(maxGap).toBeLessThan(1000);
      } finally {
        clearInterval(probe);
        c.stop();
      }
    },
  );
});

/** What a non-blocking attempt of another process (python3) gets from the kernel on `f` now: 0 or the errno. */
function kernelAnswer(kind: 'flock' | 'posix' | 'ofd', f: string): number {
  const py = String.raw`
import fcntl, os, struct, sys
kind, path = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR)
try:
    if kind == 'flock': fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    elif kind == 'posix': fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else: fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))
    print(0)
except OSError as e:
    print(e.errno)
`;
  const r = spawnSync('python3', ['-c', py, kind, f], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout.trim());
}

describe('the contended record carries what refused the attempt (reason contended)', () => {
  const EAGAIN = osConstants.errno.EAGAIN;
  const HOLDER = { flock: 'flock', posix: 'lockf', ofd: 'ofd' } as const;
  it.each(['flock', 'posix', 'ofd'] as const)(
    '%s held by another process: the errno the lock call met, as the kernel gives it to any process',
    async (kind) => {
      const f = newFile(`refused-${kind}`);
      await hold(pyHolder(HOLDER[kind], f));
      const errno = kernelAnswer(kind, f);
      expect([EAGAIN, osConstants.errno.EACCES]).toContain(errno); // the premise: the kernel says busy
      const c = collect();
      try {
        const e = await rejection(lock(f, { kind, timeout: 1000, contentionThreshold: 50 }));
        expect(e.reason).toBe('timeout');
      } finally {
        c.stop();
      }
      const [cr] = c.contended;
      expect(cr!.error).toEqual({
        code: errno === EAGAIN ? 'EWOULDBLOCK' : 'EACCES',
        errno,
        syscall: kind === 'flock' ? 'flock' : 'fcntl',
        reason: 'contended',
        message: expect.stringContaining(f),
      });
      // The terminal record keeps its own error.
      expect(c.terminal[0]!.error).toMatchObject({ code: 'ETIMEDOUT', reason: 'timeout' });
    },
  );

  it('held by this process: no system call was made; the engine stands in with EWOULDBLOCK from lock', async () => {
    const f = newFile('refused-self');
    const mine = await lock(f);
    const c = collect();
    try {
      const later = setTimeout(() => void mine.release(), 300);
      (await lock(f, { timeout: 5000, contentionThreshold: 50 })).releaseSync();
      clearTimeout(later);
    } finally {
      c.stop();
    }
    expect(c.contended[0]!.error).toEqual({
      code: 'EWOULDBLOCK',
      errno: EAGAIN,
      syscall: 'lock',
      reason: 'contended',
      message: `EWOULDBLOCK: this process holds a conflicting exclusive flock lock, lock '${f}'`,
    });
    expect(c.terminal[0]).toMatchObject({ event: 'acquired', error: null });
  });
});

describe('holder side', () => {
  it('held-too-long repeats while held, with the acquiring stack; released ends it', async () => {
    const f = newFile('long');
    const c = collect();
    try {
      async function keepTheLedgerOpen(): Promise<LockHandle> {
        return lock(f, { holdWarning: 100, holdWarningInterval: 100, label: 'ledger' });
      }
      const h = await keepTheLedgerOpen();
      await sleep(380);
      const warned = c.other.filter((r) => r.event === 'held-too-long');
      expect(warned.length).toBeGreaterThanOrEqual(2);
      expect(warned.length).toBeLessThanOrEqual(4);
      for (const r of warned) {
        expect(r).toMatchObject({ label: 'ledger', path: f, holdId: warned[0]!.holdId });
        expect(r.snapshot!.stack).toMatch(/keepTheLedgerOpen/);
        expect(r.heldMs).toBeGreaterThanOrEqual(90);
      }
      await h.release();
      const before = c.other.length;
      await sleep(250);
      const after = c.other.slice(before);
      expect(after).toEqual([]);
      const rel = c.other.filter((r) => r.event === 'released');
      expect(rel).toHaveLength(1);
      expect(rel[0]).toMatchObject({ holdId: warned[0]!.holdId, label: 'ledger' });
      expect(rel[0]!.heldMs).toBeGreaterThanOrEqual(350);
      // The acquired record of the same call has the same holdId.
      expect(c.terminal.find((r) => r.event === 'acquired')!.holdId).toBe(warned[0]!.holdId);
    } finally {
      c.stop();
    }
  });

  it('a handle garbage-collected while held publishes leaked (not released), with the acquiring stack (child, --expose-gc)', async () => {
    const f = newFile('leak');
    const src = `
      import diagnosticsChannel from 'node:diagnostics_channel';
      import { CHANNELS, tryLock } from ${JSON.stringify(CORE_DIST)};
      const seen = [];
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code));
      for (const n of [CHANNELS.leaked, CHANNELS.released]) diagnosticsChannel.subscribe(n, (r) => seen.push(r));
      function forgetToRelease() { tryLock(${JSON.stringify(f)}, { label: 'forgotten' }); }
      forgetToRelease();
      for (let i = 0; i < 50 && seen.length === 0; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      await new Promise((r) => setTimeout(r, 20));
      console.log(JSON.stringify({ seen, warnings }));
    `;
    const p = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => p.on('exit', r));
    expect(code, err).toBe(0);
    const { seen, warnings } = JSON.parse(out) as { seen: LockscopeRecord[]; warnings: string[] };
    expect(seen.map((r) => r.event)).toEqual(['leaked']);
    assertValidRecord(seen[0]);
    expect(seen[0]).toMatchObject({ path: f, label: 'forgotten', event: 'leaked' });
    expect(seen[0].snapshot!.stack).toMatch(/forgetToRelease/);
    expect(warnings).toContain('LOCKSCOPE_LEAKED_LOCK');
  });
});

describe('nobody listening (real engine)', () => {
  it('uncontended, contended, timed-out and aborted calls publish nothing, arm no timer, track nothing, write no card', async () => {
    const f = newFile('quiet');
    const g = newFile('quiet');
    const py = await hold(pythonFlockHolder(g));
    configure({ contentionThreshold: 0, holdWarning: 1, holdWarningInterval: 1, cardDelay: 0, cardDir });
    const { published, restore } = countPublishes(everyChannel());
    const cardsBefore = existsSync(cardDir) ? readdirSync(cardDir).length : 0;
    const timers = ownTimers();
    try {
      (await lock(f, { label: 'x' })).releaseSync();
      tryLock(f)!.releaseSync();
      await withLock(f, async () => {
        expect(timers.created('diagnostics')).toEqual([]);
        expect(diag.trackedCount()).toEqual({ waiters: 0, holders: 0 });
        await sleep(30); // a holdWarning / card timer would have fired by now
      });
      expect(tryLock(g)).toBeNull();
      const e = await rejection(lock(g, { timeout: 150 }));
      expect(e.reason).toBe('timeout');
      expect(e.holders).toBeUndefined();
      const ac = new AbortController();
      const p = lock(g, { signal: ac.signal });
      await sleep(50);
      expect(timers.live('lock')).toEqual([]); // the wait itself arms no timer without a timeout
      ac.abort();
      expect((await rejection(p)).holders).toBeUndefined();
      await sleep(30);
      expect(timers.live('lock')).toEqual([]);
      expect(timers.created('diagnostics')).toEqual([]);
      expect(diag.trackedCount()).toEqual({ waiters: 0, holders: 0 });
      expect(diag.eventLoopMonitorRunning()).toBe(false);
      expect(published).toEqual([]);
      expect(existsSync(cardDir) ? readdirSync(cardDir).length : 0).toBe(cardsBefore);
      void py;
    } finally {
      timers.stop();
      restore();
    }
  });
});

describe('tracing channels', () => {
  it(
    'lockscope:lock:acquire: start/end/asyncStart/asyncEnd for lock(), ' +
      'start/error/asyncStart/asyncEnd for a failed lock(), start/end (or error) for tryLock()',
    async () => {
      const f = newFile('trace');
      const c = collect();
      try {
        const h = await lock(f);
        expect(c.events).toEqual(['start:async', 'end', 'asyncStart', 'asyncEnd']);
        expect(c.terminal[0]).toMatchObject({ event: 'acquired', path: f, holdersComplete: null });
        c.events.length = 0;
        expect(tryLock(f)).toBeNull(); // busy within this process
        expect(c.events).toEqual(['start:sync', 'end']);
        expect(c.terminal).toHaveLength(1); // a busy tryLock is not a wait: no record
        c.events.length = 0;
        await rejection(lock(f, { timeout: 0 }));
        expect(c.events).toEqual(['start:async', 'end', 'error:timeout', 'asyncStart', 'asyncEnd']);
        expect(c.terminal[1]).toMatchObject({ event: 'timeout', error: { code: 'ETIMEDOUT' } });
        await h.release();
        c.events.length = 0;
        tryLock(f)!.releaseSync();
        expect(c.events).toEqual(['start:sync', 'end']);
        expect(c.terminal[2]).toMatchObject({ event: 'acquired' });
        c.events.length = 0;
        expect(() => tryLock(dir)).toThrow(LockError); // a directory
        expect(c.events).toEqual(['start:sync', 'error:invalid-argument', 'end']);
        expect(c.terminal[3]).toMatchObject({ event: 'error', error: { code: 'EISDIR', reason: 'invalid-argument' } });
        expect(c.terminal).toHaveLength(4);
      } finally {
        c.stop();
      }
    },
  );

  it('lockscope:probe wraps probe() with a probe record naming the holder', async () => {
    const f = newFile('probe');
    const py = await hold(pythonFlockHolder(f));
    const seen: string[] = [];
    let ctx: ProbeContext | undefined;
    const tc = diagnosticsChannel.tracingChannel(CHANNELS.probe);
    const handlers = {
      start: () => seen.push('start'),
      end: () => seen.push('end'),
      asyncStart: () => seen.push('asyncStart'),
      asyncEnd: (m: unknown) => {
        seen.push('asyncEnd');
        ctx = m as ProbeContext;
      },
      error: () => seen.push('error'),
    };
    tc.subscribe(handlers);
    try {
      await probe(f);
    } finally {
      tc.unsubscribe(handlers);
    }
    expect(seen).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    assertValidRecord(ctx!.record);
    expect(ctx!.record).toMatchObject({ event: 'probe', path: f });
    expect(ctx!.record.holders.map((h) => h.pid)).toContain(py.pid);
  });
});
