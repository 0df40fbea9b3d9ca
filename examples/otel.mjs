#!/usr/bin/env node
// OpenTelemetry: a span per acquire (with the holder at contention) and lock metrics.
// Run: node examples/otel.mjs   (spans print to the console; point OTEL_EXPORTER_OTLP_ENDPOINT
// at a collector and swap in the OTLP exporters for real use)
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
  metricReader: new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 }),
  instrumentations: [new LockscopeInstrumentation()],
});
sdk.start();
configure({ contentionThreshold: 200 });

const file = join(tmpdir(), 'lockscope-example-otel.lock');
const holder = await spawnHolder(file, 1500);
await trace.getTracer('example').startActiveSpan('nightly-export', async (span) => {
  const handle = await lock(file, { timeout: 10_000 }); // child span of nightly-export
  await handle.release();
  span.end();
});
holder.kill();
await sdk.shutdown(); // flushes the spans and metrics to the console
