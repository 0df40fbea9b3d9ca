import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { LockError, defaultHolderCache, errnoNumber, lockErrorFromErrno, probe } from '@lockscope/core';
import type { RecordHolder } from '@lockscope/core/record';
import { attachWinston, holdersOfProbe, lockscopeFormat, type PathHolderResolver } from '@lockscope/winston-format';
import { assertValidRecord } from '../../../test-support/records.js';
import {
  CONTENDED_BY_FLOCK,
  holderEntry,
  produceContention,
  produceIdle,
  startFlockHolder,
  tempDir,
} from '../../../test-support/contention.js';

/** A logger writing JSON lines through a real winston Stream transport into an array. */
function jsonLogger(
  fmt: winston.Logform.Format | undefined,
  opts: { level?: string; levels?: winston.config.AbstractConfigSetLevels } = {},
) {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk, _e, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const logger = winston.createLogger({
    level: opts.level ?? 'info',
    ...(opts.levels ? { levels: opts.levels } : {}),
    format: fmt ? winston.format.combine(fmt, winston.format.json()) : winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines };
}

function busyError(path: string): LockError {
  return lockErrorFromErrno('flock', errnoNumber('EWOULDBLOCK')!, path, 'flock', {
    cause: Object.assign(new Error('inner'), { code: 'EINNER' }),
  });
}

describe('lockscopeFormat: faithful errors', () => {
  it('keeps nested LockErrors that json() alone turns into {}', () => {
    const err = busyError('/tmp/x.lock');
    const plain = jsonLogger(undefined);
    plain.logger.error('write failed', { err, other: new Error('x') });
    // The problem this format exists for: a plain Error becomes {}, LockError.toJSON drops stack and cause.
    expect(plain.lines[0]!.other).toEqual({});
    expect(plain.lines[0]!.err.stack).toBeUndefined();
    expect(plain.lines[0]!.err.cause).toBeUndefined();

    const { logger, lines } = jsonLogger(lockscopeFormat());
    logger.error('write failed', { err, list: [new TypeError('second')], deep: { a: { b: new RangeError('deep') } } });
    const out = lines[0]!;
    expect(out.message).toBe('write failed');
    expect(out.err).toMatchObject({
      name: 'LockError',
      message: err.message,
      code: 'EWOULDBLOCK',
      errno: errnoNumber('EWOULDBLOCK'),
      syscall: 'flock',
      path: '/tmp/x.lock',
      reason: 'contended',
      kind: 'flock',
      cause: { name: 'Error', message: 'inner', code: 'EINNER' },
    });
    expect(out.err.stack).toContain('busyError');
    expect(out.list[0]).toMatchObject({ name: 'TypeError', message: 'second' });
    expect(out.deep.a.b).toMatchObject({ name: 'RangeError', message: 'deep' });
  });

  it('serializes an Error logged as the info itself, without mutating the caller objects', () => {
    const { logger, lines } = jsonLogger(lockscopeFormat({ stack: false }));
    const err = busyError('/tmp/y.lock');
    logger.error(err);
    expect(lines[0]).toMatchObject({ level: 'error', message: err.message, code: 'EWOULDBLOCK', path: '/tmp/y.lock', name: 'LockError' });
    expect(lines[0]!.stack).toBeUndefined();
    const meta = { inner: { e: new Error('x') } };
    logger.warn('meta', meta);
    expect(meta.inner.e).toBeInstanceOf(Error);
    expect(lines[1]!.inner.e.message).toBe('x');
  });
});

describe('lockscopeFormat: holders of busy errors', () => {
  it('a synchronous resolver answers on the spot; results are cached for ttlMs', async () => {
    const dir = tempDir();
    const path = join(dir, 'busy.lock');
    writeFileSync(path, '');
    const holder = await startFlockHolder(path);
    try {
      let calls = 0;
      const seen: number[] = [];
      const resolve: PathHolderResolver = (p, { deadlineMs }) => {
        calls++;
        seen.push(deadlineMs);
        return p === path ? [holderOf(holder.pid)] : [];
      };
      const fmt = lockscopeFormat({ holders: { resolve, budgetMs: 50, ttlMs: 300 } });
      const { logger, lines } = jsonLogger(fmt);
      logger.error('write failed', { err: busyError(path) });
      logger.error('write failed again', { err: busyError(path) });
      expect(lines[0]!.err.holders[0]).toMatchObject({ pid: holder.pid, command: 'flock' });
      expect(lines[0]!.err.holdersStatus).toBe('resolved');
      expect(lines[1]!.err.holdersStatus).toBe('cached');
      expect(calls).toBe(1);
      expect(seen).toEqual([50]);
      // Not busy-style: no lookup. ENOENT, and EACCES from a non-lock syscall.
      logger.error('nope', { err: Object.assign(new Error('x'), { code: 'ENOENT', path }) });
      logger.error('nope', { err: Object.assign(new Error('x'), { code: 'EACCES', path, syscall: 'unlink' }) });
      expect(lines[2]!.err.holdersStatus).toBeUndefined();
      expect(lines[3]!.err.holdersStatus).toBeUndefined();
      // EBUSY from fs (a plain Node error object shape) is enriched too.
      logger.error('rename failed', {
        err: Object.assign(new Error('EBUSY: resource busy, rename'), { code: 'EBUSY', path, syscall: 'rename', errno: -16 }),
      });
      expect(lines[4]!.err.holdersStatus).toBe('cached');
      await new Promise((r) => setTimeout(r, 350));
      logger.error('later', { err: busyError(path) });
      expect(calls).toBe(2);
    } finally {
      await holder.stop();
    }
  });

  it('an async resolver never blocks the line: pending first, then cached (and prewarm)', async () => {
    let resolved = 0;
    const resolve: PathHolderResolver = async (p) => {
      await new Promise((r) => setTimeout(r, 30));
      resolved++;
      return [holderOf(process.pid, p)];
    };
    const fmt = lockscopeFormat({ holders: { resolve } });
    const { logger, lines } = jsonLogger(fmt);
    logger.error('a', { err: busyError('/tmp/async.lock') });
    expect(lines[0]!.err.holdersStatus).toBe('pending');
    await fmt.holders!.prewarm('/tmp/async.lock');
    logger.error('b', { err: busyError('/tmp/async.lock') });
    expect(lines[1]!.err).toMatchObject({ holdersStatus: 'cached', holders: [{ pid: process.pid }] });
    expect(resolved).toBe(1);
    const failing = lockscopeFormat({ holders: { resolve: () => Promise.reject(new Error('probe broke')) } });
    const l2 = jsonLogger(failing);
    l2.logger.error('c', { err: busyError('/tmp/f.lock') });
    await failing.holders!.prewarm('/tmp/f.lock');
    l2.logger.error('d', { err: busyError('/tmp/f.lock') });
    expect(l2.lines.map((l) => l.err.holdersStatus)).toEqual(['pending', 'failed']);
  });

  it('default resolver: the real probe names a flock(1) holder and a process that only has the file open', async () => {
    const dir = tempDir();
    const path = join(dir, 'probe.lock');
    writeFileSync(path, '');
    const holder = await startFlockHolder(path);
    // A second foreign process that only has the file open (an EBUSY is often about one of those).
    const opener = spawn('sh', ['-c', 'exec sleep 600 3<"$0"', path], { stdio: 'ignore' });
    try {
      await waitFor(() => readlinkFds(opener.pid!).includes(path));
      const fmt = lockscopeFormat({ holders: { budgetMs: 5000 } });
      // holders: true shares core's cache with the other adapters; an object gets one of its own.
      expect(lockscopeFormat({ holders: true }).holders).toBe(defaultHolderCache());
      expect(fmt.holders).not.toBe(defaultHolderCache());
      const { logger, lines } = jsonLogger(fmt);
      logger.error('write failed', { err: busyError(path) });
      expect(lines[0]!.err.holdersStatus).toBe('pending'); // the format never waits for the probe
      await fmt.holders!.prewarm(path);
      logger.error('write failed', { err: busyError(path) });
      const hs = lines[1]!.err.holders as RecordHolder[];
      expect(lines[1]!.err.holdersStatus).toBe('cached');
      expect(hs.find((h) => h.pid === holder.pid)).toMatchObject({
        role: 'holder',
        command: 'flock',
        lockKind: 'flock',
        lockMode: 'exclusive',
      });
      expect(hs.find((h) => h.pid === opener.pid)).toMatchObject({ role: 'opener', command: 'sleep' });
      // holdersOfProbe is the mapping the resolver applies to a probe() result.
      const direct = holdersOfProbe(await probe(path));
      expect(direct.filter((h) => h.role === 'holder').map((h) => h.pid)).toContain(holder.pid);
    } finally {
      opener.kill('SIGKILL');
      await holder.stop();
    }
  });
});

function readlinkFds(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
  } catch {
    return [];
  }
}

