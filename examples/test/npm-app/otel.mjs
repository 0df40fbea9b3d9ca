// Whichever OTel line is installed: a span per acquire with the flock(1) holder (argv: path).
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { lock } from '@lockscope/core';
import { LockscopeHoldersSpanProcessor, LockscopeInstrumentation } from '@lockscope/otel';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new LockscopeHoldersSpanProcessor(), new SimpleSpanProcessor({ exporter })] });
const inst = new LockscopeInstrumentation();
inst.setTracerProvider(provider);
inst.enable();
try {
  await lock(process.argv[2], { timeout: 300 });
} catch (e) {
  if (e.code !== 'ETIMEDOUT') throw e;
}
inst.disable();
const spans = exporter.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes }));
console.log(JSON.stringify({ spans, hasTrace: typeof trace.getTracer === 'function' }));
await provider.shutdown();
