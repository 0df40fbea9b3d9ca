import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DataPointType, MeterProvider, MetricReader, type HistogramMetricData, type MetricData } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LockscopeInstrumentation, WAIT_BUCKETS_S } from '@lockscope/otel';
import type { LockscopeRecord } from '@lockscope/core/record';
import {
  assertValidRecord,
  cleanupTempDirs,
  CONTENDED_BY_FLOCK,
  produceContention,
  produceIdle,
} from '../../../test-support/contention.js';
import { OTEL_LINE, tracing } from './support/tracing.js';
import { sampleLoopLag } from '../../../test-support/event-loop.js';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const { exporter, provider: tracerProvider, register, line } = await tracing();
const reader = new TestReader();
const meterProvider = new MeterProvider({ readers: [reader] });
const hookCalls: string[] = [];
const hookRecords: Array<LockscopeRecord | undefined> = [];
let throwInHooks = false;
const instrumentation = new LockscopeInstrumentation({
  requestHook: (span, info) => {
    hookCalls.push(`request:${info.kind}:${info.mode}`);
    span.setAttribute('test.request', true);
    if (throwInHooks) throw new Error('user hook bug');
  },
  responseHook: (span, record) => {
    hookCalls.push(`response:${record?.event}`);
    hookRecords.push(record);
    if (throwInHooks) throw new Error('user hook bug');
  },
});

beforeAll(() => {
  expect(line).toBe(OTEL_LINE);
  register();
  registerInstrumentations({ instrumentations: [instrumentation], tracerProvider, meterProvider });
});
afterAll(async () => {
  instrumentation.disable();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  await cleanupTempDirs();
});

async function metrics(): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, MetricData>();
  for (const sm of resourceMetrics.scopeMetrics) {
    if (sm.scope.name !== '@lockscope/otel') continue;
    for (const m of sm.metrics) out.set(m.descriptor.name, m);
  }
  return out;
}

const sum = (m: MetricData | undefined): number =>
  (m?.dataPoints as Array<{ value: number }> | undefined)?.reduce((a, p) => a + p.value, 0) ?? 0;

function lockSpans(): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === 'lockscope.lock.acquire');
}

