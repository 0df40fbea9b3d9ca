// Whichever OTel line is installed: a span per acquire with the flock(1) holder, and the holders
// on a span that recorded a busy-style error about the same file (argv: path).
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { configure, errnoNumber, holdersFor, lock, lockErrorFromErrno } from '@lockscope/core';
import { LockscopeHoldersSpanProcessor, LockscopeInstrumentation } from '@lockscope/otel';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new LockscopeHoldersSpanProcessor(), new SimpleSpanProcessor({ exporter })] });
const inst = new LockscopeInstrumentation();
inst.setTracerProvider(provider);
inst.enable();
// The wait is contended at 50 ms and the probe may take its time: on a loaded machine the default
// (a 300 ms timeout under the 500 ms threshold: holders looked up at the timeout within 25 ms) can
// end with no holders, which is the truth about that lookup but not what this app checks.
configure({ contentionThreshold: 50, holdersDeadline: 10_000 });
try {
  await lock(process.argv[2], { timeout: 300 });
} catch (e) {
  if (e.code !== 'ETIMEDOUT') throw e;
}
inst.disable();
const busy = lockErrorFromErrno('flock', errnoNumber('EWOULDBLOCK'), process.argv[2], 'flock');
await holdersFor(busy, { budgetMs: 10_000 }); // so the (synchronous) processor finds them cached
const span = provider.getTracer('app').startSpan('save state');
span.recordException(busy);
span.end();
const spans = exporter.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes }));
console.log(JSON.stringify({ spans, hasTrace: typeof trace.getTracer === 'function' }));
await provider.shutdown();
