/**
 * `lockscope report` on inputs built from real records (buildRecord), run as the bin: identity
 * across hosts/boots/pid reuse, bad and truncated inputs, filters, the bounded timeline.
 * The end-to-end test with real contending processes and Chromium is examples/test/report.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRecord, type LockscopeRecord, type RecordHolder } from '../dist/index.js';
import { holderRecord } from '../../../test-support/records.js';

const bin = join(dirname(createRequire(import.meta.url).resolve('@lockscope/core/package.json')), 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'lockscope-report-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const report = (args: string[], input = '') =>
  spawnSync(process.execPath, [bin, 'report', ...args], { encoding: 'utf8', input, maxBuffer: 64 << 20 });
const json = (args: string[], input = '') => {
  const r = report([...args, '--json'], input);
  expect(r.stderr).toBe('');
  return { status: r.status, j: JSON.parse(r.stdout) };
};

let n = 0;
function file(lines: string[] | string, name = `in-${++n}.ndjson`): string {
  const f = join(dir, name);
  writeFileSync(f, Array.isArray(lines) ? `${lines.join('\n')}\n` : lines);
  return f;
}

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
type Who = { pid: number; host?: string | null; bootId?: string | null; startTime?: number | null };
const A: Who = { pid: 4242, host: 'alpha', bootId: 'boot-1', startTime: T0 - 60_000 };

/** A real record (buildRecord) as another process on another host would have written it. */
function rec(event: LockscopeRecord['event'], who: Who, at: number, extra: Partial<LockscopeRecord> = {}): LockscopeRecord {
  const r = buildRecord(event, { path: '/srv/a.lock', time: at, kind: 'flock', mode: 'exclusive', dev: 2049, ino: 77 });
  const out: Record<string, unknown> = { ...r, pid: who.pid, host: who.host, bootId: who.bootId, startTime: who.startTime, ...extra };
  for (const k of ['host', 'bootId', 'startTime'] as const) if (who[k] === undefined) delete out[k]; // an older record
  return out as unknown as LockscopeRecord;
}
const hold = (who: Who, id: number, from: number, ms: number, extra: Partial<LockscopeRecord> = {}) => [
  JSON.stringify(rec('acquired', who, from, { waitId: id, holdId: id, waitedMs: 0.1, ...extra })),
  JSON.stringify(rec('released', who, from + ms, { holdId: id, heldMs: ms, ...extra })),
];
const holderOf = (pid: number, startTime: number | null, extra: Partial<RecordHolder> = {}) =>
  holderRecord({ pid, startTime, argv: ['flock', '-x', '/srv/a.lock', 'sleep', '600'], ...extra });
const wait = (who: Who, id: number, from: number, ms: number, holders: object[], outcome: 'acquired' | 'timeout' = 'acquired') => [
  JSON.stringify(rec('contended', who, from + 100, { waitId: id, waitedMs: 100, holders: holders as never, holdersComplete: true })),
  JSON.stringify(
    rec(outcome, who, from + ms, {
      waitId: id,
      holdId: outcome === 'acquired' ? id : null,
      waitedMs: ms,
      holders: holders as never,
      error: outcome === 'timeout' ? { code: 'ETIMEDOUT', errno: 110, syscall: 'flock', reason: 'timeout', message: 'timed out' } : null,
    }),
  ),
];

