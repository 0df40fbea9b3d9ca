/**
 * lock() and probe() read a path the same way (one validator, src/path.ts): through a symlinked
 * directory '..' is the kernel's (the link target's parent), not a lexical step back, and bad
 * paths fail with the same messages.
 */
import { mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { lock, probe, tryLock } from '@lockscope/core';
import { tmpDir } from './helpers/probe-procs.js';

const linux = process.platform === 'linux';
const dir = tmpDir('lockscope-path-');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lock and probe agree on a path', () => {
  it.skipIf(!linux)('d/link/../f through a symlinked directory: probe looks at the file lock() locked', async () => {
    // d/link -> other/sub: the kernel resolves d/link/../f to other/f; lexically it would be d/f.
    mkdirSync(`${dir}/d`);
    mkdirSync(`${dir}/other/sub`, { recursive: true });
    writeFileSync(`${dir}/d/f`, '');
    writeFileSync(`${dir}/other/f`, '');
    symlinkSync(`${dir}/other/sub`, `${dir}/d/link`);
    const tricky = `${dir}/d/link/../f`;
    const handle = await lock(tricky);
    try {
      expect(handle.path).toBe(tricky);
      const r = await probe(tricky, { depth: 'holders' });
      expect(r.path).toBe(tricky);
      expect(r.ino).toBe(statSync(`${dir}/other/f`).ino);
      expect(r.ino).not.toBe(statSync(`${dir}/d/f`).ino);
      expect(r.locks.flatMap((l) => l.holders.map((h) => h.pid))).toContain(process.pid);
      // The file lock() locked is the one the kernel names: taking it again through the real path conflicts.
      expect(tryLock(`${dir}/other/f`)).toBeNull();
    } finally {
      await handle.release();
    }
  });

  it.each([
    ['empty path', ''],
    ['NUL byte', 'a\0b'],
    ['not a string', 42],
    ['null', null],
    ['http URL', new URL('http://x/y')],
  ])('%s: the same error from lock() and probe()', async (_n, p) => {
    const fromLock = (await lock(p as string).catch((x: unknown) => x)) as Error & Record<string, unknown>;
    const fromProbe = (await probe(p as string).catch((x: unknown) => x)) as Error & Record<string, unknown>;
    expect(fromLock.name).toBe('LockError');
    expect(fromProbe.name).toBe('ProbeError');
    expect(fromProbe.message).toBe(fromLock.message.replace(', lock', ', probe'));
    for (const k of ['code', 'errno', 'reason', 'path']) expect(fromProbe[k]).toEqual(fromLock[k]);
  });
});
