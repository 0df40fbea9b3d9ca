#!/usr/bin/env node
// lockscope demo: two processes contend for one lock file; lockscope says who waited, for how
// long, and why, through pino, winston and OpenTelemetry at once.
// Run: npm run demo   (or: node examples/demo.mjs after a build)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import winston from 'winston';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { configure, lock } from '@lockscope/core';
import { attachPino, endTransport } from '@lockscope/pino-transport';
import { attachWinston, lockscopeFormat } from '@lockscope/winston-format';
import { LockscopeInstrumentation } from '@lockscope/otel';
import { spawnHolder } from './hold-lock.mjs';

// The probe normally gets 100 ms per contended wait; a demo on a busy laptop should still name the holder.
configure({ holdersDeadline: 2000 });

const HOLD_MS = 1500; // how long the other process keeps the lock
const THRESHOLD_MS = 300; // report a wait once it passes this (lockscope's default is 500 ms)

const dir = mkdtempSync(join(tmpdir(), 'lockscope-demo-'));
const file = join(dir, 'report.lock');
const pinoOut = join(dir, 'app.log');
const forensic = join(dir, 'locks.ndjson');
writeFileSync(file, '');

// ---- the three adapters, attached as an application would ----
const transport = pino.transport({
  targets: [
    { target: 'pino/file', options: { destination: pinoOut }, level: 'debug' }, // the app's usual log
    { target: '@lockscope/pino-transport', options: { destination: forensic }, level: 'debug' }, // lock records only
  ],
});
const logger = pino({ level: 'debug' }, transport);
const detachPino = attachPino(logger);

const winstonLines = [];
const fmt = lockscopeFormat({ holders: true });
const wlogger = winston.createLogger({
  level: 'info',
  format: winston.format.combine(winston.format.timestamp(), fmt, winston.format.json()),
  transports: [
    new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (winstonLines.push(String(c).trim()), cb()) }) }),
  ],
});
const detachWinston = attachWinston(wlogger, { format: fmt });

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const otel = new LockscopeInstrumentation({ enabled: false });
otel.setTracerProvider(tracerProvider);
otel.enable();

// ---- the contention ----
let holder;
let waitedMs;
let heldBy;
try {
  holder = await spawnHolder(file, HOLD_MS, 'nightly-export');
  console.log(`lockscope demo: two processes, one lock file\n`);
  console.log(`  file      ${file}`);
  console.log(
    `  process A pid ${holder.pid}: "node examples/hold-lock.mjs" took an exclusive lock on it ` +
      `(label "nightly-export") and keeps it ${HOLD_MS} ms`,
  );
  console.log(`  process B pid ${process.pid}: this demo asks for the same lock and waits\n`);

  const t0 = performance.now();
  const handle = await lock(file, { timeout: 10_000, contentionThreshold: THRESHOLD_MS, label: 'demo: update report' });
  waitedMs = performance.now() - t0;
  await handle.release();
  await holder.exited;
} finally {
  if (holder && holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
  detachPino();
  detachWinston();
  otel.disable();
}
await endTransport(transport); // every line in both files (with targets, flush() is not enough)
await tracerProvider.forceFlush();

// ---- what came out ----
const records = readFileSync(forensic, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const contended = records.find((r) => r.event === 'contended');
const who = contended?.holders.find((h) => h.role === 'holder');
if (who) {
  heldBy = `pid ${who.pid} (${(who.argv ?? [who.command]).join(' ')})`;
}
console.log('What happened');
console.log(`  WHO WAITED  pid ${process.pid} (this demo) for the exclusive flock lock on ${file}`);
console.log(`  HOW LONG    ${Math.round(waitedMs)} ms, then it got the lock`);
console.log(`  WHY         it was held by ${heldBy ?? 'an unknown process'}`);
if (who?.card) console.log(`              which calls itself "${who.card.label}" and took the lock ${who.card.stack ?? ''}`);
console.log(`              lockscope noticed at ${THRESHOLD_MS} ms, looked the holder up in /proc (lock table + the holder's fds),`);
console.log(`              and published one record per step on node:diagnostics_channel; the adapters turned them into:\n`);

console.log('pino lines (attachPino: contended at warn, acquired/released at debug; "snapshot" shortened here):');
for (const line of readFileSync(pinoOut, 'utf8').trim().split('\n')) {
  const o = JSON.parse(line);
  if (o.lock?.snapshot) o.lock.snapshot = `{stack, memory, event loop delay, ... ${JSON.stringify(o.lock.snapshot).length} bytes}`;
  console.log(`  ${JSON.stringify(o)}`);
}
console.log(`  (the forensic file from @lockscope/pino-transport got the same ${records.length} records in full)\n`);

console.log('winston line (attachWinston + lockscopeFormat + json(), level info; "snapshot" shortened here):');
for (const line of winstonLines) {
  const o = JSON.parse(line);
  if (o.lock?.snapshot) o.lock.snapshot = `{... ${JSON.stringify(o.lock.snapshot).length} bytes}`;
  console.log(`  ${JSON.stringify(o)}`);
}

console.log('\nOpenTelemetry span (LockscopeInstrumentation):');
for (const s of spans.getFinishedSpans()) {
  const ms = (t) => t[0] * 1e3 + t[1] / 1e6;
  console.log(`  ${s.name}  ${Math.round(ms(s.duration))} ms  status ${['UNSET', 'OK', 'ERROR'][s.status.code]}`);
  for (const [k, v] of Object.entries(s.attributes)) console.log(`    ${k} = ${JSON.stringify(v)}`);
  for (const e of s.events) {
    console.log(`    event "${e.name}" at +${Math.round(ms(e.time) - ms(s.startTime))} ms`);
    for (const [k, v] of Object.entries(e.attributes ?? {})) {
      const text = JSON.stringify(v);
      console.log(`      ${k} = ${text.length > 100 ? `${text.slice(0, 97)}..."` : text}`);
    }
  }
}

await tracerProvider.shutdown();
rmSync(dir, { recursive: true, force: true });
