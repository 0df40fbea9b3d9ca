/**
 * `lockscope report`'s parallel reader (parse workers, records fed to one reconstruction in input
 * order) against the single-thread reader: the same terminal text, --json and --html, byte for
 * byte, on multi-file inputs with the order-sensitive cases (docs/benchmarks.md#report) and on
 * generated ones, with tiny blocks so many workers' answers interleave.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRecord, type LockscopeRecord } from '../dist/index.js';
import { reportHtml } from '../dist/report/html.js';
import { reportJson } from '../dist/report/json.js';
import { runReport, type ReportFilters } from '../dist/report/run.js';
import { reportText } from '../dist/report/text.js';

const dir = mkdtempSync(join(tmpdir(), 'lockscope-report-parallel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
let seed = 7;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;

interface Who {
  pid: number;
  host?: string;
  bootId?: string;
  startTime?: number;
}
function rec(event: LockscopeRecord['event'], who: Who, at: number, path: string, extra: Record<string, unknown> = {}): string {
  const r = buildRecord(event, { path, time: at, kind: 'flock', mode: 'exclusive', dev: 2049, ino: path.length });
  const out: Record<string, unknown> = { ...r, pid: who.pid, host: who.host, bootId: who.bootId, startTime: who.startTime, ...extra };
  for (const k of ['host', 'bootId', 'startTime'] as const) if (who[k] === undefined) delete out[k];
  return JSON.stringify(out);
}
const holder = (w: Who, card: boolean, stack = 'Error\n    at take (file:///srv/job.js:1:1)') => ({
  pid: w.pid,
  startTime: w.startTime ?? null,
  command: 'node',
  argv: ['node', '/srv/job.js', `--id=${w.pid}`],
  lockKind: 'flock',
  lockMode: 'exclusive',
  role: 'holder',
  fd: 3,
  range: null,
  ...(card ? { card: { label: `job-${w.pid}`, acquiredAt: T0, stack } } : {}),
});
const pino = (line: string, host = 'alpha'): string =>
  JSON.stringify({ level: 30, time: T0, pid: 1, hostname: host, lockscope: 1, lock: JSON.parse(line), msg: 'lock' });
const winston = (line: string): string => JSON.stringify({ level: 'info', message: 'lock', lockscope: 1, lock: JSON.parse(line) });

let n = 0;
function file(content: string | Buffer, name = `in-${++n}.log`): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
}

type Opts = { maxBars?: number; maxOpen?: number; maxConcerns?: number; stdin?: () => Readable };
async function both(
  inputs: string[],
  filters: ReportFilters = {},
  o: Opts = {},
  par: { threads: number; minBytes: number; blockBytes: number }[] = [],
) {
  const { stdin, ...rest } = o;
  const run = async (parallel: { threads: number; minBytes?: number; blockBytes?: number }) => {
    const d = await runReport(inputs, filters, { ...rest, parallel, ...(stdin ? { stdin: stdin() } : {}) });
    return { d, out: [JSON.stringify(reportJson(d), null, 2), reportText(d), reportHtml(d)] };
  };
  const single = await run({ threads: 0 });
  expect(single.d.workerBlocks).toBe(0);
  const runs = par.length > 0 ? par : [{ threads: 2, minBytes: 0, blockBytes: 512 }];
  for (const p of runs) {
    const multi = await run(p);
    expect(multi.d.workerBlocks, JSON.stringify(p)).toBeGreaterThan(0);
    expect(multi.out[0], `--json ${JSON.stringify(p)}`).toBe(single.out[0]);
    expect(multi.out[1], `text ${JSON.stringify(p)}`).toBe(single.out[1]);
    expect(multi.out[2], `--html ${JSON.stringify(p)}`).toBe(single.out[2]);
  }
  return single.d;
}

const A: Who = { pid: 100, host: 'alpha', bootId: 'b1', startTime: T0 - 5000 };
const B: Who = { pid: 200, host: 'alpha', bootId: 'b1', startTime: T0 - 6000 };
const OLD: Who = { pid: 300 }; // an older writer: no host, boot id or start time

describe('report: the parallel reader gives the single-thread report byte for byte', () => {
  it('a process split across files, holder cards seen in a later file, loose pid matches, bar ties, caps', async () => {
    const p = '/srv/x.lock';
    // File 1: A waits (contended) for B; B holds with no card yet; OLD (no host) holds; A's
    // open waits beyond maxOpen; ties: many holds of one length.
    const f1: string[] = [rec('contended', A, T0 + 10, p, { waitId: 1, waitedMs: 10, holders: [holder(B, false)], holdersComplete: true })];
    for (let i = 0; i < 12; i++) f1.push(rec('acquired', B, T0 + 20 + i * 10, p, { holdId: i + 1, waitId: i + 1, waitedMs: 0 }));
    for (let i = 0; i < 12; i++) f1.push(rec('released', B, T0 + 25 + i * 10, p, { holdId: i + 1, heldMs: 5 }));
    for (let i = 0; i < 6; i++)
      f1.push(rec('contended', A, T0 + 300 + i, `/srv/open-${i}.lock`, { waitId: 100 + i, waitedMs: 1, holders: [] }));
    f1.push(rec('acquired', OLD, T0 + 400, p, { holdId: 1, waitId: 1, waitedMs: 0 }));
    // File 2 (pino lines naming the host): A's wait ends here; a third process sees B's card with
    // its stack (fills B's earlier bars at finish); OLD's pid in another input is another process;
    // B again without a start time (a loose match).
    const C: Who = { pid: 400, host: 'alpha', bootId: 'b1', startTime: T0 - 1 };
    const f2 = [
      rec('acquired', A, T0 + 500, p, { waitId: 1, holdId: 50, waitedMs: 490 }),
      rec('timeout', C, T0 + 600, p, {
        waitId: 9,
        waitedMs: 100,
        holders: [holder(B, true), holder(OLD, true)],
        holdersComplete: false,
        error: { code: 'ETIMEDOUT', errno: 110, syscall: 'flock', reason: 'timeout', message: 'timed out' },
      }),
      rec('released', { pid: 200, host: 'alpha', bootId: 'b1' }, T0 + 700, p, { holdId: 99, heldMs: 5 }),
      rec('released', OLD, T0 + 800, p, { holdId: 1, heldMs: 400 }),
      rec('leaked', A, T0 + 900, p, { holdId: 50, heldMs: 400 }),
      rec('held-too-long', B, T0 + 950, '/srv/y.lock', { holdId: 7, heldMs: 900 }),
    ].map((l) => pino(l));
    const f3 = [rec('released', A, T0 + 1000, '/srv/open-0.lock', { holdId: 3, heldMs: 2 })].map(winston);
    const inputs = [file(`${f1.join('\n')}\n`), file(`${f2.join('\n')}\n`), file(`${f3.join('\n')}\n`)];
    const d = await both(inputs, {}, { maxBars: 3, maxOpen: 2, maxConcerns: 1 }, [
      { threads: 1, minBytes: 0, blockBytes: 300 },
      { threads: 2, minBytes: 0, blockBytes: 700 },
      { threads: 2, minBytes: 2000, blockBytes: 256 },
    ]);
    expect(d.r.unmatched).toBeGreaterThan(0);
    expect(d.r.concernsDropped).toBeGreaterThan(0);
  });

  it('bad lines are skipped and counted the same: not JSON, bad versions and UTF-8, CRLF, empty, oversized, cut', async () => {
    const good = rec('acquired', A, T0, '/srv/ü.lock', { holdId: 1, waitId: 1, waitedMs: 0 });
    const lines = [
      Buffer.from('Dec  1 10:00:00 not JSON\n'),
      Buffer.from(`${good.replace('"schemaVersion":1', '"schemaVersion":2')}\n`),
      Buffer.from(`${good.replace(/"pid":\d+/, '"pid":"x"')}\n`),
      Buffer.from(`${good}\r\n\n\n`),
      // A path with an invalid byte and a sequence cut by the newline.
      Buffer.concat([
        Buffer.from(good.replace('ü', 'u\u0000').split('\\u0000')[0]!),
        Buffer.from([0xff, 0xe2, 0x82]),
        Buffer.from('.lock"}\n'),
      ]),
      Buffer.from(`${'x'.repeat(8 * 1024 * 1024 + 1)}\n`),
      Buffer.from(`${rec('released', A, T0 + 5, '/srv/ü.lock', { holdId: 1, heldMs: 5 })}\n`),
      Buffer.concat([Buffer.from(good.slice(0, 50)), Buffer.from([0xe2, 0x82])]), // truncated, ends mid-character
    ];
    const f = file(Buffer.concat(lines));
    const d = await both([f], {}, {}, [
      { threads: 1, minBytes: 0, blockBytes: 64 },
      { threads: 2, minBytes: 0, blockBytes: 4096 },
    ]);
    expect(d.skippedBy.oversized).toBe(1);
    expect(d.records).toBeGreaterThan(0);
  });

  it('a last line longer than 8 MiB, and one just under it, without a newline', async () => {
    const good = rec('acquired', A, T0, '/srv/a.lock', { holdId: 1, waitId: 1, waitedMs: 0 });
    const over = file(`${good}\n${'y'.repeat(8 * 1024 * 1024 + 10)}`);
    const under = file(`${good}\n{"x":"${'é'.repeat(4 * 1024 * 1024)}"}`); // 8 MiB of bytes, 4 Mi characters
    const d = await both([over, under], {}, {}, [{ threads: 1, minBytes: 0, blockBytes: 1 << 20 }]);
    expect(d.skippedBy.oversized).toBe(1);
    expect(d.skippedBy['not-lockscope']).toBe(1);
  });

  const gen = (files: number, lines: number) => {
    const hosts = ['alpha', 'beta', null];
    const procs: Who[] = Array.from({ length: 14 }, (_, i) => {
      const host = hosts[i % 3];
      const w: Who = { pid: 1000 + (i % 5) };
      if (host) w.host = host;
      if (i % 4 !== 0) w.bootId = `boot-${i % 2}`;
      if (i % 3 !== 1) w.startTime = T0 - i * 1000;
      return w;
    });
    const paths = ['/srv/a.lock', '/srv/b.lock', '/srv/c.lock', '/srv/d d.lock', '/srv/e.lock'];
    const events = [
      'contended',
      'acquired',
      'acquired',
      'released',
      'released',
      'timeout',
      'aborted',
      'error',
      'leaked',
      'held-too-long',
      'probe',
    ] as const;
    const out: string[][] = Array.from({ length: files }, () => []);
    let t = T0;
    for (let i = 0; i < lines; i++) {
      t += Math.floor(rnd() * 3); // ties in time too
      const w = pick(procs);
      const ev = pick(events);
      const id = 1 + Math.floor(rnd() * 8);
      const holders = rnd() < 0.4 ? [holder(pick(procs), rnd() < 0.5, `Error\n    at f${Math.floor(rnd() * 30)} (x.js:1:1)`)] : [];
      const line = rec(ev, w, t, pick(paths), {
        waitId: rnd() < 0.9 ? id : null,
        holdId: rnd() < 0.9 ? id : null,
        waitedMs: rnd() < 0.8 ? Math.floor(rnd() * 50) : null,
        heldMs: rnd() < 0.8 ? Math.floor(rnd() * 50) : null,
        label: rnd() < 0.5 ? `l${Math.floor(rnd() * 8)}` : null,
        holders,
        holdersComplete: pick([true, false, null, 'odd' as never]),
        snapshot:
          rnd() < 0.2
            ? {
                stack: 'Error\n    at w (w.js:1:1)',
                activeResources: { Timeout: 1 },
                inProcess: [],
                eventLoopDelay: { p99: -0 },
                memory: { rss: 1 },
              }
            : null,
        ...(ev === 'timeout' || ev === 'error' ? { error: { code: 'E', errno: 5, syscall: 'flock', reason: 'io', message: 'm' } } : {}),
      });
      const f = Math.floor(rnd() * files);
      const r = rnd();
      out[f]!.push(
        r < 0.3 ? pino(line, pick(['alpha', 'gamma'])) : r < 0.5 ? winston(line) : r < 0.55 ? '{"level":30,"msg":"other"}' : line,
      );
    }
    return out.map((l) => `${l.join('\n')}\n`);
  };

  it('generated multi-file inputs (several hosts, reused pids, every event), with and without filters', async () => {
    const texts = gen(4, 4000);
    const inputs = texts.map((t) => file(t));
    const par = [
      { threads: 1, minBytes: 0, blockBytes: 97 },
      { threads: 2, minBytes: 0, blockBytes: 3000 },
      { threads: 3, minBytes: 50_000, blockBytes: 10_000 },
    ];
    await both(inputs, {}, { maxBars: 4, maxOpen: 3, maxConcerns: 5 }, par);
    await both(inputs, {}, {}, par);
    for (const f of [
      { path: '/srv/[bd]*' },
      { path: '/srv/d d.lock' },
      { pid: 1002 },
      { host: 'alpha' },
      { since: T0 + 2000, until: T0 + 5000 },
    ] as ReportFilters[])
      await both(inputs, f, { maxBars: 4 }, [par[1]!]);
  });

  it('stdin and .gz inputs (a truncated .gz keeps what it gave)', async () => {
    const texts = gen(3, 3000);
    const gz = gzipSync(texts[0]!);
    const inputs = [file(gz, 'a.log.gz'), '-', file(gz.subarray(0, Math.floor(gz.length / 2)), 'cut.log.gz'), file(texts[2]!)];
    const d = await both(inputs, {}, { stdin: () => Readable.from([Buffer.from(texts[1]!)]) }, [
      { threads: 2, minBytes: 0, blockBytes: 1000 },
      { threads: 1, minBytes: 10_000, blockBytes: 5000 },
    ]);
    expect(d.inputs[2]!.error).toMatch(/unexpected end of file/);
  });

  it('a missing input is the same typed error, with no worker left running', async () => {
    const ok = file(gen(1, 500)[0]!);
    const missing = join(dir, 'missing.log');
    const errOf = (threads: number) =>
      runReport([ok, missing], {}, { parallel: { threads, minBytes: 0, blockBytes: 256 } }).then(
        () => null,
        (e: unknown) => e as { code: string; reason: string; path: string; syscall: string },
      );
    const single = await errOf(0);
    const multi = await errOf(2);
    expect(single).toMatchObject({ code: 'ENOENT', reason: 'not-found', path: missing });
    expect(multi).toMatchObject({ code: single!.code, reason: single!.reason, path: single!.path, syscall: single!.syscall });
  });

  it('workers that got no block are let boot before they are ended: no fd is left open', async () => {
    const small = file(gen(1, 20)[0]!);
    const fds = () => readdirSync('/proc/self/fd').length;
    await runReport([small], {}, { parallel: { threads: 3, minBytes: 0, blockBytes: 1 << 20 } }); // modules cached
    const before = fds();
    for (let i = 0; i < 4; i++) await runReport([small], {}, { parallel: { threads: 3, minBytes: 0, blockBytes: 1 << 20 } });
    expect(fds()).toBe(before);
  });
});
