import { getEventListeners } from 'node:events';
import { readFile, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { lock, lockStats, tryLock, LockError, type LockKind } from '@lockscope/core';
import { alive } from './helpers/probe-procs.js';
import { flockHolder, flockTry, fdsOn, pythonHolder, pythonTry, sleep, tempDir, until, type Method } from './helpers/lock-procs.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = () => tmp.file(`w${n++}.lock`);
const FOREIGN: Record<LockKind, Method> = { flock: 'flock', posix: 'lockf', ofd: 'ofd' };

/**
 * /proc/locks shows the lock of `path` granted and nobody queued on it, and the holder `gone` no
 * longer holds it: the kernel handed it to our waiter (OFD locks show pid -1, so the queue is the
 * sign: our waiter's entry left it).
 */
function grantedToUs(path: string, gone: number): boolean {
  const ino = statSync(path).ino;
  const entries = readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`:${ino} `));
  const held = entries.filter((l) => !l.includes('->'));
  // An OFD lock shows pid -1, the holder's as well as ours: the holder must be dead too.
  return entries.length > 0 && held.length === entries.length && !held.some((l) => l.split(/\s+/)[4] === String(gone)) && !alive(gone);
}

/** Nothing of ours is left: no request in flight, no busy waiter thread. */
async function settled(): Promise<void> {
  await until(
    () => {
      const s = lockStats();
      return s.waiting === 0 && s.cancelling === 0 && s.queued === 0 && s.busyWaiterThreads === 0;
    },
    5_000,
    'engine idle',
  );
}

describe('waiting on a foreign holder', () => {
  for (const kind of ['flock', 'posix', 'ofd'] as const) {
    it(`${kind}: SIGKILL of the holder hands the lock to the waiter`, async () => {
      const f = fresh();
      const p = pythonHolder(f, FOREIGN[kind], 'ex');
      await p.waitFor('ready');
      const pending = lock(f, { kind, timeout: 20_000 });
      await sleep(100);
      expect(lockStats().waiting).toBeGreaterThanOrEqual(1);
      p.kill('SIGKILL');
      const h = await pending;
      expect(h.waitedMs).toBeGreaterThan(50);
      expect(pythonTry(f, FOREIGN[kind])).toBe('busy');
      await h.release();
      expect(pythonTry(f, FOREIGN[kind])).toBe('locked');
    });

    it(`${kind}: timeout rejects promptly with waitedMs and leaves nothing behind`, async () => {
      const f = fresh();
      const p = pythonHolder(f, FOREIGN[kind], 'ex');
      await p.waitFor('ready');
      const t0 = performance.now();
      const err = (await lock(f, { kind, timeout: 150 }).catch((e) => e)) as LockError;
      const took = performance.now() - t0;
      expect(err).toBeInstanceOf(LockError);
      expect(err).toMatchObject({ code: 'ETIMEDOUT', reason: 'timeout', kind, path: f, syscall: 'lock' });
      expect(err.waitedMs).toBeGreaterThanOrEqual(140);
      expect(err.message).toMatch(/gave up after \d+ ms/);
      expect(took).toBeLessThan(150 + 1_000); // "promptly", generous on a shared 2-core machine
      await settled();
      expect(fdsOn(f)).toBe(0);
      p.release();
      await p.exited;
      // The kernel queue holds nothing of ours: a foreign process takes it at once.
      expect(pythonTry(f, FOREIGN[kind])).toBe('locked');
    });

    it(`${kind}: AbortSignal rejects promptly with waitedMs and leaves nothing behind`, async () => {
      const f = fresh();
      const p = pythonHolder(f, FOREIGN[kind], 'ex');
      await p.waitFor('ready');
      const ac = new AbortController();
      const pending = lock(f, { kind, signal: ac.signal });
      await sleep(100);
      expect(fdsOn(f)).toBe(1); // the waiting call's own
      const t0 = performance.now();
      ac.abort(new Error('user gave up'));
      const err = (await pending.catch((e) => e)) as LockError;
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect(err).toMatchObject({ code: 'ABORT_ERR', reason: 'aborted', kind });
      expect(err.waitedMs).toBeGreaterThanOrEqual(90);
      expect((err.cause as Error).message).toBe('user gave up');
      await settled();
      expect(fdsOn(f)).toBe(0);
      p.release();
      await p.exited;
      expect(pythonTry(f, FOREIGN[kind])).toBe('locked');
    });
  }

  it('an already-aborted signal rejects without taking the lock', async () => {
    const f = fresh();
    const err = (await lock(f, { signal: AbortSignal.abort() }).catch((e) => e)) as LockError;
    expect(err).toMatchObject({ reason: 'aborted', waitedMs: 0 });
    expect(flockTry(f)).toBe('locked');
  });

  it('timeout 0 is a single attempt that fails with reason timeout', async () => {
    const f = fresh();
    const holder = flockHolder(f);
    await holder.waitFor('ready');
    await expect(lock(f, { timeout: 0 })).rejects.toMatchObject({ reason: 'timeout' });
    holder.kill();
    await holder.exited;
    const h = await lock(f, { timeout: 0 });
    h.releaseSync();
  });

  it('abort-after-grant: a lock the kernel grants just after the abort is undone', async () => {
    for (const kind of ['flock', 'posix', 'ofd'] as const) {
      const f = fresh();
      const p = pythonHolder(f, FOREIGN[kind], 'ex');
      await p.waitFor('ready');
      const ac = new AbortController();
      const pending = lock(f, { kind, signal: ac.signal });
      await until(() => lockStats().busyWaiterThreads === 1, 5_000, 'kernel wait');
      const before = lockStats().lateGrantsUndone;
      p.kill('SIGKILL');
      // Keep the main thread busy until the kernel granted the lock to our waiter thread: its
      // message cannot be handled before the abort below, so the abort lands after the grant.
      // (A fixed busy spell is not enough on a loaded machine: the holder may not be dead yet.)
      const t0 = performance.now();
      while (!grantedToUs(f, p.proc.pid!)) {
        if (performance.now() - t0 > 20_000) throw new Error(`${kind}: no grant in /proc/locks in 20 s`);
      }
      ac.abort();
      await expect(pending).rejects.toMatchObject({ reason: 'aborted' });
      await settled();
      expect(lockStats().lateGrantsUndone).toBe(before + 1);
      expect(pythonTry(f, FOREIGN[kind])).toBe('locked');
    }
  });

  it('abort racing a foreign release: nothing left behind (looped)', async () => {
    const f = fresh();
    for (let i = 0; i < 12; i++) {
      const holder = pythonHolder(f, 'flock', 'ex');
      await holder.waitFor('ready');
      const ac = new AbortController();
      const pending = lock(f, { signal: ac.signal }).then(
        (h) => (h.releaseSync(), 'granted'),
        (e: LockError) => e.reason,
      );
      await sleep(20);
      holder.release(); // kernel grants to our waiter thread ...
      await sleep(i % 4); // ... around the time the abort lands
      ac.abort();
      const r = await pending;
      expect(['granted', 'aborted']).toContain(r);
      await holder.exited;
      await settled();
      expect(flockTry(f)).toBe('locked'); // flock(1): a foreign process that starts in a blink
      expect(fdsOn(f)).toBe(0);
    }
  }, 120_000); // 12 python holders: over a minute on a loaded 2-core machine
});

