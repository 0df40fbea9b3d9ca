#!/usr/bin/env node
// Adapter overhead (issue 5): uncontended acquire+release pairs (tryLock+releaseSync, and
// lock+release) with each adapter attached, at a level that logs and one that does not, against
// no adapter, all in one run. Prints a markdown table with ratios to "none".
// Usage: node bench/adapters.mjs [--quick]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import winston from 'winston';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { lock, tryLock } from '@lockscope/core';
import { attachPino } from '@lockscope/pino-transport';
import { attachWinston, lockscopeFormat } from '@lockscope/winston-format';
import { LockscopeInstrumentation } from '@lockscope/otel';
import { fmt, table, timeAsync, timeSync } from './lib/stats.mjs';

const quick = process.argv.includes('--quick');
const N = quick ? 2000 : 20000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockscope-bench-adapters-'));
const file = path.join(dir, 'bench.lock');
fs.writeFileSync(file, '');

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
let written = 0;
const countingSink = () => new Writable({ write: (_c, _e, cb) => { written++; cb(); } });

class NullReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const discard = { export: (_spans, cb) => cb({ code: 0 }), shutdown: async () => {} };

/** Each config attaches an adapter and returns a detach function. */
const configs = [
  ['none', () => () => {}],
  ['pino, level info (records at debug: not logged)', () => attachPino(pino({ level: 'info' }, sink()))],
  ['pino, level debug (every record logged)', () => attachPino(pino({ level: 'debug' }, countingSink()))],
  ['winston, level info (not logged)', () => attachWinston(winston.createLogger({ level: 'info', format: winston.format.combine(lockscopeFormat(), winston.format.json()), transports: [new winston.transports.Stream({ stream: sink() })] }))],
  ['winston, level debug (logged)', () => attachWinston(winston.createLogger({ level: 'debug', format: winston.format.combine(lockscopeFormat(), winston.format.json()), transports: [new winston.transports.Stream({ stream: countingSink() })] }))],
  ['otel, sampler off (metrics only)', () => otel(new AlwaysOffSampler())],
  ['otel, sampler on (span per acquire)', () => otel(new AlwaysOnSampler())],
];

function otel(sampler) {
  const tracerProvider = new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(discard, { maxQueueSize: 100_000 })] });
  const meterProvider = new MeterProvider({ readers: [new NullReader()] });
  const inst = new LockscopeInstrumentation({ enabled: false });
  inst.setTracerProvider(tracerProvider);
  inst.setMeterProvider(meterProvider);
  inst.enable();
  return () => {
    inst.disable();
    void tracerProvider.shutdown();
    void meterProvider.shutdown();
  };
}

const syncPair = () => {
  const h = tryLock(file);
  if (!h) throw new Error('bench file unexpectedly locked');
  h.releaseSync();
};
const asyncPair = async () => {
  const h = await lock(file);
  await h.release();
};

// Warm-up (JIT, page cache) so the first measured row is not penalised.
timeSync(syncPair, N);
await timeAsync(asyncPair, Math.floor(N / 2));

const rows = [];
let base;
for (const [name, attach] of configs) {
  written = 0;
  const detach = attach();
  const s = timeSync(syncPair, N);
  const a = await timeAsync(asyncPair, Math.floor(N / 2));
  detach();
  base ??= { s, a };
  rows.push([name, s, `${fmt(s / base.s)}x`, a, `${fmt(a / base.a)}x`, String(written)]);
}
console.log(`\nAdapter overhead per uncontended acquire+release pair (Node ${process.version}, ${os.cpus().length} CPUs, N=${N}, median of 5 rounds)\n`);
console.log(table(['adapter', 'tryLock+releaseSync µs', 'ratio', 'lock+release µs', 'ratio', 'lines written'], rows));
fs.rmSync(dir, { recursive: true, force: true });
