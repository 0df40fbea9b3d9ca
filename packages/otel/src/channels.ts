import type { AcquireContext, LockscopeRecord } from '@lockscope/core/record';

/**
 * The one module that knows how lockscope publishes on its channels (see
 * packages/core/src/diagnostics and `AcquireContext` in @lockscope/core/record). If a message shape
 * changes, this file is the only one to touch.
 */

/** Record carried by a plain-channel message (contended, released, held-too-long, leaked): the record itself. */
export function recordOfMessage(message: unknown): LockscopeRecord | undefined {
  if (isRecord(message)) return message;
  // Tolerate a `{ record }` envelope too (the acquire context has that shape).
  const r = (message as { record?: unknown } | null | undefined)?.record;
  return isRecord(r) ? r : undefined;
}

/** Terminal record set on the acquire tracing context before `end` (sync) or `asyncEnd`/`error`. */
export function recordOfContext(ctx: AcquireContext): LockscopeRecord | undefined {
  return isRecord(ctx.record) ? ctx.record : undefined;
}

/**
 * Whether this `end` event finishes the acquire: tryLock (traceSync) always does; lock()
 * (tracePromise) only when it threw synchronously, otherwise `asyncEnd` follows.
 */
export function endIsTerminal(ctx: AcquireContext): boolean {
  return ctx.sync === true || 'error' in ctx;
}

export function isRecord(r: unknown): r is LockscopeRecord {
  return typeof r === 'object' && r !== null && (r as LockscopeRecord).schemaVersion === 1 && typeof (r as LockscopeRecord).event === 'string';
}
