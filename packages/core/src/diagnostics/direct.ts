import type { Channel } from 'node:diagnostics_channel';
import type { LockscopeRecord, RecordEvent } from '../record/index.js';

/**
 * Record subscribers that say which events they want (subscribeRecords with `wants`, what the
 * logger adapters use). They get records handed over directly rather than through a channel, so
 * lockscope knows what nobody wants and builds none of it: with a logger at `info`, the routine
 * `acquired`/`released` records and the acquire tracing context are never made. Everything else
 * (tracking, holders, snapshots, cards) runs as for any subscriber.
 */
export interface DirectSubscriber {
  /** Asked when a record would be built; a record is built only if someone says yes. */
  wants(event: RecordEvent): boolean;
  deliver(record: LockscopeRecord): void;
}

export const direct: DirectSubscriber[] = [];

export function addDirect(s: DirectSubscriber): () => void {
  direct.push(s);
  return () => {
    const i = direct.indexOf(s);
    if (i >= 0) direct.splice(i, 1);
  };
}

/** Whether any direct subscriber wants `event` now. */
export function wantedDirect(event: RecordEvent): boolean {
  for (const s of direct) if (s.wants(event)) return true;
  return false;
}

export function deliverDirect(record: LockscopeRecord): void {
  for (const s of direct.slice()) if (s.wants(record.event)) s.deliver(record);
}

/** Whether a record for `event` on `ch` is wanted by anyone: a channel subscriber or a direct one. */
export function wanted(ch: Channel, event: RecordEvent): boolean {
  return ch.hasSubscribers || wantedDirect(event);
}

/**
 * Publish a record, built only if someone wants it: on its channel, then to each direct
 * subscriber that wants it (asked once each).
 */
export function publishRecord(ch: Channel, event: RecordEvent, build: () => LockscopeRecord): void {
  let r: LockscopeRecord | null = null;
  if (ch.hasSubscribers) {
    r = build();
    ch.publish(r);
  }
  if (direct.length === 0) return;
  for (const s of direct.slice()) {
    if (!s.wants(event)) continue;
    r ??= build();
    s.deliver(r);
  }
}
