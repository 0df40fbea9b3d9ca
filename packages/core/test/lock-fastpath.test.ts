// The engine's fast path (lock/engine.ts): with nothing of this process in its table, a
// flock/OFD request goes to the kernel without an fstat and is filed under its identity only
// when a later request needs the table. These cases start from an empty table on purpose.
import { linkSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { lock, lockStats, tryLock } from '@lockscope/core';
import { pythonTry, sleep, tempDir } from './helpers/lock-procs.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
afterEach(() => expect(lockStats()).toMatchObject({ held: 0, waiting: 0, queued: 0 }));
let n = 0;
const fresh = () => tmp.file(`f${n++}.lock`);

describe('fast path (empty in-process table)', () => {
  it('a flock taken on the fast path does not close away a later POSIX lock of the file when released', () => {
    const f = fresh();
    writeFileSync(f, '');
    const hard = `${f}.hard`;
    linkSync(f, hard);
    const fl = tryLock(f)!; // fast path: identity not looked up
    expect(lockStats().held).toBe(1);
    const px = tryLock(hard, { kind: 'posix', range: { start: 0, length: 1 } })!;
    expect(px).not.toBeNull();
    fl.releaseSync(); // its fd must be parked: closing it would drop the POSIX lock
    expect(pythonTry(f, 'lockf', 'ex', { start: 0, length: 1 })).toBe('busy');
    px.releaseSync();
    expect(pythonTry(f, 'lockf', 'ex', { start: 0, length: 1 })).toBe('locked');
  });

  for (const kind of ['flock', 'ofd'] as const) {
    it(`${kind}: fast-path shared holders are found by a later exclusive request, which queues in-process`, async () => {
      const f = fresh();
      const hard = `${f}.hard`;
      writeFileSync(f, '');
      linkSync(f, hard);
      const s1 = tryLock(f, { kind, mode: 'shared' })!;
      const s2 = tryLock(hard, { kind, mode: 'shared' })!; // also fast path: the kernel lets shared share
      expect(s1).not.toBeNull();
      expect(s2).not.toBeNull();
      expect(tryLock(hard, { kind })).toBeNull();
      let got = false;
      const ex = lock(hard, { kind }).then((h) => ((got = true), h));
      await sleep(30);
      expect(lockStats()).toMatchObject({ held: 2, queued: 1, waiting: 0 }); // behind us, not a kernel wait on ourselves
      s1.releaseSync();
      await sleep(20);
      expect(got).toBe(false);
      s2.releaseSync();
      (await ex).releaseSync();
      expect(got).toBe(true);
    });
  }
});