describe('LockscopeInstrumentation, in-memory exporters, real cross-process contention (flock(1) holder, core lock())', () => {
  it('a timed-out wait: one span in the caller context, contention event with the holder, error.type', async () => {
    exporter.reset();
    const tracer = trace.getTracer('test');
    const c = await tracer.startActiveSpan('request', async (parent) => {
      try {
        return await produceContention({ outcome: 'timeout', thresholdMs: 80, timeoutMs: 300 });
      } finally {
        parent.end();
      }
    });
    const parent = exporter.getFinishedSpans().find((s) => s.name === 'request')!;
    const [span, ...rest] = lockSpans();
    expect(rest).toHaveLength(0);
    expect(span!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span!.instrumentationScope.name).toBe('@lockscope/otel');
    expect(span!.attributes).toMatchObject({
      'file.path': c.path,
      'file.lock.mechanism': 'FLOCK',
      'file.lock.type': 'write',
      'error.type': 'ETIMEDOUT',
      'lockscope.lock.outcome': 'timeout',
      'lockscope.lock.contended': true,
      'lockscope.lock.holder.pids': [c.holder.pid],
      'lockscope.lock.holder.commands': ['flock'],
      'test.request': true,
      'host.name': hostname(),
    });
    if (process.platform === 'linux') expect(span!.attributes['lockscope.host.boot_id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(span!.attributes['lockscope.lock.wait.duration']).toBeGreaterThanOrEqual(0.25);
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    const ev = span!.events.find((e) => e.name === 'lockscope.lock.contended')!;
    expect(ev.attributes).toMatchObject({
      'process.pid': c.holder.pid,
      'process.command': 'flock',
      // What refused the attempt, while the wait goes on (the span's error.type is for its end).
      'lockscope.error.code': CONTENDED_BY_FLOCK.code,
      'lockscope.error.errno': CONTENDED_BY_FLOCK.errno,
      'lockscope.error.syscall': CONTENDED_BY_FLOCK.syscall,
      'lockscope.error.reason': 'contended',
    });
    expect(ev.attributes!['lockscope.snapshot.memory.rss']).toBeGreaterThan(0);
    // The waiting call's stack, from where the test called lock().
    expect(String(ev.attributes!['lockscope.snapshot.stack'])).toContain('produceContention');
    expect(hookCalls).toEqual(['request:flock:exclusive', 'response:timeout']);
    // The terminal record the span was made from: valid, with the errno and the holder.
    const record = hookRecords[0]!;
    assertValidRecord(record);
    expect(record.error).toMatchObject({ code: 'ETIMEDOUT', errno: 110, reason: 'timeout' });
    expect(record.holders.find((h) => h.role === 'holder')).toMatchObject({ pid: c.holder.pid, command: 'flock', argv: c.holder.argv });
  });

  it('metrics: wait histogram in seconds with lock buckets, contentions, timeouts, locks held', async () => {
    await produceContention({ outcome: 'acquired', thresholdMs: 50, holdMs: 200, keepMs: 30 });
    const m = await metrics();
    const wait = m.get('lockscope.lock.wait.duration') as HistogramMetricData;
    expect(wait.descriptor.unit).toBe('s');
    expect(wait.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(wait.dataPoints[0]!.value.buckets.boundaries).toEqual(WAIT_BUCKETS_S);
    const outcomes = wait.dataPoints.map((p) => [p.attributes['lockscope.lock.outcome'], p.value.count]).sort();
    expect(outcomes).toEqual([
      ['acquired', 1],
      ['timeout', 1],
    ]);
    expect(sum(m.get('lockscope.lock.contentions'))).toBe(2);
    expect(sum(m.get('lockscope.lock.timeouts'))).toBe(1);
    expect(sum(m.get('lockscope.lock.held'))).toBe(0); // +1 at acquire, -1 at release
    const hold = m.get('lockscope.lock.hold.duration') as HistogramMetricData;
    expect(hold.dataPoints[0]!.value.count).toBe(1);
    expect(hold.dataPoints[0]!.value.sum).toBeGreaterThan(0.02);
  });

  it("contention event: the waiting loop's event-loop delay, about 0 ms idle, about 60 ms when blocked 60 ms at a time", async () => {
    const eld = async (blockLoop?: { ms: number; everyMs: number }) => {
      exporter.reset();
      await produceContention({ outcome: 'timeout', thresholdMs: 700, timeoutMs: 1400, ...(blockLoop ? { blockLoop } : {}) });
      const ev = lockSpans()[0]!.events.find((e) => e.name === 'lockscope.lock.contended')!;
      const a = ev.attributes!;
      return {
        p50: Number(a['lockscope.snapshot.event_loop_delay.p50']),
        p99: Number(a['lockscope.snapshot.event_loop_delay.p99']),
        max: Number(a['lockscope.snapshot.event_loop_delay.max']),
      };
    };
    const lag = sampleLoopLag();
    const idle = await eld();
    const lagP50 = lag();
    expect(idle.p50).toBeGreaterThanOrEqual(0);
    // About the loop's real lateness (0 on an idle machine); the interval read as delay is 20 more.
    expect(idle.p50, `loop lag p50 ${lagP50} ms measured alongside`).toBeLessThan(lagP50 + 10);
    const blocked = await eld({ ms: 60, everyMs: 150 });
    expect(blocked.p99).toBeGreaterThanOrEqual(40);
    expect(blocked.max).toBeGreaterThanOrEqual(40);
  });

  it('throwing user hooks cannot break the host; disable() stops spans, enable() resumes', async () => {
    throwInHooks = true;
    exporter.reset();
    try {
      const c = await produceContention({ outcome: 'acquired', thresholdMs: 40, holdMs: 120 });
      expect(c.outcome).toBe('acquired');
      expect(lockSpans()).toHaveLength(1);
      expect(lockSpans()[0]!.attributes['lockscope.lock.outcome']).toBe('acquired');
    } finally {
      throwInHooks = false;
    }
    instrumentation.disable();
    expect(instrumentation.isEnabled()).toBe(false);
    await produceContention({ outcome: 'acquired', thresholdMs: 40, holdMs: 100 });
    expect(lockSpans()).toHaveLength(1);
    instrumentation.enable();
    instrumentation.enable(); // idempotent: one subscription
    await produceContention({ outcome: 'acquired', thresholdMs: 40, holdMs: 100 });
    expect(lockSpans()).toHaveLength(2);
  });

  it(
    'a resolved waitIdle(): one wait_idle span over the wait, in the caller context, with the writer; ' + 'an idle-wait histogram',
    async () => {
      exporter.reset();
      const tracer = trace.getTracer('test');
      const { idle, parentId } = await tracer.startActiveSpan('caller', async (parent) => {
        const idle = await produceIdle();
        parent.end();
        return { idle, parentId: parent.spanContext().spanId };
      });
      const spans = exporter.getFinishedSpans().filter((s) => s.name === 'lockscope.file.wait_idle');
      expect(spans).toHaveLength(1);
      const s = spans[0]!;
      expect(s.parentSpanContext?.spanId).toBe(parentId);
      expect(s.attributes['file.path']).toBe(idle.path);
      expect(s.attributes['file.inode']).toBe(String(idle.result.ino));
      expect(s.attributes['lockscope.idle.quiet_ms']).toBe(100);
      expect(s.attributes['lockscope.idle.writer.pids']).toContain(idle.writerPid);
      expect(s.attributes['lockscope.idle.since']).toBe(new Date(idle.result.idleSince).toISOString());
      const durMs = s.duration[0] * 1000 + s.duration[1] / 1e6;
      expect(durMs).toBeGreaterThanOrEqual(idle.result.waitedMs - 2);
      const m = (await metrics()).get('lockscope.file.idle.wait.duration') as HistogramMetricData | undefined;
      expect(m?.dataPointType).toBe(DataPointType.HISTOGRAM);
      expect(m!.dataPoints.reduce((a, p) => a + p.value.count, 0)).toBeGreaterThanOrEqual(1);
    },
  );

  it('rejects bad config with a TypeError', () => {
    expect(() => new LockscopeInstrumentation({ requestHook: 42 as never })).toThrow(TypeError);
    expect(() => new LockscopeInstrumentation(null as never)).toThrow(TypeError);
    expect(() => new LockscopeInstrumentation({ spans: 'some' as never })).toThrow(/spans must be 'every' or 'contended'/);
  });
});
