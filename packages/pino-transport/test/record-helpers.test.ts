// Core's shared record helpers (@lockscope/core/record: subscribeRecords, describeRecord,
// resolveRecordLevels) that all three adapters use, exercised with real locks.
import diagnosticsChannel from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANNELS, LockError, lock, probe, tryLock } from '@lockscope/core';
import {
  DEFAULT_RECORD_LEVELS,
  buildRecord,
  describeRecord,
  resolveRecordLevels,
  subscribeRecords,
  type LockscopeRecord,
} from '@lockscope/core/record';
import { holderRecord } from '../../../test-support/records.js';
import { assertValidRecord, produceIdle, startFlockHolder, tempDir } from '../../../test-support/contention.js';

function file(): string {
  const f = join(tempDir(), 'helpers.lock');
  writeFileSync(f, '');
  return f;
}

describe('subscribeRecords', () => {
  it('with wants: asked before each record is built, only wanted records delivered, tracking intact, no acquire tracing', async () => {
    const f = file();
    const seen: LockscopeRecord[] = [];
    const asked: string[] = [];
    let wantReleased = false;
    const off = subscribeRecords((r) => seen.push(r), {
      wants: (e) => {
        asked.push(e);
        return e === 'released' && wantReleased;
      },
    });
    try {
      // No channel subscription: lock calls make no acquire tracing context.
      expect(diagnosticsChannel.tracingChannel(CHANNELS.acquire).hasSubscribers).toBe(false);
      tryLock(f)!.releaseSync();
      await (await lock(f)).release();
      // Nothing wanted: asked once per record, none built or delivered.
      expect(asked).toEqual(['acquired', 'released', 'acquired', 'released']);
      expect(seen).toEqual([]);
      // A change of mind applies to the next record (a logger's level raised at run time).
      wantReleased = true;
      tryLock(f, { label: 'after' })!.releaseSync();
      expect(seen.map((r) => [r.event, r.label, r.dev !== null])).toEqual([['released', 'after', true]]);
      expect(() => subscribeRecords(() => {}, { wants: 42 as never })).toThrow(LockError);
    } finally {
      off();
    }
    // Unsubscribed: nothing asked any more.
    const n = asked.length;
    tryLock(f)!.releaseSync();
    expect(asked.length).toBe(n);
  });

  it('delivers the terminal record of lock() and tryLock(), released, and probe records on request', async () => {
    const f = file();
    const seen: LockscopeRecord[] = [];
    const off = subscribeRecords((r) => seen.push(r), { probe: true });
    try {
      const h = await lock(f, { label: 'a' });
      await h.release();
      const t = tryLock(f, { mode: 'shared' })!;
      t.releaseSync();
      await probe(f);
    } finally {
      off();
      off(); // idempotent
    }
    expect(seen.map((r) => [r.event, r.mode])).toEqual([
      ['acquired', 'exclusive'],
      ['released', 'exclusive'],
      ['acquired', 'shared'],
      ['released', 'shared'],
      ['probe', null],
    ]);
    seen.forEach((r) => assertValidRecord(r));
    expect(seen[0]!.label).toBe('a');
    const h = await lock(f);
    await h.release();
    expect(seen).toHaveLength(5); // nothing after unsubscribe
  });

  it('delivers the idle record of waitIdle(), valid against the schema, with a readable line', async () => {
    const seen: LockscopeRecord[] = [];
    const off = subscribeRecords((r) => seen.push(r));
    let idle;
    try {
      idle = await produceIdle();
    } finally {
      off();
    }
    expect(seen.map((r) => r.event)).toEqual(['idle']);
    const r = seen[0]!;
    assertValidRecord(r);
    expect(r).toMatchObject({ path: idle.path, ino: idle.result.ino, holdersComplete: idle.result.complete });
    expect(r.holders.map((h) => h.pid)).toContain(idle.writerPid);
    expect(r.idle!.writers.find((w) => w.pid === idle.writerPid)).toMatchObject({ access: 'w' });
    expect(describeRecord(r)).toMatch(
      new RegExp(`^${idle.path} idle after waiting \\d+ ms; written by pid ${idle.writerPid} \\(sh -c .*\\) for \\d+ ms$`),
    );
  });

  it('a tryLock that finds a foreign holder yields no record (not a wait, not an error)', async () => {
    const f = file();
    const holder = await startFlockHolder(f);
    const seen: LockscopeRecord[] = [];
    const off = subscribeRecords((r) => seen.push(r));
    try {
      expect(tryLock(f)).toBeNull();
    } finally {
      off();
      await holder.stop();
    }
    expect(seen).toEqual([]);
  });

  it('a throwing subscriber cannot break the lock call: one warning, no uncaught exception', async () => {
    const f = file();
    const warnings: Error[] = [];
    const uncaught: unknown[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('warning', onWarning);
    process.on('uncaughtException', onUncaught);
    const off = subscribeRecords(() => {
      throw new Error('logger bug');
    });
    try {
      for (let i = 0; i < 3; i++) {
        const h = await lock(f);
        await h.release();
      }
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      off();
      process.off('warning', onWarning);
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
    const ours = warnings.filter((w) => (w as { code?: string }).code === 'LOCKSCOPE_SUBSCRIBER_ERROR');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.message).toContain('logger bug');
  });

  it('rejects bad input with a typed error', () => {
    for (const bad of [
      () => subscribeRecords(null as never),
      () => subscribeRecords(() => {}, null as never),
      () => subscribeRecords(() => {}, { onError: 1 as never }),
    ]) {
      expect(bad).toThrow(LockError);
    }
  });
});

describe('resolveRecordLevels', () => {
  const npm = ['error', 'warn', 'info', 'debug'];
  const syslog = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'];
  it('defaults, overrides, silent, aliases, and levels a logger lacks', () => {
    expect(resolveRecordLevels(undefined, { caller: 't', isLevel: (l) => npm.includes(l) })).toEqual(DEFAULT_RECORD_LEVELS);
    const r = resolveRecordLevels({ acquired: 'info', released: 'silent' }, { caller: 't', isLevel: (l) => npm.includes(l) });
    expect(r.acquired).toBe('info');
    expect('released' in r).toBe(false);
    const s = resolveRecordLevels({}, { caller: 't', isLevel: (l) => syslog.includes(l), aliases: { warn: 'warning' } });
    expect(s.contended).toBe('warning');
    const onlyError = resolveRecordLevels({}, { caller: 't', isLevel: (l) => l === 'error' });
    expect(Object.keys(onlyError).sort()).toEqual(['aborted', 'error', 'timeout']);
  });
  it('unknown events and levels are typed errors naming the caller', () => {
    const o = { caller: 'attachX', isLevel: (l: string) => npm.includes(l) };
    expect(() => resolveRecordLevels({ nope: 'warn' }, o)).toThrow(/unknown event 'nope'.*attachX/);
    expect(() => resolveRecordLevels({ contended: 'loud' }, o)).toThrow(LockError);
    expect(() => resolveRecordLevels('warn', o)).toThrow(LockError);
  });
});

describe('describeRecord', () => {
  const base = { path: '/srv/x.lock', kind: 'flock', mode: 'exclusive' } as const;
  const holder = holderRecord();
  it('one readable line per event, holders first, openers only without a holder', () => {
    expect(describeRecord(buildRecord('contended', { ...base, waitedMs: 512.4, holders: [holder] }))).toBe(
      'waiting 512 ms for exclusive flock lock on /srv/x.lock; held by pid 4242 (flock -x /srv/x.lock sleep 600)',
    );
    const refused = { code: 'EWOULDBLOCK', errno: 11, syscall: 'flock', reason: 'contended', message: 'x' };
    expect(describeRecord(buildRecord('contended', { ...base, waitedMs: 512.4, holders: [holder], error: refused }))).toBe(
      'waiting 512 ms for exclusive flock lock on /srv/x.lock; held by pid 4242 (flock -x /srv/x.lock sleep 600) (EWOULDBLOCK from flock)',
    );
    expect(
      describeRecord(
        buildRecord('timeout', {
          ...base,
          waitedMs: 1000,
          holders: [holder],
          error: { code: 'ETIMEDOUT', errno: 110, syscall: 'lock', reason: 'timeout', message: 'x' },
        }),
      ),
    ).toBe(
      'gave up after 1000 ms waiting for exclusive flock lock on /srv/x.lock; ' +
        'held by pid 4242 (flock -x /srv/x.lock sleep 600) (ETIMEDOUT)',
    );
    expect(describeRecord(buildRecord('acquired', { ...base, waitedMs: 0.0123 }))).toBe(
      'acquired exclusive flock lock on /srv/x.lock after 0.01 ms',
    );
    expect(describeRecord(buildRecord('released', { ...base, heldMs: 20 }))).toBe(
      'released exclusive flock lock on /srv/x.lock after holding it 20 ms',
    );
    const opener = holderRecord({ pid: 7, role: 'opener', command: 'vim', argv: null });
    expect(describeRecord(buildRecord('error', { path: '/a', holders: [opener] }))).toBe(
      'failed to lock /a: unknown error; open by pid 7 (vim)',
    );
    const card = { ...holder, card: { label: 'nightly', acquiredAt: Date.parse('2026-01-01T00:00:00.000Z'), stack: null } };
    expect(
      describeRecord(buildRecord('contended', { ...base, time: Date.parse('2026-01-01T00:00:02.000Z'), waitedMs: 600, holders: [card] })),
    ).toContain('held by pid 4242 (flock -x /srv/x.lock sleep 600) "nightly", holding it 2000 ms');
  });
});