describe('signals', () => {
  /** Rejects typed; nothing stays registered: the file is free at once, no fd left open. */
  async function rejectsCleanly(signal: unknown): Promise<LockError> {
    const f = fresh();
    const holder = flockHolder(f);
    await holder.waitFor('ready');
    expect(fdsOn(f)).toBe(0);
    const err = (await lock(f, { signal: signal as AbortSignal, timeout: 10_000 }).catch((e) => e)) as LockError;
    expect(err).toBeInstanceOf(LockError);
    expect(err).toMatchObject({ code: 'EINVAL', reason: 'invalid-argument', path: f });
    await settled();
    expect(fdsOn(f)).toBe(0); // the refused wait's fd is closed
    holder.kill();
    await holder.exited;
    const h = await lock(f, { timeout: 2_000 }); // a stuck request would make this queue and time out
    h.releaseSync();
    return err;
  }

  it('a signal that is not an AbortSignal (addEventListener throws) is an invalid argument; nothing stays registered', async () => {
    const fake = {
      aborted: false,
      reason: undefined,
      addEventListener() {
        throw new Error('not today');
      },
      removeEventListener() {},
    };
    const err = await rejectsCleanly(fake);
    expect(err.message).toMatch(/signal must be an AbortSignal/);
  });

  it('a real AbortSignal whose addEventListener throws, once the wait is registered: typed error, cleaned up', async () => {
    const ac = new AbortController();
    ac.signal.addEventListener = () => {
      throw new Error('patched away');
    };
    const err = await rejectsCleanly(ac.signal);
    expect(err.message).toMatch(/patched away/);
  });

  it('one abort for a queue: a wait its cancelled neighbour unblocks is not granted, it is aborted too', async () => {
    const f = fresh();
    const shared = await lock(f, { mode: 'shared' });
    const ac = new AbortController();
    const exclusive = lock(f, { signal: ac.signal }).then(
      () => 'acquired',
      (e: LockError) => e.reason,
    );
    // Queued behind the exclusive one (nobody overtakes it), though the held shared lock allows it.
    const second = lock(f, { mode: 'shared', signal: ac.signal }).then(
      (h) => (h.releaseSync(), 'acquired'),
      (e: LockError) => e.reason,
    );
    await sleep(20);
    ac.abort();
    expect([await exclusive, await second]).toEqual(['aborted', 'aborted']);
    shared.releaseSync();
    await settled();
  });

  it('20 waits on one AbortController: one listener, no MaxListenersExceededWarning, all aborted, none left after', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const f = fresh();
      const holder = flockHolder(f);
      await holder.waitFor('ready');
      const ac = new AbortController();
      // 10 shared waits block in the kernel (shared locks do not conflict in-process), 10
      // exclusive ones queue in-process behind them.
      const waits = Array.from({ length: 20 }, (_, i) =>
        lock(f, { signal: ac.signal, mode: i < 10 ? 'shared' : 'exclusive' }).then(
          () => 'acquired',
          (e: LockError) => e.reason,
        ),
      );
      await until(() => lockStats().waiting === 10 && lockStats().queued === 10, 20_000, '10 waiting, 10 queued');
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
      ac.abort();
      expect(await Promise.all(waits)).toEqual(Array(20).fill('aborted'));
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
      await settled();
      // Waits that end otherwise (timeout, grant) let go of the signal too.
      const ac2 = new AbortController();
      const timedOut = Array.from({ length: 12 }, () =>
        lock(f, { signal: ac2.signal, mode: 'shared', timeout: 300 }).catch((e: LockError) => e.reason),
      );
      const granted = tryLock(fresh(), { signal: ac2.signal }); // never waits, never listens
      expect(await Promise.all(timedOut)).toEqual(Array(12).fill('timeout'));
      granted?.releaseSync();
      expect(getEventListeners(ac2.signal, 'abort')).toHaveLength(0);
      holder.kill();
      await holder.exited;
      const hs = await Promise.all(Array.from({ length: 12 }, () => lock(f, { signal: ac2.signal, mode: 'shared' })));
      for (const h of hs) h.releaseSync();
      expect(getEventListeners(ac2.signal, 'abort')).toHaveLength(0);
      await settled();
      await sleep(20); // warnings are emitted on a later tick
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('no starvation, fast hand-off', () => {
  it('16 waiters blocked on 16 held files: fs.readFile still completes promptly', async () => {
    const small = tmp.file('small.txt');
    writeFileSync(small, 'hello');
    const files = Array.from({ length: 16 }, () => fresh());
    const holders = files.map((f) => flockHolder(f, 'ex', 60));
    await Promise.all(holders.map((h) => h.waitFor('ready')));
    const waits = files.map((f) => lock(f).then((h) => h.release()));
    await until(() => lockStats().busyWaiterThreads === 16, 10_000, '16 blocked waiter threads');
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => readFile(small, (err) => (err ? reject(err) : resolve())));
      times.push(performance.now() - t0);
    }
    // koffi .async (libuv threadpool) would stall these for as long as the locks are held.
    expect(Math.max(...times)).toBeLessThan(500);
    for (const h of holders) h.kill();
    await Promise.all(waits);
    await settled();
  }, 60_000);

  it('hand-off latency from a foreign release is far below a poll interval', async () => {
    const f = fresh();
    const lat: number[] = [];
    for (let i = 0; i < 10; i++) {
      const p = pythonHolder(f, 'flock', 'ex');
      await p.waitFor('ready');
      const pending = lock(f);
      // Release only once our waiter thread sits in the kernel: a thread still starting on a loaded
      // machine would otherwise be measured instead of the hand-off.
      const ino = statSync(f).ino;
      await until(
        () =>
          readFileSync('/proc/locks', 'utf8')
            .split('\n')
            .some((l) => l.includes('->') && l.includes(`:${ino} `)),
        10_000,
        'our waiter in the kernel queue',
      );
      let releasedAt = 0;
      p.proc.stdout!.on('data', (d: Buffer) => {
        if (String(d).includes('released') && releasedAt === 0) releasedAt = performance.now();
      });
      p.release();
      const h = await pending;
      const got = performance.now();
      await p.exited;
      // The holder prints 'released' after closing its fd; our grant can even beat that print.
      if (releasedAt > 0) lat.push(Math.max(0, got - releasedAt));
      h.releaseSync();
    }
    lat.sort((a, b) => a - b);
    const p50 = lat[lat.length >> 1] ?? 0;
    expect(lat.length).toBeGreaterThan(0);
    // The wait is the kernel's own (our waiter sat in /proc/locks' queue above), so hand-off is
    // kernel-driven by construction; bench/lock.mjs measures it (p50 ~0.6 ms). Here only a bound
    // that survives a loaded 2-core CI machine, which still catches any polling regression of
    // a quarter second or more.
    expect(p50).toBeLessThan(250);
  });
});