describe('lockscope report: one story from many processes and hosts', () => {
  it('pid 4242 on host alpha, on host beta, after a reboot and after pid reuse are four processes', () => {
    const f = file([
      ...hold(A, 1, T0, 50),
      ...hold({ ...A, host: 'beta' }, 1, T0 + 10, 50),
      ...hold({ ...A, bootId: 'boot-2', startTime: T0 + 1000 }, 1, T0 + 2000, 50),
      ...hold({ ...A, startTime: T0 - 30_000 }, 1, T0 + 3000, 50),
      ...hold(A, 2, T0 + 4000, 70), // the first process again
    ]);
    const { j } = json([f]);
    expect(j.records).toBe(10);
    const ps = j.processes.filter((p: { pid: number }) => p.pid === 4242);
    expect(ps).toHaveLength(4);
    expect(
      ps.find(
        (p: { host: string; bootId: string; startTime: number }) =>
          p.host === 'alpha' && p.bootId === 'boot-1' && p.startTime === A.startTime,
      ),
    ).toMatchObject({ holds: 2, heldMs: 120 });
  });

  it('records without host/boot id (older writers) from two files stay two processes; pino hostname names the host', () => {
    const old = { pid: 7 };
    const a = file(hold(old, 1, T0, 10));
    const b = file(hold(old, 1, T0 + 5, 10));
    const pino = file(
      hold(old, 1, T0 + 9, 10).map((l) =>
        JSON.stringify({ level: 20, time: T0, pid: 7, hostname: 'gamma', lockscope: 1, lock: JSON.parse(l), msg: 'x' }),
      ),
    );
    const { j } = json([a, b, pino]);
    const ps = j.processes.filter((p: { pid: number }) => p.pid === 7);
    expect(ps).toHaveLength(3);
    expect(ps.map((p: { host: string | null }) => p.host).sort()).toEqual(['gamma', null, null]);
  });

  it('a wait links to the holder the waiter saw; a holder without lockscope is "held by pid X from at least T1 to T2"', () => {
    const W: Who = { pid: 500, host: 'alpha', bootId: 'boot-1', startTime: T0 - 5000 };
    const H: Who = { pid: 600, host: 'alpha', bootId: 'boot-1', startTime: T0 - 9000 };
    const card = { label: 'nightly-export', acquiredAt: T0 - 20, stack: 'Error\n    at exportNightly (/srv/app/export.js:12:3)' };
    const f = file([
      ...hold(H, 1, T0 - 20, 900, { label: 'nightly-export' }),
      ...wait(W, 1, T0, 880, [holderOf(600, H.startTime!, { command: 'node', argv: ['node', 'export.js'], card })]),
      ...wait(W, 2, T0 + 2000, 500, [holderOf(999, T0 - 1)], 'timeout'),
    ]);
    const { j } = json([f]);
    const p = j.paths[0];
    expect(p).toMatchObject({ path: '/srv/a.lock', dev: 2049, ino: 77, waits: 2, timeouts: 1, maxWaitMs: 880, totalWaitMs: 1380 });
    expect(p.holders).toEqual([
      expect.objectContaining({ host: 'alpha', pid: 600, command: 'node export.js', label: 'nightly-export', lockscope: true }),
      expect.objectContaining({ host: 'alpha', pid: 999, command: 'flock -x /srv/a.lock sleep 600', label: null, lockscope: false }),
    ]);
    expect(j.outsideHolds).toEqual([
      expect.objectContaining({ pid: 999, from: new Date(T0 + 2100).toISOString(), to: new Date(T0 + 2500).toISOString() }),
    ]);
    const text = report([f]).stdout;
    expect(text).toContain(
      `held by pid 999@alpha (flock -x /srv/a.lock sleep 600) ` +
        `from at least ${new Date(T0 + 2100).toISOString()} to ${new Date(T0 + 2500).toISOString()}`,
    );
    expect(text).toContain('at exportNightly (/srv/app/export.js:12:3)'); // where the longest holder took it
  });

  it('leaked and held-too-long holds are listed; a hold never released stays open to the end of the logs', () => {
    const f = file([
      JSON.stringify(rec('acquired', A, T0, { waitId: 1, holdId: 1, waitedMs: 0 })),
      JSON.stringify(rec('held-too-long', A, T0 + 10_000, { holdId: 1, heldMs: 10_000 })),
      JSON.stringify(rec('leaked', A, T0 + 12_000, { holdId: 1, heldMs: 12_000 })),
      JSON.stringify(rec('acquired', A, T0 + 13_000, { waitId: 2, holdId: 2, waitedMs: 0 })),
      JSON.stringify(rec('acquired', { ...A, pid: 1 }, T0 + 20_000, { waitId: 1, holdId: 1, waitedMs: 0 })),
    ]);
    const { j } = json([f]);
    expect(j.concerns.map((c: { kind: string }) => c.kind)).toEqual(['held-too-long', 'leaked']);
    const a = j.processes.find((p: { pid: number }) => p.pid === 4242);
    expect(a).toMatchObject({ holds: 2, heldMs: 12_000 + 7000 });
  });
});

