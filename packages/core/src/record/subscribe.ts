import diagnosticsChannel from 'node:diagnostics_channel';
import { CHANNELS } from '../diagnostics/channels.js';
import { addDirect } from '../diagnostics/direct.js';
import { invalidArgument } from '../errors.js';
import type { AcquireContext, LockscopeRecord, RecordEvent } from './index.js';

/**
 * How lockscope carries records on its channels, in one place for every consumer (the adapters,
 * users' own subscribers): plain channels publish the record itself; the acquire TracingChannel
 * publishes an AcquireContext whose `record` is set before its terminal event.
 */

export function isRecord(r: unknown): r is LockscopeRecord {
  return (
    typeof r === 'object' &&
    r !== null &&
    (r as LockscopeRecord).schemaVersion === 1 &&
    typeof (r as LockscopeRecord).event === 'string' &&
    typeof (r as LockscopeRecord).path === 'string'
  );
}

/** The record a channel message carries: the message itself, or its `record` (acquire/probe contexts). */
export function recordOf(message: unknown): LockscopeRecord | undefined {
  if (isRecord(message)) return message;
  const r = (message as { record?: unknown } | null | undefined)?.record;
  return isRecord(r) ? r : undefined;
}

/**
 * Whether an acquire `end` event is the call's last: tryLock (traceSync) always ends there;
 * lock() (tracePromise) only when it threw synchronously, otherwise `asyncEnd` follows.
 */
export function acquireEndIsTerminal(ctx: Pick<AcquireContext, 'sync'>): boolean {
  return ctx.sync === true || 'error' in ctx;
}

/** Plain channels whose message is a record. */
export const RECORD_CHANNELS = [CHANNELS.contended, CHANNELS.released, CHANNELS.heldTooLong, CHANNELS.leaked, CHANNELS.idle] as const;

export interface SubscribeRecordsOptions {
  /** Also deliver `probe` records (every probe() call, including those behind contended records). Default false. */
  probe?: boolean;
  /**
   * Called when `onRecord` throws. Default: one process warning per subscription. A subscriber
   * that throws inside diagnostics_channel would otherwise surface as an uncaught exception in the
   * host, from inside its lock call.
   */
  onError?: (error: unknown, record: LockscopeRecord) => void;
  /**
   * Which events this subscriber wants, asked each time a record would be built (so it may follow
   * a logger's level as it changes). With it, records are handed over directly instead of through
   * the channels, and a record nobody wants is never built: a logger at `info` makes lockscope
   * skip the routine `acquired`/`released` records and the acquire tracing context entirely.
   * Every record it says yes to arrives exactly as without it. Must be cheap and never throw.
   */
  wants?: (event: RecordEvent) => boolean;
}

type Handlers = Record<'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error', (m: unknown) => void>;

/**
 * Calls `onRecord` once for every record lockscope publishes: contended, released, held-too-long,
 * leaked, idle, and each acquire call's terminal record (acquired, timeout, aborted, error); `probe`
 * records on request. Returns an idempotent unsubscribe.
 */
export function subscribeRecords(onRecord: (record: LockscopeRecord) => void, options: SubscribeRecordsOptions = {}): () => void {
  const fn = 'subscribeRecords';
  if (typeof onRecord !== 'function') throw invalidArgument(fn, undefined, 'onRecord must be a function');
  if (typeof options !== 'object' || options === null) throw invalidArgument(fn, undefined, 'options must be an object');
  if (options.onError !== undefined && typeof options.onError !== 'function')
    throw invalidArgument(fn, undefined, 'options.onError must be a function');
  if (options.wants !== undefined && typeof options.wants !== 'function')
    throw invalidArgument(fn, undefined, 'options.wants must be a function');
  let warned = false;
  const onError =
    options.onError ??
    ((error: unknown) => {
      if (warned) return;
      warned = true;
      process.emitWarning(
        `a lockscope record subscriber threw; further errors are not reported: ${String((error as Error)?.stack ?? error)}`,
        {
          type: 'LockscopeWarning',
          code: 'LOCKSCOPE_SUBSCRIBER_ERROR',
        },
      );
    });
  const deliver = (m: unknown): void => {
    const r = recordOf(m);
    if (!r) return;
    try {
      onRecord(r);
    } catch (e) {
      try {
        onError(e, r);
      } catch {
        // an error handler that throws has nowhere left to report to
      }
    }
  };
  const pc = options.probe === true ? diagnosticsChannel.tracingChannel(CHANNELS.probe) : undefined;
  const probe: Handlers = { start: noop, asyncStart: noop, error: noop, end: noop, asyncEnd: deliver };
  const wants = options.wants;
  if (wants !== undefined) {
    const remove = addDirect({
      wants: (event) => {
        try {
          return wants(event) === true;
        } catch {
          return true; // unsure: build it, onRecord decides
        }
      },
      deliver,
    });
    pc?.subscribe(probe);
    let on = true;
    return () => {
      if (!on) return;
      on = false;
      remove();
      pc?.unsubscribe(probe);
    };
  }
  const acquire: Handlers = {
    start: noop,
    asyncStart: noop,
    error: noop,
    end: (m) => {
      if (acquireEndIsTerminal(m as AcquireContext)) deliver(m);
    },
    asyncEnd: deliver,
  };
  for (const name of RECORD_CHANNELS) diagnosticsChannel.subscribe(name, deliver);
  const tc = diagnosticsChannel.tracingChannel(CHANNELS.acquire);
  tc.subscribe(acquire);
  pc?.subscribe(probe);
  let active = true;
  return () => {
    if (!active) return;
    active = false;
    for (const name of RECORD_CHANNELS) diagnosticsChannel.unsubscribe(name, deliver);
    tc.unsubscribe(acquire);
    pc?.unsubscribe(probe);
  };
}

function noop(): void {}
