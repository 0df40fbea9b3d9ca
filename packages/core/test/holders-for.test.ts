/**
 * holdersFor / holdersForSync: who holds the file behind any busy-style fs error, against real
 * foreign processes (python3 with the file open, flock(1) holding it, a running executable).
 */
import { openSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  HolderCache,
  LockError,
  enrichWithHolders,
  errnoNumber,
  holdersFor,
  holdersForSync,
  isBusyError,
  lockErrorFromErrno,
  type HoldersLookup,
} from '@lockscope/core';
import { flockCmd, makeFile, pyHolder, runningExecutable, tmpDir } from './helpers/probe-procs.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function file(name: string): string {
  const d = tmpDir('lockscope-holders-');
  dirs.push(d);
  return makeFile(d, name);
}

/** What Node's fs raises on Windows when another process has the file open (unlink, rename...). */
function ebusy(syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EBUSY: resource busy or locked, ${syscall} '${path}'`), { code: 'EBUSY', errno: -4082, syscall, path });
}

const pidsOf = (r: HoldersLookup) => (r.holders ?? []).map((h) => h.pid);

describe('holdersFor: real foreign openers and lockers', () => {
  it('a python3 process with the file open: the EBUSY of an unlink names it as opener', async () => {
    const path = file('open.dat');
    const py = await pyHolder('open', path);
    try {
      const cache = new HolderCache({ budgetMs: 5000 });
      const err = ebusy('unlink', path);
      // Synchronous form: never waits, says the holders are not known yet, starts the probe.
      expect(holdersForSync(err, { cache })).toEqual({ status: 'pending', holders: null, complete: null });
      const r = await holdersFor(err, { cache, budgetMs: 10_000 });
      expect(r.status).toBe('resolved');
      expect(r.holders!.find((h) => h.pid === py.pid)).toMatchObject({ role: 'opener', command: 'python3', lockKind: null });
      // Later errors about the path are served from the cache, sync or not.
      expect(holdersForSync(ebusy('rename', path), { cache })).toMatchObject({ status: 'cached', holders: r.holders });
      expect((await holdersFor(err, { cache })).status).toBe('cached');
    } finally {
      await py.stop();
    }
  });

  it('a flock(1) holder: the EWOULDBLOCK of a non-blocking lock names flock and its sleep as holders', async () => {
    const path = file('locked.lock');
    const f = await flockCmd(path);
    try {
      const err = lockErrorFromErrno('flock', errnoNumber('EWOULDBLOCK')!, path, 'flock');
      expect(err).toBeInstanceOf(LockError);
      const r = await holdersFor(err, { cache: new HolderCache(), budgetMs: 10_000 });
      expect(r.status).toBe('resolved');
      expect(pidsOf(r)).toEqual(expect.arrayContaining([f.pid, f.sleepPid]));
      expect(r.holders!.find((h) => h.pid === f.pid)).toMatchObject({
        role: 'holder',
        command: 'flock',
        lockKind: 'flock',
        lockMode: 'exclusive',
      });
    } finally {
      await f.stop();
    }
  });

  it('a real ETXTBSY from fs.openSync on a running executable names the process running it', async () => {
    const d = tmpDir('lockscope-txt-');
    dirs.push(d);
    const run = await runningExecutable(d);
    const exe = run.path;
    try {
      let err: unknown;
      try {
        openSync(exe, 'r+');
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ETXTBSY', syscall: 'open', path: exe });
      expect(isBusyError(err)).toBe(true);
      const r = await holdersFor(err, { cache: new HolderCache(), budgetMs: 10_000 });
      expect(r.holders!.find((h) => h.pid === run.pid)).toMatchObject({ role: 'opener', command: 'busy-sleep' });
    } finally {
      await run.stop();
    }
  });
});

describe('holdersFor: never throws, says what it does not know', () => {
  it('anything that is not a busy-style error with a path is not-busy, and costs no lookup', async () => {
    let calls = 0;
    const cache = new HolderCache({ resolve: () => (calls++, []) });
    const hostile = Object.defineProperty({}, 'code', {
      get: () => {
        throw new Error('getter');
      },
    });
    const notBusy = [
      null,
      undefined,
      'EBUSY',
      42,
      new Error('plain'),
      { code: 'EBUSY' }, // no path
      { code: 'EBUSY', path: '' },
      { code: 'ENOENT', path: '/x', syscall: 'open' },
      { code: 'EACCES', path: '/x', syscall: 'unlink' }, // permissions, not a holder
      hostile,
    ];
    for (const e of notBusy) {
      expect(holdersForSync(e, { cache })).toMatchObject({ status: 'not-busy', holders: null });
      expect(await holdersFor(e, { cache })).toMatchObject({ status: 'not-busy' });
      expect(isBusyError(e)).toBe(false);
    }
    expect(calls).toBe(0);
    for (const e of [
      { code: 'EACCES', path: '/x', syscall: 'flock' },
      { code: 'EPERM', path: '/x', syscall: 'open' },
      { code: 'EAGAIN', path: '/x' },
    ]) {
      expect(isBusyError(e)).toBe(true);
    }
  });

  it('a probe that fails (the file is gone) resolves as failed, never rejects', async () => {
    const r = await holdersFor(ebusy('unlink', '/nonexistent/lockscope/gone'), { cache: new HolderCache(), budgetMs: 10_000 });
    expect(r).toEqual({ status: 'failed', holders: null, complete: null });
    // A throwing or rejecting resolver is the same.
    const bad = new HolderCache({
      resolve: () => {
        throw new Error('boom');
      },
    });
    expect(holdersForSync(ebusy('open', '/a'), { cache: bad }).status).toBe('failed');
    const rejecting = new HolderCache({ resolve: () => Promise.reject(new Error('boom')) });
    expect((await holdersFor(ebusy('open', '/a'), { cache: rejecting })).status).toBe('failed');
  });

  it('the budget bounds the wait: a probe still running resolves pending, and fills the cache later', async () => {
    let finish!: () => void;
    const cache = new HolderCache({ resolve: () => new Promise((r) => (finish = () => r([]))) });
    expect(await holdersFor(ebusy('open', '/slow'), { cache, budgetMs: 20 })).toMatchObject({ status: 'pending' });
    finish();
    await cache.prewarm('/slow');
    expect(holdersForSync(ebusy('open', '/slow'), { cache })).toMatchObject({ status: 'cached', holders: [] });
  });

  it('enrichWithHolders annotates a serialized error in place, leaves a LockError with holders alone', () => {
    const cache = new HolderCache({
      resolve: (p) => [
        {
          pid: 7,
          startTime: null,
          command: p,
          argv: null,
          uid: null,
          user: null,
          lockKind: null,
          lockMode: null,
          role: 'opener',
          fd: 3,
          range: null,
        },
      ],
    });
    const s = enrichWithHolders({ code: 'EBUSY', path: '/e', message: 'x' }, { cache });
    expect(s).toMatchObject({ holdersStatus: 'resolved', holders: [{ pid: 7 }], holdersComplete: null });
    const withWait = { code: 'EWOULDBLOCK', path: '/e', holders: [{ pid: 9 }] };
    expect(enrichWithHolders(withWait, { cache })).toEqual({ code: 'EWOULDBLOCK', path: '/e', holders: [{ pid: 9 }] });
    expect(enrichWithHolders({ code: 'ENOENT', path: '/e' }, { cache })).toEqual({ code: 'ENOENT', path: '/e' });
  });

  it('invalid options fail with typed EINVAL errors', async () => {
    for (const bad of [null, 5, { cache: {} }, { budgetMs: -1 }, { budgetMs: NaN }]) {
      expect(() => holdersForSync(ebusy('open', '/a'), bad as never)).toThrow(
        expect.objectContaining({ code: 'EINVAL', reason: 'invalid-argument' }),
      );
      await expect(holdersFor(ebusy('open', '/a'), bad as never)).rejects.toMatchObject({ code: 'EINVAL' });
    }
    for (const bad of [{ ttlMs: 0 }, { budgetMs: Infinity }, { maxEntries: -1 }, { resolve: 42 }, null]) {
      expect(() => new HolderCache(bad as never)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'HolderCache' }));
    }
  });
});