async function waitFor(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('attachWinston, real cross-process contention (flock(1) holder, core lock())', () => {
  it('logs contended at warn and timeout at error through a real File transport', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.log');
    const transport = new winston.transports.File({ filename: file });
    const fmt = lockscopeFormat({ holders: { resolve: () => null } });
    const logger = winston.createLogger({
      level: 'info',
      format: winston.format.combine(fmt, winston.format.json()),
      transports: [transport],
    });
    const detach = attachWinston(logger, { format: fmt });
    const c = await produceContention({ outcome: 'timeout', thresholdMs: 80, timeoutMs: 300 });
    // The caller logs the error it got, as apps do: the holders come from the wait's records.
    logger.error('could not get the lock', { err: c.error });
    logger.error('later write failed', { err: Object.assign(new Error('EBUSY'), { code: 'EBUSY', path: c.path, syscall: 'open' }) });
    detach();
    await new Promise<void>((resolve) => {
      transport.on('finish', () => resolve());
      logger.end();
    });
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.lock?.event ?? null])).toEqual([
      ['warn', 'contended'],
      ['error', 'timeout'],
      ['error', null],
      ['error', null],
    ]);
    for (const l of lines.slice(0, 2)) {
      expect(l.lockscope).toBe(1);
      assertValidRecord(l.lock);
      expect(holderEntry(l.lock, c.holder.pid)).toMatchObject({ command: 'flock', argv: c.holder.argv });
      expect(l.message).toContain(`pid ${c.holder.pid} (flock -x`);
    }
    expect(lines[0].lock.error).toMatchObject({ ...CONTENDED_BY_FLOCK, message: expect.stringContaining(c.path) });
    expect(lines[0].message).toContain('(EWOULDBLOCK from flock)');
    expect(lines[1].lock.error).toMatchObject({ code: 'ETIMEDOUT', errno: 110, reason: 'timeout' });
    // The LockError the caller logs keeps its fields and the holders of the wait.
    expect(lines[2].err).toMatchObject({ name: 'LockError', code: 'ETIMEDOUT', errno: 110, reason: 'timeout', path: c.path });
    expect(holderEntry(lines[2].err, c.holder.pid)?.command).toBe('flock');
    // Holders learnt from the wait's records answer the later EBUSY without a probe.
    expect(lines[3].err.holdersStatus).toBe('cached');
    expect(holderEntry(lines[3].err, c.holder.pid)?.command).toBe('flock');
  });

  it('logs the idle record of a real waitIdle() at info, through the format', async () => {
    const { logger, lines } = jsonLogger(lockscopeFormat());
    const detach = attachWinston(logger);
    let idle;
    try {
      idle = await produceIdle();
    } finally {
      detach();
    }
    expect(lines.map((l) => [l.level, l.lock.event])).toEqual([['info', 'idle']]);
    assertValidRecord(lines[0]!.lock);
    expect(lines[0]!.lock.idle!.writers.map((w: { pid: number }) => w.pid)).toContain(idle.writerPid);
    expect(lines[0]!.message).toContain(`${idle.path} idle after waiting`);
  });

  it('debug records only when debug is on; syslog levels; detach; bad input', async () => {
    const { logger, lines } = jsonLogger(lockscopeFormat(), { level: 'debug', levels: winston.config.syslog.levels });
    const detach = attachWinston(logger);
    await produceContention({ outcome: 'acquired', thresholdMs: 50, holdMs: 150 });
    detach();
    expect(lines.map((l) => [l.level, l.lock.event])).toEqual([
      ['warning', 'contended'],
      ['debug', 'acquired'],
      ['debug', 'released'],
    ]);
    await produceContention({ outcome: 'acquired', thresholdMs: 50, holdMs: 100 });
    expect(lines).toHaveLength(3);

    for (const bad of [
      () => attachWinston(null as never),
      () => attachWinston(logger, { levels: { contended: 'loud' } }),
      () => attachWinston(logger, { key: 'message' }),
      () => lockscopeFormat({ depth: -1 }),
      () => lockscopeFormat({ holders: { ttlMs: 0 } }),
      () => lockscopeFormat({ holders: { resolve: 42 as never } }),
    ]) {
      expect(bad).toThrow(LockError);
    }
  });
});

function holderOf(pid: number, _path?: string): RecordHolder {
  const command = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  return {
    pid,
    startTime: null,
    command,
    argv: null,
    uid: null,
    user: null,
    lockKind: 'flock',
    lockMode: 'exclusive',
    role: 'holder',
    fd: null,
    range: null,
  };
}