describe('lockscope report: bad input is skipped and counted, never a crash', () => {
  const good = hold(A, 1, T0, 10);

  it('not JSON, not lockscope, unknown schema version, invalid record, truncated last line', () => {
    const f = file(
      [
        'Dec  1 10:00:00 host kernel: not JSON at all',
        '{"level":30,"msg":"a pino line about something else","hostname":"alpha"}',
        '',
        JSON.stringify({ ...JSON.parse(good[0]!), schemaVersion: 2 }),
        JSON.stringify({ level: 30, lockscope: 2, lock: { ...JSON.parse(good[0]!), schemaVersion: 2 } }),
        JSON.stringify({ ...JSON.parse(good[0]!), pid: 'x' }),
        JSON.stringify({ ...JSON.parse(good[0]!), time: 'yesterday' }),
        '{"schemaVersion":1,"event":"acq',
        ...good,
        good[0]!.slice(0, 40),
      ].join('\n'),
    );
    const { status, j } = json([f]);
    expect(status).toBe(0);
    expect(j.records).toBe(2);
    expect(j.skippedBy).toEqual({ 'not-json': 3, 'not-lockscope': 2, 'unknown-version': 2, invalid: 2, oversized: 0 });
    expect(j.skipped).toBe(9);
  });

  it('records of the right shape with wrong insides (types a writer never produces) are read without a crash', () => {
    const weird = [
      JSON.stringify({
        ...rec('contended', A, T0, { waitId: 1, waitedMs: 100 }),
        label: 5,
        snapshot: 'y',
        holders: [5, { pid: 'x' }, { ...holderOf(9, 'soon' as never), argv: [1, 2], card: 'x', lockKind: 7 }],
      }),
      JSON.stringify({ ...rec('timeout', A, T0 + 200, { waitId: 1 }), waitedMs: 'long', error: 'boom' }),
      JSON.stringify({ ...rec('released', A, T0 + 300), holdId: 1.5, heldMs: -Infinity }),
    ];
    const f = file(weird);
    const html = join(dir, 'weird.html');
    const r = report([f, '--html', html]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const { j } = json([f]);
    expect(j.records).toBe(3);
    expect(j.paths[0]).toMatchObject({ waits: 1, timeouts: 1 });
    expect(j.paths[0].holders).toEqual([expect.objectContaining({ pid: 9, command: '[flock]' })]); // argv unusable: the kernel's name
  });

  it('a truncated .gz keeps what it gave and says so; gzip on stdin is recognized by its bytes', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => hold(A, i + 1, T0 + i * 100, 10)).flat();
    const gz = gzipSync(`${lines.join('\n')}\n`);
    const cut = join(dir, 'cut.ndjson.gz');
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    const { status, j } = json([cut]);
    expect(status).toBe(0);
    expect(j.records).toBeGreaterThan(0);
    expect(j.records).toBeLessThan(4000);
    expect(j.inputs[0].error).toMatch(/unexpected end of file/);
    const whole = spawnSync(process.execPath, [bin, 'report', '-', '--json'], { input: gz, maxBuffer: 64 << 20 });
    expect(JSON.parse(whole.stdout.toString()).records).toBe(4000);
  });

  it('a line longer than 8 MiB is dropped and counted, the next line is read', () => {
    const f = file(`${'x'.repeat(9 * 1024 * 1024)}\n${good.join('\n')}\n`);
    const { j } = json([f]);
    expect(j.skippedBy.oversized).toBe(1);
    expect(j.records).toBe(2);
  });

  it('only bad lines: exit 1 (no record); a missing input: exit 4 with the typed error; usage errors exit 2', () => {
    const f = file(['nothing here', '{"a":1}']);
    const r = report([f]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('no lockscope records');
    const missing = report([join(dir, 'nope.ndjson')]);
    expect(missing.status).toBe(4);
    expect(missing.stderr).toMatch(/ENOENT/);
    for (const args of [
      [],
      [f, '--since', 'soon'],
      ['-', '-'],
      [f, '--pid', 'x'],
      [f, '--max-bars', '0'],
      [f, '--html', ''],
      [f, '--bogus'],
    ]) {
      const u = report(args);
      expect(u.status, args.join(' ')).toBe(2);
      expect(u.stderr).toMatch(/^lockscope report: /);
    }
  });
});

