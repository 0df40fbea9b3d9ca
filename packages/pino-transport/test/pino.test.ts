import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { LockError } from '@lockscope/core';
import lockscopeTransport, { attachPino, endTransport } from '@lockscope/pino-transport';
import { assertValidRecord } from '../../../test-support/records.js';
import {
  CONTENDED_BY_FLOCK,
  holderEntry,
  produceContention,
  produceIdle,
  schemaErrors,
  tempDir,
} from '../../../test-support/contention.js';

const readLines = (file: string): any[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l): unknown => JSON.parse(l))
    : [];

const flush = (logger: pino.Logger): Promise<void> =>
  new Promise((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));

describe('pino adapter, real cross-process contention (flock(1) holder, core lock())', () => {
  it('writes the forensic file through a real transport worker, among targets, at warn/error only', async () => {
    const dir = tempDir();
    const forensic = join(dir, 'locks.ndjson');
    const all = join(dir, 'all.log');
    const transport = pino.transport({
      targets: [
        { target: '@lockscope/pino-transport', options: { file: forensic }, level: 'trace' },
        { target: 'pino/file', options: { destination: all }, level: 'trace' },
      ],
    });
    const logger = pino({ level: 'info' }, transport);
    const detach = attachPino(logger);
    try {
      const c = await produceContention({ outcome: 'timeout', thresholdMs: 80, timeoutMs: 300 });
      expect(c.error).toBeInstanceOf(LockError);
      logger.info({ user: 'x' }, 'an unrelated line');
      detach();
      await endTransport(transport); // with targets, flush() can call back before the lines are in the files

      const records = readLines(forensic);
      // acquired/released are debug: disabled at info, so exactly the contended and timeout records.
      expect(records.map((r) => r.event)).toEqual(['contended', 'timeout']);
      for (const r of records) {
        assertValidRecord(r);
        expect(r.path).toBe(c.path);
        expect(r.pid).toBe(process.pid);
        expect(holderEntry(r, c.holder.pid)).toMatchObject({
          command: 'flock',
          argv: c.holder.argv,
          lockKind: 'flock',
          lockMode: 'exclusive',
        });
      }
      // contended: the errno the lock attempt met; timeout: its own.
      expect(records[0]!.error).toMatchObject({ ...CONTENDED_BY_FLOCK, message: expect.stringContaining(c.path) });
      expect(records[1]!.error).toMatchObject({ code: 'ETIMEDOUT', errno: 110, reason: 'timeout' });
      expect(records[1]!.waitedMs).toBeGreaterThanOrEqual(250);
      expect((c.error as LockError).holders?.map((h) => (h as { pid: number }).pid)).toContain(c.holder.pid);
      expect(records[0]!.waitId).toBe(records[1]!.waitId);

      // The other target got the human lines with the lockscope binding and the right levels.
      const lines = readLines(all);
      const ours = lines.filter((l) => l.lockscope === 1);
      expect(ours.map((l) => [l.level, (l.lock as { event: string }).event])).toEqual([
        [40, 'contended'],
        [50, 'timeout'],
      ]);
      expect(String(ours[0]!.msg)).toContain(`held by pid ${c.holder.pid} (flock -x ${c.path} sleep 600) (EWOULDBLOCK from flock)`);
      expect((ours[0]!.lock as { error: unknown }).error).toMatchObject(CONTENDED_BY_FLOCK);
      expect(lines.some((l) => l.msg === 'an unrelated line')).toBe(true);
    } finally {
      detach();
      transport.end();
    }
  });

  it('alone as target: debug records, passThrough keeps other lines, fsync-ed 0600 file', async () => {
    const dir = tempDir();
    const forensic = join(dir, 'sub', 'locks.ndjson');
    const transport = pino.transport({ target: '@lockscope/pino-transport', options: { file: forensic, passThrough: true } });
    const logger = pino({ level: 'debug' }, transport);
    const detach = attachPino(logger);
    try {
      const c = await produceContention({ outcome: 'acquired', thresholdMs: 60, holdMs: 250 });
      expect(c.outcome).toBe('acquired');
      logger.info('after');
      await flush(logger);
      const lines = readLines(forensic);
      const records = lines.filter((l) => l.schemaVersion === 1);
      expect(records.map((r) => r.event)).toEqual(['contended', 'acquired', 'released']);
      records.forEach((r) => assertValidRecord(r));
      expect(records[2]!.heldMs).toBeGreaterThan(0);
      expect(holderEntry(records[0], c.holder.pid)?.command).toBe('flock');
      // contended, acquired and released of one call share its waitId; acquired and released its holdId.
      expect(new Set(records.map((r) => r.waitId)).size).toBe(1);
      expect(records[1]!.holdId).toBe(records[2]!.holdId);
      expect(lines.at(-1)).toMatchObject({ msg: 'after', level: 30 });
      expect(statSync(forensic).mode & 0o777).toBe(0o600);
    } finally {
      detach();
      transport.end();
    }
  });

  it('nothing is lost on normal exit, or on flush() followed by process.exit() (1,000 real records)', () => {
    const dir = tempDir();
    const script = join(import.meta.dirname, 'fixtures', 'exit-child.mjs');
    const lockFile = join(dir, 'pairs.lock');
    for (const how of ['natural', 'flush-exit']) {
      const file = join(dir, `${how}.ndjson`);
      const r = spawnSync(process.execPath, [script, file, lockFile, how], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const records = readLines(file);
      expect(records).toHaveLength(1000);
      expect(records[998]).toMatchObject({ event: 'acquired', path: lockFile, label: 'pair-499' });
      expect(records[999]).toMatchObject({ event: 'released', path: lockFile, label: 'pair-499' });
      assertValidRecord(records[999]);
    }
  });

  it("pino's option name: destination as a path, or a file descriptor (1: stdout), through the real worker", async () => {
    const dir = tempDir();
    const forensic = join(dir, 'dest', 'locks.ndjson');
    const transport = pino.transport({ target: '@lockscope/pino-transport', options: { destination: forensic } });
    const logger = pino({ level: 'info' }, transport);
    const detach = attachPino(logger);
    try {
      const c = await produceContention({ outcome: 'timeout', thresholdMs: 60, timeoutMs: 250 });
      await flush(logger);
      expect(readLines(forensic).map((r) => [r.event, r.path])).toEqual([
        ['contended', c.path],
        ['timeout', c.path],
      ]);
    } finally {
      detach();
      transport.end();
    }
    // A descriptor: the records on the child's stdout, and nothing else there.
    const script = join(import.meta.dirname, 'fixtures', 'exit-child.mjs');
    const r = spawnSync(process.execPath, [script, '-', join(dir, 'fd.lock'), 'natural'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l): unknown => JSON.parse(l));
    expect(out).toHaveLength(1000);
    assertValidRecord(out[999]);
  });

  it('a wrong option fails with a typed error naming the options the transport understands', async () => {
    const understood = ['destination', 'file', 'passThrough', 'key', 'mkdir', 'mode'];
    const dir = tempDir();
    for (const bad of [
      { destintion: join(dir, 'x') }, // pino/file's name, misspelt
      {},
      { destination: join(dir, 'a'), file: join(dir, 'b') },
      { destination: -1 },
      { destination: '' },
      { file: join(dir, 'x'), passThrough: 'yes' },
    ]) {
      const e = await lockscopeTransport(bad as never).then(
        () => null,
        (x: unknown) => x as LockError,
      );
      expect(e).toBeInstanceOf(LockError);
      expect(e).toMatchObject({ code: 'EINVAL', reason: 'invalid-argument' });
      for (const o of understood) expect(e!.message).toContain(o);
    }
    // Through pino's worker: the transport stream errors with the same message.
    const transport = pino.transport({ target: '@lockscope/pino-transport', options: { destintion: join(dir, 'y') } });
    const err = await new Promise<Error>((res) => transport.once('error', res));
    expect(err.message).toContain("unknown option 'destintion'");
    for (const o of understood) expect(err.message).toContain(o);
  });

  it("a pino redact: the censored fields hold pino's censor, the rest of the record stands; a censored record is dropped", async () => {
    const dir = tempDir();
    const forensic = join(dir, 'redacted.ndjson');
    const whole = join(dir, 'whole.ndjson');
    const run = async (file: string, redact: pino.LoggerOptions['redact']) => {
      const transport = pino.transport({ target: '@lockscope/pino-transport', options: { destination: file } });
      const logger = pino({ level: 'info', redact }, transport);
      const detach = attachPino(logger);
      try {
        const c = await produceContention({ outcome: 'timeout', thresholdMs: 60, timeoutMs: 250 });
        await flush(logger);
        return c;
      } finally {
        detach();
        transport.end();
      }
    };
    const c = await run(forensic, ['lock.holders[*].argv', 'lock.path']);
    const records = readLines(forensic);
    expect(records.map((r) => r.event)).toEqual(['contended', 'timeout']);
    for (const r of records) {
      const h = holderEntry(r as never, c.holder.pid)!;
      expect(h.argv as unknown).toBe('[Redacted]');
      expect(h.command).toBe('flock');
      expect(r.path).toBe('[Redacted]');
      // The string censor is valid for a free-text string (path), not for an array (argv): the
      // record breaks the schema exactly there.
      const bad = schemaErrors(r);
      expect(bad.length).toBeGreaterThan(0);
      for (const p of bad) expect(p).toMatch(/^\/holders\/\d+\/argv$/);
    }
    // remove: true deletes the key: the holder lacks a required property.
    const c2 = await run(whole, { paths: ['lock.holders[*].argv'], remove: true });
    for (const r of readLines(whole)) {
      expect(holderEntry(r as never, c2.holder.pid)).not.toHaveProperty('argv');
      for (const p of schemaErrors(r)) expect(p).toMatch(/^\/holders\/\d+$/);
    }
    // The whole record censored: no record left, nothing written (passThrough off).
    const none = join(dir, 'none.ndjson');
    await run(none, ['lock']);
    expect(readLines(none)).toEqual([]);
  });

  it('a disabled level costs one level check and nothing is built for it; the child follows later level changes', async () => {
    let writes = 0;
    const dest = new Writable({
      write(_c, _e, cb) {
        writes++;
        cb();
      },
    });
    const logger = pino({ level: 'info' }, dest);
    const checks: string[] = [];
    const isLevelEnabled = logger.isLevelEnabled.bind(logger);
    logger.isLevelEnabled = (l: string) => {
      checks.push(l);
      return isLevelEnabled(l);
    };
    const detach = attachPino(logger);
    try {
      await produceContention({ outcome: 'acquired', thresholdMs: 50, holdMs: 150 });
      // contended logged (warn); acquired and released (debug): asked once each before core
      // builds them, then neither built nor logged.
      expect(checks.filter((l) => l === 'debug')).toEqual(['debug', 'debug']);
      expect(writes).toBe(1);
      logger.level = 'debug';
      await produceContention({ outcome: 'acquired', thresholdMs: 50, holdMs: 150 });
      expect(writes).toBe(4);
    } finally {
      detach();
    }
    const before = writes;
    await produceContention({ outcome: 'acquired', thresholdMs: 50, holdMs: 100 });
    expect(writes).toBe(before);
  });

  it('logs the idle record of a real waitIdle() at info, under the record key, with the writer', async () => {
    const lines: Record<string, any>[] = [];
    const dest = new Writable({
      write(c, _e, cb) {
        lines.push(JSON.parse(String(c)));
        cb();
      },
    });
    const logger = pino({ level: 'info' }, dest);
    const detach = attachPino(logger);
    let idle;
    try {
      idle = await produceIdle();
    } finally {
      detach();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe(30);
    expect(lines[0]!.lockscope).toBe(1);
    assertValidRecord(lines[0]!.lock);
    expect(lines[0]!.lock).toMatchObject({ event: 'idle', path: idle.path, idle: { quietMs: 100, follow: 'path' } });
    expect(lines[0]!.lock.holders.map((h: { pid: number }) => h.pid)).toContain(idle.writerPid);
    expect(lines[0]!.msg).toContain(`written by pid ${idle.writerPid}`);
  });

  it('rejects bad input with a typed error', () => {
    const logger = pino({ level: 'silent' });
    for (const bad of [
      () => attachPino(null as never),
      () => attachPino({} as never),
      () => attachPino(logger, { levels: { contended: 'loud' } }),
      () => attachPino(logger, { levels: { nope: 'warn' } as never }),
      () => attachPino(logger, { key: '' }),
    ]) {
      expect(bad).toThrow(LockError);
      try {
        bad();
      } catch (e) {
        expect(e).toMatchObject({ code: 'EINVAL', reason: 'invalid-argument', syscall: 'attachPino' });
      }
    }
  });

  it('endTransport(): with targets, every line is in every target file when it resolves (logger.flush is not enough)', async () => {
    const dir = tempDir();
    const files = [join(dir, 'a.log'), join(dir, 'b.log')];
    const transport = pino.transport({
      targets: [
        { target: 'pino/file', options: { destination: files[0] }, level: 'debug' },
        { target: '@lockscope/pino-transport', options: { file: files[1], passThrough: true }, level: 'debug' },
      ],
    });
    const logger = pino({ level: 'debug' }, transport);
    for (let i = 0; i < 1000; i++) logger.debug({ i }, 'line');
    await endTransport(transport);
    for (const f of files) expect(readLines(f).map((l) => l.i)).toEqual([...Array(1000).keys()]);
    await endTransport(transport); // already closed: resolves at once
    await expect(endTransport({} as never)).rejects.toMatchObject({ code: 'EINVAL', reason: 'invalid-argument', syscall: 'endTransport' });
  });
});
