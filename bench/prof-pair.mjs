// Profiling helper (issue 14): a loop of uncontended pairs with one consumer attached, for
// `node --cpu-prof bench/prof-pair.mjs <consumer> [sync|async] [N]`. Consumers: none, pino, winston,
// otel-metrics, otel-spans; and to split core's tracking from an adapter's own cost: bare-tracing
// (no-op subscriber on the acquire TracingChannel), bare-all (also the released/contended/leaked
// channels), records (a no-op subscribeRecords).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { configure, lock, tryLock } from '@lockscope/core';

const [who = 'pino', how = 'sync', n = '200000'] = process.argv.slice(2);
const N = Number(n);
// STACK=waits: the documented trade (no stack for locks granted at once).
// LIMIT=n: Error.stackTraceLimit (lockscope captures the user's limit).
if (process.env.LIMIT) Error.stackTraceLimit = Number(process.env.LIMIT);
if (process.env.STACK === 'waits') configure({ snapshot: { stack: 'waits' } });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockscope-prof-'));
const file = path.join(dir, 'p.lock');
fs.writeFileSync(file, '');
const sink = new Writable({ write: (_c, _e, cb) => cb() });

if (who === 'bare-tracing' || who === 'bare-all') {
  const dc = await import('node:diagnostics_channel');
  const { CHANNELS } = await import('@lockscope/core');
  const noop = () => {};
  dc.tracingChannel(CHANNELS.acquire).subscribe({ start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop });
  if (who === 'bare-all') for (const c of [CHANNELS.released, CHANNELS.contended, CHANNELS.leaked]) dc.subscribe(c, noop);
} else if (who === 'records') {
  const { subscribeRecords } = await import('@lockscope/core/record');
  subscribeRecords(() => {});
} else if (who === 'pino') {
  const { default: pino } = await import('pino');
  const { attachPino } = await import('@lockscope/pino-transport');
  attachPino(pino({ level: 'info' }, sink));
} else if (who === 'winston') {
  const { default: winston } = await import('winston');
  const { attachWinston, lockscopeFormat } = await import('@lockscope/winston-format');
  attachWinston(
    winston.createLogger({
      level: 'info',
      format: winston.format.combine(lockscopeFormat(), winston.format.json()),
      transports: [new winston.transports.Stream({ stream: sink })],
    }),
  );
} else if (who.startsWith('otel')) {
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  const { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { LockscopeInstrumentation } = await import('@lockscope/otel');
  class NullReader extends MetricReader {
    async onForceFlush() {}
    async onShutdown() {}
  }
  const discard = { export: (_s, cb) => cb({ code: 0 }), shutdown: async () => {} };
  const sampler = who === 'otel-spans' ? new AlwaysOnSampler() : new AlwaysOffSampler();
  const inst = new LockscopeInstrumentation({ enabled: false });
  inst.setTracerProvider(
    new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(discard, { maxQueueSize: 100_000 })] }),
  );
  inst.setMeterProvider(new MeterProvider({ readers: [new NullReader()] }));
  inst.enable();
}

const t0 = process.hrtime.bigint();
const c0 = process.cpuUsage();
if (how === 'sync') {
  for (let i = 0; i < N; i++) tryLock(file).releaseSync();
} else {
  for (let i = 0; i < N; i++) await (await lock(file)).release();
}
const c = process.cpuUsage(c0);
// CPU time of this process (all its threads) per pair: less disturbed by other load than wall-clock.
const wallUs = Number(process.hrtime.bigint() - t0) / N / 1000;
console.log(`${who} ${how}: ${wallUs.toFixed(2)} µs/pair wall, ${((c.user + c.system) / N).toFixed(2)} µs CPU`);
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
