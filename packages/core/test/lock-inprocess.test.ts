import { relative } from 'node:path';
import { linkSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { lock, lockStats, tryLock, withLock } from '@lockscope/core';
import { CORE_DIST, fdCount, nodeChild, pythonTry, sleep, tempDir } from './helpers/lock-procs.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = () => tmp.file(`p${n++}.lock`);

describe('same process, same file', () => {
  for (const kind of ['flock', 'posix', 'ofd'] as const) {
    it(`${kind}: exclusive requests queue FIFO behind the holder; tryLock says null`, async () => {
      const f = fresh();
      const h1 = await lock(f, { kind });
      expect(tryLock(f, { kind })).toBeNull();
      expect(tryLock(f, { kind, mode: 'shared' })).toBeNull();
      const order: number[] = [];
      const p2 = lock(f, { kind }).then((h) => (order.push(2), h));
      const p3 = lock(f, { kind }).then((h) => (order.push(3), h));
      await sleep(50);
      expect(order).toEqual([]);
      expect(lockStats().queued).toBe(2);
      await h1.release();
      const h2 = await p2;
      await sleep(20);
      expect(order).toEqual([2]); // never two exclusive holders at once
      await h2.release();
      const h3 = await p3;
      expect(order).toEqual([2, 3]);
      await h3.release();
    });

    it(`${kind}: shared requests share; an exclusive waits for all; later shared do not overtake it`, async () => {
      const f = fresh();
      const s1 = await lock(f, { kind, mode: 'shared' });
      const s2 = tryLock(f, { kind, mode: 'shared' });
      expect(s2).not.toBeNull();
      let exGot = false;
      const ex = lock(f, { kind }).then((h) => ((exGot = true), h));
      // FIFO: a shared request behind the queued exclusive one waits too.
      expect(tryLock(f, { kind, mode: 'shared' })).toBeNull();
      let s3Got = false;
      const s3 = lock(f, { kind, mode: 'shared' }).then((h) => ((s3Got = true), h));
      await s1.release();
      await sleep(20);
      expect(exGot).toBe(false);
      s2!.releaseSync();
      const exH = await ex;
      await sleep(20);
      expect(s3Got).toBe(false);
      exH.releaseSync();
      (await s3).releaseSync();
    });
  }

  for (const kind of ['posix', 'ofd'] as const) {
    it(`${kind}: ranges: disjoint exclusive ranges coexist, overlapping ones queue`, async () => {
      const f = fresh();
      const a = await lock(f, { kind, range: { start: 0, length: 10 } });
      const b = tryLock(f, { kind, range: { start: 10, length: 10 } });
      expect(b).not.toBeNull();
      expect(tryLock(f, { kind, range: { start: 5, length: 10 } })).toBeNull();
      expect(tryLock(f, { kind, range: { start: 15, length: 0 } })).toBeNull(); // to EOF overlaps b
      const c = lock(f, { kind, range: { start: 9, length: 2 } });
      a.releaseSync();
      await sleep(20);
      expect(lockStats().queued).toBe(1);
      b!.releaseSync();
      (await c).releaseSync();
    });
  }

  it('posix: releasing one holder never drops bytes another in-process holder still covers', async () => {
    const f = fresh();
    const a = await lock(f, { kind: 'posix', mode: 'shared', range: { start: 0, length: 20 } });
    const b = await lock(f, { kind: 'posix', mode: 'shared', range: { start: 10, length: 20 } });
    await a.release();
    // bytes 10..29 are still ours (shared): a foreign writer there is refused, below it is not
    expect(pythonTry(f, 'lockf', 'ex', { start: 15, length: 1 })).toBe('busy');
    expect(pythonTry(f, 'lockf', 'ex', { start: 0, length: 10 })).toBe('locked');
    await b.release();
    expect(pythonTry(f, 'lockf', 'ex', { start: 15, length: 1 })).toBe('locked');
  });

  it('posix: taking and releasing flock/ofd locks or a second posix handle on the file keeps the posix lock', async () => {
    const f = fresh();
    const p = await lock(f, { kind: 'posix', range: { start: 0, length: 1 } });
    for (let i = 0; i < 50; i++) {
      (await lock(f)).releaseSync(); // flock: its own fd, closed would drop POSIX locks: must be parked
      tryLock(f, { kind: 'ofd', range: { start: 100, length: 1 } })!.releaseSync();
      tryLock(f, { kind: 'posix', range: { start: 200, length: 1 } })!.releaseSync();
    }
    expect(pythonTry(f, 'lockf', 'ex', { start: 0, length: 1 })).toBe('busy');
    const stats = lockStats();
    expect(stats.parkedFds).toBeLessThanOrEqual(3); // parked fds are reused, not piled up
    const fds = fdCount();
    await p.release();
    expect(fdCount()).toBeLessThan(fds); // parked fds are closed once no POSIX lock remains
    expect(lockStats().posixInodes).toBe(0);
    expect(pythonTry(f, 'lockf', 'ex', { start: 0, length: 1 })).toBe('locked');
  });

  it('hard links and symlinks are the same file: they queue, not double-grant', async () => {
    const f = fresh();
    writeFileSync(f, '');
    const hard = tmp.file(`hard${n}`);
    const sym = tmp.file(`sym${n}`);
    linkSync(f, hard);
    symlinkSync(f, sym);
    for (const kind of ['flock', 'posix', 'ofd'] as const) {
      const h = await lock(f, { kind });
      expect(tryLock(hard, { kind })).toBeNull();
      expect(tryLock(sym, { kind })).toBeNull();
      const viaLink = lock(sym, { kind, timeout: 100 });
      await expect(viaLink).rejects.toMatchObject({ reason: 'timeout' });
      await expect(lock(sym, { kind, timeout: 100 })).rejects.toThrow(`same file via '${f}'`);
      const next = lock(hard, { kind });
      h.releaseSync();
      const h2 = await next;
      expect(h2.path).toBe(hard);
      h2.releaseSync();
    }
  });

  it('withLock holds during fn and releases on return and on throw', async () => {
    const f = fresh();
    const r = await withLock(f, { mode: 'exclusive' }, async (h) => {
      expect(h.fd).toBeGreaterThan(2);
      expect(tryLock(f)).toBeNull();
      return 42;
    });
    expect(r).toBe(42);
    const again = tryLock(f);
    expect(again).not.toBeNull();
    again!.releaseSync();
    await expect(
      withLock(f, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    tryLock(f)!.releaseSync();
  });

  it('handles: fields, idempotent release, await using, fd -1 after release', async () => {
    const f = fresh();
    let fdSeen: number;
    {
      await using h = await lock(f, { mode: 'shared' });
      expect(h).toMatchObject({ path: f, kind: 'flock', mode: 'shared', range: null });
      expect(h.acquiredAt).toBeGreaterThan(Date.now() - 10_000);
      expect(h.waitedMs).toBeGreaterThanOrEqual(0);
      fdSeen = h.fd;
      expect(readFileSync(`/proc/self/fdinfo/${h.fd}`, 'utf8')).toMatch(/lock:.*FLOCK\s+ADVISORY\s+READ/);
    }
    expect(fdSeen).toBeGreaterThan(2);
    const h = await lock(f);
    await h.release();
    await h.release();
    h.releaseSync();
    expect(h.fd).toBe(-1);
    expect(h.released).toBe(true);
  });

  it('relative paths resolve against the cwd', async () => {
    const rel = relative(process.cwd(), tmp.file('relative.lock'));
    const h = await lock(rel);
    expect(h.path).toBe(`${process.cwd()}/${rel}`);
    expect(tryLock(tmp.file('relative.lock'))).toBeNull();
    h.releaseSync();
  });
});

describe('self-deadlock and leaks are loud', () => {
  it('awaiting a lock this same process holds, with nothing else pending, rejects with reason deadlock', async () => {
    const f = fresh();
    const c = nodeChild(`
      import { lock } from '${CORE_DIST}';
      const a = await lock(${JSON.stringify(f)});
      try { await lock(${JSON.stringify(f)}); console.log('granted?!'); }
      catch (e) { console.log(e.reason + ' ' + e.code + ' ' + e.message); }
      a.releaseSync();
    `);
    const out: string[] = [];
    c.proc.stdout!.on('data', (d) => out.push(String(d)));
    expect(await c.exited).toBe(0);
    expect(out.join('')).toMatch(/^deadlock EDEADLK .*this process holds a conflicting exclusive flock lock/);
  });

  it('a handle garbage-collected without release warns LOCKSCOPE_LEAKED_LOCK and frees the lock', async () => {
    const f = fresh();
    const c = nodeChild(
      `
      import { tryLock } from '${CORE_DIST}';
      process.on('warning', (w) => console.log('warning ' + w.code + ' ' + w.message));
      (() => { tryLock(${JSON.stringify(f)}); })();
      for (let i = 0; i < 20; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      const again = tryLock(${JSON.stringify(f)});
      console.log('relocked ' + (again !== null));
    `,
      { args: ['--expose-gc'] },
    );
    const out: string[] = [];
    c.proc.stdout!.on('data', (d) => out.push(String(d)));
    c.proc.stderr!.resume();
    expect(await c.exited).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/warning LOCKSCOPE_LEAKED_LOCK .*garbage-collected without release/);
    expect(text).toMatch(/relocked true/);
  });

  it('leaks are reported even for handles dropped before the leak detector registered them (synchronous loops, batches)', async () => {
    const files = Array.from({ length: 600 }, () => fresh());
    const c = nodeChild(
      `
      import { tryLock, lockStats } from '${CORE_DIST}';
      let warned = 0;
      process.on('warning', (w) => { if (w.code === 'LOCKSCOPE_LEAKED_LOCK') warned++; });
      const files = ${JSON.stringify(files)};
      // One synchronous run: more handles than a registration batch, interleaved with released pairs;
      // every other one dropped while held, nothing awaited in between.
      (() => { for (let i = 0; i < files.length; i++) { const h = tryLock(files[i]); if (i % 2) h.releaseSync(); } })();
      for (let i = 0; i < 50 && lockStats().held > 0; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      await new Promise((r) => setTimeout(r, 20));
      console.log('warned ' + warned + ' held ' + lockStats().held);
    `,
      { args: ['--expose-gc'] },
    );
    const out: string[] = [];
    c.proc.stdout!.on('data', (d) => out.push(String(d)));
    c.proc.stderr!.resume();
    expect(await c.exited).toBe(0);
    expect(out.join('')).toMatch(/warned 300 held 0/);
  });
});

describe('resources', () => {
  it('10,000 lock/release cycles leave the fd count unchanged', async () => {
    const f = fresh();
    (await lock(f)).releaseSync(); // warm up
    const before = fdCount();
    for (let i = 0; i < 10_000; i++) {
      const kind = (['flock', 'posix', 'ofd'] as const)[i % 3]!;
      if (i % 2 === 0) tryLock(f, { kind })!.releaseSync();
      else await (await lock(f, { kind, mode: 'shared' })).release();
    }
    expect(fdCount()).toBe(before);
    expect(lockStats()).toMatchObject({ held: 0, waiting: 0, queued: 0, posixInodes: 0, parkedFds: 0 });
  });
});
