import diagnosticsChannel from 'node:diagnostics_channel';
import { CHANNELS } from '@lockscope/core';
import type { AcquireContext, LockscopeRecord, RecordHolder } from '@lockscope/core/record';

/**
 * The one module that knows how lockscope publishes records on its channels (plain channels: the
 * record itself; acquire TracingChannel: `AcquireContext.record` set before the terminal event).
 */

export function isRecord(r: unknown): r is LockscopeRecord {
  return typeof r === 'object' && r !== null && (r as LockscopeRecord).schemaVersion === 1 && typeof (r as LockscopeRecord).event === 'string';
}

function recordOf(message: unknown): LockscopeRecord | undefined {
  if (isRecord(message)) return message;
  // Tolerate a `{ record }` envelope too (the acquire context has that shape).
  const r = (message as { record?: unknown } | null | undefined)?.record;
  return isRecord(r) ? r : undefined;
}

const PLAIN = [CHANNELS.contended, CHANNELS.released, CHANNELS.heldTooLong, CHANNELS.leaked] as const;

/**
 * Calls `onRecord` once for every record lockscope publishes (terminal acquire records included).
 * Returns an idempotent unsubscribe.
 */
export function subscribeRecords(onRecord: (record: LockscopeRecord) => void): () => void {
  const plain = (m: unknown): void => {
    const r = recordOf(m);
    if (r) onRecord(r);
  };
  const terminal = (m: unknown): void => {
    const r = recordOf(m);
    if (r) onRecord(r);
  };
  const acquire = {
    start: noop,
    asyncStart: noop,
    error: noop,
    // tryLock (traceSync) ends at `end`; lock() at `asyncEnd`, unless it threw synchronously.
    end: (m: unknown) => {
      const ctx = m as AcquireContext;
      if (ctx.sync === true || 'error' in ctx) terminal(m);
    },
    asyncEnd: terminal,
  };
  for (const name of PLAIN) diagnosticsChannel.subscribe(name, plain);
  const tc = diagnosticsChannel.tracingChannel(CHANNELS.acquire);
  tc.subscribe(acquire);
  let active = true;
  return () => {
    if (!active) return;
    active = false;
    for (const name of PLAIN) diagnosticsChannel.unsubscribe(name, plain);
    tc.unsubscribe(acquire);
  };
}

function noop(): void {}

/** One line a person can read without knowing lockscope. */
export function describeRecord(r: LockscopeRecord): string {
  const what = `${r.mode ?? 'exclusive'} ${r.kind ?? ''} lock on ${r.path}`.replace('  ', ' ');
  const holders = describeHolders(r.holders);
  const ms = (v: number | null): string => (v == null ? '?' : v < 10 ? v.toFixed(2) : Math.round(v).toString());
  switch (r.event) {
    case 'contended':
      return `waiting ${ms(r.waitedMs)} ms for ${what}${holders}`;
    case 'timeout':
      return `gave up after ${ms(r.waitedMs)} ms waiting for ${what}${holders} (${r.error?.code ?? 'ETIMEDOUT'})`;
    case 'aborted':
      return `aborted after ${ms(r.waitedMs)} ms waiting for ${what}${holders}`;
    case 'error':
      return `failed to lock ${r.path}: ${r.error?.message ?? 'unknown error'}${holders}`;
    case 'acquired':
      return `acquired ${what} after ${ms(r.waitedMs)} ms`;
    case 'released':
      return `released ${what} after holding it ${ms(r.heldMs)} ms`;
    case 'held-too-long':
      return `${what} held for ${ms(r.heldMs)} ms and still held`;
    case 'leaked':
      return `${what} was garbage-collected without release after ${ms(r.heldMs)} ms`;
    default:
      return `${r.event} ${r.path}${holders}`;
  }
}

function describeHolders(hs: RecordHolder[]): string {
  if (hs.length === 0) return '';
  const lockers = hs.filter((h) => h.role === 'holder');
  const shown = (lockers.length > 0 ? lockers : hs).slice(0, 3).map((h) => {
    const cmd = h.argv && h.argv.length > 0 ? h.argv.join(' ') : (h.command ?? '?');
    const label = h.card?.label ? ` "${h.card.label}"` : '';
    return `pid ${h.pid} (${cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd})${label}`;
  });
  const more = (lockers.length > 0 ? lockers : hs).length - shown.length;
  return `; ${lockers.length > 0 ? 'held by' : 'open by'} ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}
