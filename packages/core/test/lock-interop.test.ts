import { afterAll, describe, expect, it } from 'vitest';
import { lock, tryLock, type LockKind } from '@lockscope/core';
import { flockHolder, flockTry, pythonHolder, pythonTry, tempDir, type Method } from './helpers/lock-procs.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = () => tmp.file(`f${n++}.lock`);

type Share = 'ex' | 'sh';
const mode = (s: Share) => (s === 'ex' ? 'exclusive' : 'shared');
const compatible = (a: Share, b: Share) => a === 'sh' && b === 'sh';

/** Our kinds and the foreign mechanism each must interoperate with. */
const PAIRS: Array<[LockKind, Method]> = [
  ['flock', 'flock'],
  ['posix', 'lockf'],
  ['ofd', 'ofd'],
];
const MATRIX: Array<[Share, Share]> = [
  ['ex', 'ex'],
  ['ex', 'sh'],
  ['sh', 'ex'],
  ['sh', 'sh'],
];

describe('interop with foreign processes: shared/exclusive matrix, both directions', () => {
  for (const [kind, method] of PAIRS) {
    for (const [ours, theirs] of MATRIX) {
      it(`${kind} ${ours} held by us vs python ${method} ${theirs}`, async () => {
        const f = fresh();
        const h = await lock(f, { kind, mode: mode(ours) });
        expect(pythonTry(f, method, theirs)).toBe(compatible(ours, theirs) ? 'locked' : 'busy');
        await h.release();
        expect(pythonTry(f, method, theirs)).toBe('locked');
      });

      it(`python ${method} ${theirs} holding vs our ${kind} ${ours}`, async () => {
        const f = fresh();
        const p = pythonHolder(f, method, theirs);
        await p.waitFor('ready');
        const h = tryLock(f, { kind, mode: mode(ours) });
        try {
          if (compatible(ours, theirs)) expect(h).not.toBeNull();
          else expect(h).toBeNull();
        } finally {
          h?.releaseSync();
          p.release();
          await p.exited;
        }
        const after = tryLock(f, { kind, mode: mode(ours) });
        expect(after).not.toBeNull();
        after!.releaseSync();
      });
    }
  }

  for (const [ours, theirs] of MATRIX) {
    it(`flock ${ours} vs flock(1) ${theirs}, both directions`, async () => {
      const f = fresh();
      const h = await lock(f, { mode: mode(ours) });
      expect(flockTry(f, theirs)).toBe(compatible(ours, theirs) ? 'locked' : 'busy');
      h.releaseSync();
      expect(flockTry(f, theirs)).toBe('locked');

      const holder = flockHolder(f, theirs);
      await holder.waitFor('ready');
      const t = tryLock(f, { mode: mode(ours) });
      expect(t === null).toBe(!compatible(ours, theirs));
      t?.releaseSync();
      holder.kill();
      await holder.exited;
    });
  }

  it('a waiting lock() gets the file right after flock(1) lets go', async () => {
    const f = fresh();
    const holder = flockHolder(f, 'ex', 1);
    await holder.waitFor('ready');
    const t0 = performance.now();
    const h = await lock(f, { timeout: 20_000 });
    expect(performance.now() - t0).toBeGreaterThan(300); // it really waited for sleep 1
    expect(h.waitedMs).toBeGreaterThan(300);
    expect(flockTry(f)).toBe('busy');
    await h.release();
    expect(flockTry(f)).toBe('locked');
  });

  it('a foreign python waiter gets the lock once we release', async () => {
    const f = fresh();
    const h = await lock(f, { kind: 'ofd' });
    const p = pythonHolder(f, 'ofd', 'ex');
    await expect(p.waitFor('ready', 300)).rejects.toThrow(/did not print/);
    await h.release();
    await p.waitFor('ready');
    p.release();
    await p.exited;
  });
});

describe('byte ranges (ofd, posix) against foreign processes', () => {
  for (const [kind, method] of PAIRS.slice(1)) {
    it(`${kind}: disjoint ranges coexist, overlapping ones exclude`, async () => {
      const f = fresh();
      const h = await lock(f, { kind, range: { start: 0, length: 10 } });
      expect(pythonTry(f, method, 'ex', { start: 10, length: 10 })).toBe('locked');
      expect(pythonTry(f, method, 'ex', { start: 9, length: 2 })).toBe('busy');
      expect(pythonTry(f, method, 'ex', { start: 5, length: 0 })).toBe('busy'); // to EOF
      await h.release();

      const p = pythonHolder(f, method, 'ex', { start: 100, length: 0 });
      await p.waitFor('ready');
      const low = tryLock(f, { kind, range: { start: 0, length: 100 } });
      expect(low).not.toBeNull();
      expect(tryLock(f, { kind, range: { start: 50, length: 51 } })).toBeNull();
      expect(tryLock(f, { kind, range: { start: 1_000_000, length: 1 } })).toBeNull();
      low!.releaseSync();
      p.release();
      await p.exited;
    });
  }
});

describe('kernel families', () => {
  it('POSIX and OFD locks conflict with each other (both directions)', async () => {
    const f = fresh();
    const h = await lock(f, { kind: 'ofd' });
    expect(pythonTry(f, 'lockf')).toBe('busy');
    await h.release();
    const h2 = await lock(f, { kind: 'posix' });
    expect(pythonTry(f, 'ofd')).toBe('busy');
    await h2.release();
    expect(pythonTry(f, 'ofd')).toBe('locked');
  });

  it('flock and fcntl locks do not conflict on a local file system', async () => {
    const f = fresh();
    const h = await lock(f);
    expect(pythonTry(f, 'lockf')).toBe('locked');
    expect(pythonTry(f, 'ofd')).toBe('locked');
    expect(pythonTry(f, 'flock')).toBe('busy');
    await h.release();
  });
});