describe('lockscope report: filters and the bounded timeline', () => {
  it('--path (with *), --pid, --host, --since, --until', () => {
    const B: Who = { ...A, pid: 5, host: 'beta' };
    const f = file([
      ...hold(A, 1, T0, 10),
      ...hold(B, 1, T0 + 1000, 10),
      JSON.stringify(rec('acquired', A, T0 + 2000, { path: '/srv/other.lock', waitId: 2, holdId: 2, waitedMs: 0 })),
    ]);
    expect(json([f, '--host', 'beta']).j).toMatchObject({ records: 5, filtered: 3 });
    expect(json([f, '--pid', '4242']).j.filtered).toBe(2);
    expect(json([f, '--path', '/srv/o*']).j.filtered).toBe(4);
    expect(json([f, '--since', new Date(T0 + 500).toISOString(), '--until', String(T0 + 1500)]).j.filtered).toBe(3);
    expect(report([f, '--host', 'nowhere']).status).toBe(1);
  });

  it('each process keeps at most --max-bars bars: failures first, then the longest; the rest are counted', () => {
    const lines = Array.from({ length: 300 }, (_, i) => hold(A, i + 1, T0 + i * 1000, i + 1)).flat();
    lines.push(...wait(A, 999, T0 + 400_000, 50, [holderOf(999, null)], 'timeout'));
    const f = file(lines);
    const html = join(dir, 'bars.html');
    const r = report([f, '--max-bars', '20', '--html', html]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/pid 4242@alpha .*\(\+281 more\)/);
    const page = spawnSync('cat', [html], { encoding: 'utf8' }).stdout;
    const lane = page.slice(page.indexOf('data-pid="4242"'), page.indexOf('</g>', page.indexOf('data-pid="4242"')));
    expect(lane.match(/data-kind="hold"/g)).toHaveLength(19);
    expect(lane.match(/data-kind="wait"/g)).toHaveLength(1); // the timeout is kept although short
    expect(lane).toContain('+281 more');
  });

  it('the HTML draws the 200 busiest processes and counts the rest; the terminal timeline 20', () => {
    const lines = Array.from({ length: 205 }, (_, i) => hold({ ...A, pid: 10_000 + i }, 1, T0 + i, 10 + i)).flat();
    const f = file(lines);
    const html = join(dir, 'lanes.html');
    const r = report([f, '--html', html]);
    expect(r.stdout).toContain('... and 185 more process(es)');
    const page = spawnSync('cat', [html], { encoding: 'utf8' }).stdout;
    expect(page.match(/<g class="lane"/g)).toHaveLength(200);
    expect(page).toContain('5 more process(es) with fewer waits are not drawn');
    expect(page).not.toContain('data-pid="10000"'); // the shortest holds are the ones left out
    expect(page).toContain('data-pid="10204"');
  });
});
