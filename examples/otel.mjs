#!/usr/bin/env node
// OpenTelemetry: a span per acquire (with the holder at contention) and lock metrics.
// Run: node examples/otel.mjs   (spans and metrics print to the console; for real use swap in
// the OTLP exporters and point OTEL_EXPORTER_OTLP_ENDPOINT at a collector)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { ConsoleMetricExporter, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';
import { configure, lock } from '@lockscope/core';
import { LockscopeInstrumentation } from '@lockscope/otel';
import { spawnHolder } from './hold-lock.mjs';

const sdk = new NodeSDK({
  serviceName: 'lockscope-example',
  traceExporter: new ConsoleSpanExporter(),
  metricReaders: [new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 })],
  instrumentations: [new LockscopeInstrumentation()],
});
sdk.start();
configure({ contentionThreshold: 200, holdersDeadline: 2000 });

const dir = mkdtempSync(join(tmpdir(), 'lockscope-example-otel-'));
const file = join(dir, 'export.lock');
const holder = await spawnHolder(file, 1000);
try {
  await trace.getTracer('example').startActiveSpan('nightly-export', async (span) => {
    const handle = await lock(file, { timeout: 10_000, label: 'otel example' }); // child span of nightly-export
    await handle.release();
    span.end();
  });
} finally {
  await holder.exited;
  rmSync(dir, { recursive: true, force: true });
}
await sdk.shutdown(); // flushes the spans and metrics to the console
