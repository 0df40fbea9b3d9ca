#!/usr/bin/env node
// Adapter overhead (issue 5): uncontended acquire+release pairs (tryLock+releaseSync, and
// lock+release) with each adapter attached, at a level that logs and one that does not, against
// no adapter, all in one run. Configurations are interleaved round by round (attach, measure,
// detach) so drift on a shared machine hits them alike; each cell is the median of the rounds.
// Prints a markdown table with ratios to "none".
// Usage: node bench/adapters.mjs [--quick] [--rounds 7]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import winston from 'winston';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { configure, lock, tryLock } from '@lockscope/core';
import { attachPino } from '@lockscope/pino-transport';
import { attachWinston, lockscopeFormat } from '@lockscope/winston-format';
import { LockscopeInstrumentation } from '@lockscope/otel';
import { fmt, summarize, table } from './lib/stats.mjs';

const quick = process.argv.includes('--quick');
const ri = process.argv.indexOf('--rounds');
const ROUNDS = ri > 0 ? Number(process.argv[ri + 1]) : quick ? 3 : 11;
const N = quick ? 2000 : 10000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockscope-bench-adapters-'));
const file = path.join(dir, 'bench.lock');
fs.writeFileSync(file, '');

let written = 0;
const sink = () =>
  new Writable({
    write: (_c, _e, cb) => {
      written++;
      cb();
    },
  });

class NullReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const discard = { export: (_spans, cb) => cb({ code: 0 }), shutdown: async () => {} };

const winstonLogger = (level) =>
  winston.createLogger({
    level,
    format: winston.format.combine(lockscopeFormat(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream: sink() })],
  });

function otel(sampler, config = {}) {
  const tracerProvider = new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(discard, { maxQueueSize: 100_000 })] });
  const meterProvider = new MeterProvider({ readers: [new NullReader()] });
  const inst = new LockscopeInstrumentation({ enabled: false, ...config });
  inst.setTracerProvider(tracerProvider);
  inst.setMeterProvider(meterProvider);
  return () => {
    inst.enable();
    return () => inst.disable();
  };
}

// Loggers and providers are made once; each round only attaches and detaches.
const pinoInfo = pino({ level: 'info' }, sink());
const pinoDebug = pino({ level: 'debug' }, sink());
const winstonInfo = winstonLogger('info');
const winstonDebug = winstonLogger('debug');
// `snapshot.stack: 'waits'`: the documented trade (no stack for locks granted at once).
const stackWaits = (attach) => () => {
  configure({ snapshot: { stack: 'waits' } });
  const detach = attach();
  return () => {
    detach();
    configure({ snapshot: { stack: true } });
  };
};
const configs = [
  ['none', () => () => {}],
  ['pino, level info (records at debug: not logged)', () => attachPino(pinoInfo), 1.5],
  ['pino, level debug (every record logged)', () => attachPino(pinoDebug)],
  ['winston, level info (not logged)', () => attachWinston(winstonInfo), 1.5],
  ['winston, level debug (logged)', () => attachWinston(winstonDebug)],
  ['otel, sampler off (metrics only)', otel(new AlwaysOffSampler()), 2],
  ['otel, sampler on (span per acquire)', otel(new AlwaysOnSampler()), 3],
  ["otel, spans: 'contended' (metrics for the rest)", otel(new AlwaysOnSampler(), { spans: 'contended' }), 2],
  ["pino info + snapshot.stack 'waits'", stackWaits(() => attachPino(pinoInfo)), 1.5],
  ["winston info + snapshot.stack 'waits'", stackWaits(() => attachWinston(winstonInfo)), 1.5],
  ["otel metrics only + stack 'waits'", stackWaits(otel(new AlwaysOffSampler())), 2],
  ["otel span per acquire + stack 'waits'", stackWaits(otel(new AlwaysOnSampler())), 3],
  [
    "otel spans 'contended' + stack 'waits' (metrics only when uncontended)",
    stackWaits(otel(new AlwaysOnSampler(), { spans: 'contended' })),
    2,
  ],
];

const syncPair = () => {
  const h = tryLock(file);
  if (!h) throw new Error('bench file unexpectedly locked');
  h.releaseSync();
};
const asyncPair = async () => {
  const h = await lock(file);
  await h.release();
};

function timeSync(n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) syncPair();
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}
async function timeAsync(n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await asyncPair();
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

// Warm-up of every configuration (JIT, page cache, first-use costs such as the event-loop monitor).
for (const [, attach] of configs) {
  const detach = attach();
  timeSync(Math.min(2000, N));
  await timeAsync(Math.min(1000, N / 2));
  detach();
}

const samples = configs.map(() => ({ s: [], a: [], lines: 0 }));
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, [, attach]] of configs.entries()) {
    written = 0;
    const detach = attach();
    samples[i].s.push(timeSync(N));
    samples[i].a.push(await timeAsync(N / 2));
    detach();
    // Let batched exporters and streams drain outside the timed part.
    await new Promise((res) => setImmediate(res));
    samples[i].lines += written;
  }
}

const rows = [];
const base = { s: summarize(samples[0].s).p50, a: summarize(samples[0].a).p50 };
// Ratio: median over rounds of (this config / "none" in the same round), robust to load drifting.
const ratio = (i, k) => summarize(samples[i][k].map((x, r) => x / samples[0][k][r])).p50;
for (const [i, [name]] of configs.entries()) {
  const s = summarize(samples[i].s).p50;
  const a = summarize(samples[i].a).p50;
  const rs = ratio(i, 's');
  const ra = ratio(i, 'a');
  const target = configs[i][2];
  const verdict = target === undefined ? '' : `<= ${target}x: ${Math.max(rs, ra) <= target ? 'met' : 'MISSED'}`;
  rows.push([name, s, `${fmt(rs)}x`, `+${fmt(s - base.s)}`, a, `${fmt(ra)}x`, `+${fmt(a - base.a)}`, String(samples[i].lines), verdict]);
}
console.log(
  `\nAdapter overhead per uncontended acquire+release pair (Node ${process.version}, ` +
    `${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}, ` +
    `N=${N} sync / ${N / 2} async pairs per round, median of ${ROUNDS} interleaved rounds; ratios: median of per-round ratios to "none")\n`,
);
console.log(
  table(
    ['adapter', 'tryLock+releaseSync µs', 'ratio', 'Δ µs', 'lock+release µs', 'ratio', 'Δ µs', 'lines written', 'target (issue 14)'],
    rows,
  ),
);
fs.rmSync(dir, { recursive: true, force: true });
