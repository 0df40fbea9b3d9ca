/**
 * lockscopeErrSerializer: pino's err serializer plus the holders of a busy-style error, on a real
 * pino logger, against real foreign processes (python3 with the file open, flock(1) holding it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { HolderCache, defaultHolderCache, errnoNumber, holdersFor, lockErrorFromErrno, type RecordHolder } from '@lockscope/core';
import { lockscopeErrSerializer } from '@lockscope/pino-transport';
import { pyHolder } from '../../../test-support/processes.js';
import { startFlockHolder, tempDir } from '../../../test-support/contention.js';

function jsonLogger(options: pino.LoggerOptions) {
  const lines: Record<string, any>[] = [];
  const logger = pino(options, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

function ebusy(syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EBUSY: resource busy or locked, ${syscall} '${path}'`), { code: 'EBUSY', errno: -4082, syscall, path });
}

describe('lockscopeErrSerializer on a real pino logger', () => {
  it('an EBUSY about a file python3 has open: pending on the first line, the opener on the next', async () => {
    const path = join(tempDir(), 'open.dat');
    writeFileSync(path, 'x');
    const py = await pyHolder('open', path);
    try {
      const cache = new HolderCache({ budgetMs: 5000 });
      const { logger, lines } = jsonLogger({ serializers: { err: lockscopeErrSerializer({ cache }) } });
      const err = ebusy('unlink', path);
      logger.error(err, 'cleanup failed'); // pino puts an Error argument under `err`
      expect(lines[0]!.err).toMatchObject({ type: 'Error', code: 'EBUSY', path, holdersStatus: 'pending' });
      expect(lines[0]!.err.holders).toBeUndefined();
      await holdersFor(err, { cache, budgetMs: 10_000 });
      logger.error({ err }, 'cleanup failed again');
      const hs = lines[1]!.err.holders as RecordHolder[];
      expect(lines[1]!.err.holdersStatus).toBe('cached');
      expect(hs.find((h) => h.pid === py.pid)).toMatchObject({ role: 'opener', command: 'python3' });
      expect(typeof lines[1]!.err.holdersComplete).toBe('boolean');
      // Everything pino's own serializer writes is still there.
      const std = pino.stdSerializers.err(err);
      expect(lines[1]!.err).toMatchObject({ type: std.type, message: std.message, stack: std.stack });
    } finally {
      await py.stop();
    }
  });

  it('a flock(1) holder behind an EWOULDBLOCK, through the shared default cache', async () => {
    const path = join(tempDir(), 'held.lock');
    writeFileSync(path, '');
    const holder = await startFlockHolder(path);
    try {
      const { logger, lines } = jsonLogger({ serializers: { err: lockscopeErrSerializer() } });
      const err = lockErrorFromErrno('flock', errnoNumber('EWOULDBLOCK')!, path, 'flock');
      await holdersFor(err, { budgetMs: 10_000 }); // the default cache, the serializer's too
      expect(defaultHolderCache().lookup(path).status).toBe('cached');
      logger.warn({ err }, 'busy');
      expect(lines[0]!.err).toMatchObject({ code: 'EWOULDBLOCK', holdersStatus: 'cached' });
      expect((lines[0]!.err.holders as RecordHolder[]).find((h) => h.pid === holder.pid)).toMatchObject({
        role: 'holder',
        command: 'flock',
      });
    } finally {
      await holder.stop();
    }
  });

  it('anything else is exactly what pino.stdSerializers.err gives; the caller objects are not touched', () => {
    let calls = 0;
    const cache = new HolderCache({ resolve: () => (calls++, []) });
    const ser = lockscopeErrSerializer({ cache });
    const enoent = Object.assign(new Error('ENOENT'), { code: 'ENOENT', path: '/x', syscall: 'open' });
    expect(ser(enoent)).toEqual(pino.stdSerializers.err(enoent));
    const plain = { code: 'EBUSY', path: '/x' }; // not an Error: pino's serializer hands it back as is
    expect(ser(plain as never)).toBe(plain);
    expect(plain).toEqual({ code: 'EBUSY', path: '/x' });
    expect(calls).toBe(0);
    // Another wrapped serializer, as with pino.stdSerializers.errWithCause.
    const withCause = lockscopeErrSerializer({ cache, serializer: pino.stdSerializers.errWithCause });
    expect(withCause(ebusy('rename', '/y'))).toMatchObject({ holdersStatus: 'resolved', holders: [] });
    for (const bad of [null, { serializer: 1 }, { cache: {} }])
      expect(() => lockscopeErrSerializer(bad as never)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
