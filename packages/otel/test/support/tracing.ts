/**
 * The tracing SDK the otel tests run against. OpenTelemetry 2.x (sdk-trace-base, sdk-trace-node)
 * by default; 3.x (`@opentelemetry/sdk-trace`, Node >= 22.15) when LOCKSCOPE_OTEL_LINE=3, which
 * scripts/otel3.mjs sets where it has installed that line. No fallback: a 3.x run that cannot load
 * 3.x fails.
 */
import { context, trace, type TracerProvider } from '@opentelemetry/api';

export interface SpanExporterLike {
  getFinishedSpans(): import('@opentelemetry/sdk-trace-base').ReadableSpan[];
  reset(): void;
}

export interface Tracing {
  line: 2 | 3;
  exporter: SpanExporterLike;
  provider: TracerProvider & { shutdown(): Promise<void> };
  /** Global provider and an AsyncLocalStorage context manager (parenting across awaits). */
  register: () => void;
}

// Specifiers in variables: the 3.x packages exist only in scripts/otel3.mjs's install.
const SDK3 = '@opentelemetry/sdk-trace';
const ALS = '@opentelemetry/context-async-hooks';

export const OTEL_LINE: 2 | 3 = process.env.LOCKSCOPE_OTEL_LINE === '3' ? 3 : 2;

/** `before`: span processors that run ahead of the exporting one (e.g. one that adds attributes in onEnding). */
export async function tracing(options: { before?: object[] } = {}): Promise<Tracing> {
  const before = options.before ?? [];
  if (OTEL_LINE === 3) {
    const m = await import(SDK3);
    const { AsyncLocalStorageContextManager } = await import(ALS);
    const exporter = new m.InMemorySpanExporter();
    // 3.x: one TracerProvider for every runtime, processors take an options object.
    const provider = new m.TracerProvider({ spanProcessors: [...before, new m.SimpleSpanProcessor({ exporter })] });
    return {
      line: 3,
      exporter,
      provider,
      register: () => {
        context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
        trace.setGlobalTracerProvider(provider);
      },
    };
  }
  const { InMemorySpanExporter, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    spanProcessors: [...(before as InstanceType<typeof SimpleSpanProcessor>[]), new SimpleSpanProcessor(exporter)],
  });
  return { line: 2, exporter, provider, register: () => provider.register() };
}
