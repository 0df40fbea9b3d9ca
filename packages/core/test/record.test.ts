import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { buildRecord, LockError, recordError, RECORD_SCHEMA_VERSION } from '@lockscope/core';
import { terminalEventFor } from '@lockscope/core/record';
import { assertValidRecord, isValidRecord, schemaPath } from './diag-support.js';
import { holderRecord } from '../../../test-support/records.js';

describe('record schema v1', () => {
  it('is shipped in the package export map and versioned', () => {
    expect(schemaPath).toMatch(/packages\/core\/schema\/record\.v1\.schema\.json$/);
    const s = JSON.parse(readFileSync(schemaPath, 'utf8'));
    expect(s.properties.schemaVersion.const).toBe(RECORD_SCHEMA_VERSION);
  });

  it('builders make valid records for every event', () => {
    const base = { path: '/tmp/x.lock', dev: 65024, ino: 42, kind: 'flock', mode: 'exclusive' } as const;
    assertValidRecord(buildRecord('acquired', { ...base, waitId: 1, waitedMs: 0.5 }));
    assertValidRecord(buildRecord('released', { ...base, holdId: 3, heldMs: 12.3456 }));
    const err = new LockError({
      code: 'ETIMEDOUT',
      errno: 110,
      syscall: 'flock',
      path: '/tmp/x.lock',
      kind: 'flock',
      reason: 'timeout',
      message: 'timed out',
    });
    const r = buildRecord('timeout', {
      ...base,
      waitId: 2,
      waitedMs: 1000,
      error: recordError(err),
      holdersComplete: true,
      holders: [
        holderRecord({
          pid: 77,
          startTime: 1.7e12,
          command: 'python3',
          argv: ['python3', '--token', '[redacted]'],
          card: { label: 'x', acquiredAt: 1, stack: 'at f (/a.js:1:1)' },
        }),
      ],
    });
    assertValidRecord(r);
    expect(r.error).toEqual({ code: 'ETIMEDOUT', errno: 110, syscall: 'flock', reason: 'timeout', message: 'timed out' });
    expect(r.pid).toBe(process.pid);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('records say which host, boot and process they come from (optional fields: older records stay valid)', () => {
    const r = buildRecord('acquired', { path: '/a', waitId: 1, waitedMs: 1 });
    expect(r.host).toBe(hostname());
    if (process.platform === 'linux') {
      const stat = readFileSync('/proc/self/stat', 'latin1');
      expect(r.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim());
      // Same clock as the probe's holders[].startTime: boot time + start ticks at 100 Hz.
      const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))![1]) * 1000;
      const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      expect(r.startTime).toBe(btime + Math.round((ticks * 1000) / 100));
    }
    const { host: _h, bootId: _b, startTime: _s, ...older } = r;
    expect(isValidRecord(older)).toBe(true);
    expect(isValidRecord({ ...r, host: 5 })).toBe(false);
  });

  it('rejects records that break the contract', () => {
    const ok = buildRecord('acquired', { path: '/a', waitId: 1, waitedMs: 1 });
    expect(isValidRecord(ok)).toBe(true);
    expect(isValidRecord({ ...ok, schemaVersion: 2 })).toBe(false);
    expect(isValidRecord({ ...ok, event: 'granted' })).toBe(false);
    expect(isValidRecord({ ...ok, extra: 1 })).toBe(false);
    expect(isValidRecord({ ...ok, time: 'yesterday' })).toBe(false);
    expect(isValidRecord({ ...ok, event: 'timeout', error: null })).toBe(false); // terminal failures carry the errno
    expect(isValidRecord({ ...ok, error: recordError(new Error('x')) })).toBe(false); // acquired has no error
    expect(isValidRecord({ ...ok, event: 'contended', snapshot: null })).toBe(false);
    expect(isValidRecord({ ...ok, holders: [{ pid: 1 }] })).toBe(false);
  });

  it('contended: the refusal (reason contended) in error, or null as records written before it had', () => {
    const snapshot = {
      stack: null,
      activeResources: {},
      inProcess: [],
      eventLoopDelay: null,
      memory: { rss: 1, heapUsed: 1, heapTotal: 1, external: 0 },
      costMs: 0,
    };
    const base = { path: '/a', kind: 'flock', mode: 'exclusive', waitId: 1, waitedMs: 500, snapshot } as const;
    const refused = {
      code: 'EWOULDBLOCK',
      errno: 11,
      syscall: 'flock',
      reason: 'contended',
      message: "EWOULDBLOCK: another holder has a conflicting lock, flock '/a'",
    };
    assertValidRecord(buildRecord('contended', { ...base, error: refused }));
    assertValidRecord(buildRecord('contended', base)); // schema v1 before the field was filled
    expect(isValidRecord(buildRecord('contended', { ...base, error: { ...refused, reason: 'timeout' } }))).toBe(false);
    expect(isValidRecord(buildRecord('acquired', { ...base, error: refused }))).toBe(false);
  });

  it('recordError maps LockErrors, Node system errors and anything else', () => {
    const sys = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', errno: -2, syscall: 'open' });
    expect(recordError(sys)).toEqual({ code: 'ENOENT', errno: 2, syscall: 'open', reason: 'io', message: 'ENOENT: no such file' });
    expect(recordError('boom')).toEqual({ code: 'ERR_UNKNOWN', errno: 0, syscall: '', reason: 'io', message: 'boom' });
    expect(terminalEventFor({ reason: 'timeout' })).toBe('timeout');
    expect(terminalEventFor({ code: 'ABORT_ERR' })).toBe('aborted');
    expect(terminalEventFor(new Error('x'))).toBe('error');
  });
});
