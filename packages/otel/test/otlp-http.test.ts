import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { LockscopeInstrumentation } from '@lockscope/otel';
import { produceContention } from '../../../test-support/contention.js';

type AnyValue = {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
type KeyValue = { key: string; value: AnyValue };

function value(v: AnyValue): unknown {
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.doubleValue ?? v.boolValue;
}
const attrs = (kvs: KeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, value(kv.value)]));

/** A minimal OTLP/HTTP receiver (JSON encoding, what the http exporters send by default). */
function startReceiver(): Promise<{ server: Server; url: string; bodies: Map<string, unknown[]> }> {
  const bodies = new Map<string, unknown[]>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = String(req.headers['content-type']);
      const list = bodies.get(req.url ?? '') ?? [];
      list.push(type.includes('json') ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : { unsupported: type });
      bodies.set(req.url ?? '', list);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies })),
  );
}

describe('NodeSDK + OTLP/HTTP to a local receiver, real cross-process contention', () => {
  it('exports the acquire span and the lock metrics', async () => {
    const { server, url, bodies } = await startReceiver();
    const sdk = new NodeSDK({
      serviceName: 'lockscope-test',
      traceExporter: new OTLPTraceExporter({ url: `${url}/v1/traces` }),
      // `metricReaders`: sdk-node 0.2xx also takes `metricReader`, 0.30x only this.
      metricReaders: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `${url}/v1/metrics` }),
          exportIntervalMillis: 60_000,
        }),
      ],
      instrumentations: [new LockscopeInstrumentation()],
    });
    sdk.start();
    try {
      const c = await produceContention({ outcome: 'timeout', thresholdMs: 80, timeoutMs: 300 });
      await sdk.shutdown(); // flushes spans and metrics

      const spans = (bodies.get('/v1/traces') ?? []).flatMap((b: any) =>
        b.resourceSpans.flatMap((rs: any) =>
          rs.scopeSpans.filter((ss: any) => ss.scope.name === '@lockscope/otel').flatMap((ss: any) => ss.spans),
        ),
      );
      expect(spans).toHaveLength(1);
      const span = spans[0];
      expect(span.name).toBe('lockscope.lock.acquire');
      expect(attrs(span.attributes)).toMatchObject({
        'file.path': c.path,
        'file.lock.mechanism': 'FLOCK',
        'file.lock.type': 'write',
        'error.type': 'ETIMEDOUT',
        'lockscope.lock.holder.pids': [c.holder.pid],
      });
      const ev = span.events.find((e: any) => e.name === 'lockscope.lock.contended');
      expect(attrs(ev.attributes)).toMatchObject({ 'process.pid': c.holder.pid, 'process.command': 'flock' });
      expect(span.status.code).toBe(2); // STATUS_CODE_ERROR

      const metrics = (bodies.get('/v1/metrics') ?? []).flatMap((b: any) =>
        b.resourceMetrics.flatMap((rm: any) =>
          rm.scopeMetrics.filter((sm: any) => sm.scope.name === '@lockscope/otel').flatMap((sm: any) => sm.metrics),
        ),
      );
      const names = new Set(metrics.map((m: any) => m.name));
      for (const n of ['lockscope.lock.wait.duration', 'lockscope.lock.contentions', 'lockscope.lock.timeouts']) expect(names).toContain(n);
      const wait = metrics.find((m: any) => m.name === 'lockscope.lock.wait.duration');
      expect(wait.unit).toBe('s');
      expect(Number(wait.histogram.dataPoints[0].count)).toBe(1);
    } finally {
      await sdk.shutdown().catch(() => {});
      await new Promise((r) => server.close(r));
    }
  });
});
