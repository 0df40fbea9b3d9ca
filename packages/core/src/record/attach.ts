import type { LockscopeRecord, RecordEvent, RecordHolder } from './index.js';
import { subscribeRecords } from './subscribe.js';

/** What a logger adapter (pino, winston) hands to attachLogger. */
export interface AttachLoggerOptions {
  /** Level per event (from resolveRecordLevels); an event without one is not logged. */
  levels: Partial<Record<RecordEvent, string>>;
  /** The logger's own check, asked before each record is built and again before it is logged. */
  isLevelEnabled: (level: string) => boolean;
  /** Logs one record at its level. */
  log: (level: string, record: LockscopeRecord) => void;
  /** Learns the holders of every record that carries some, at any level (core's HolderCache fits). */
  cache?: { remember(path: string, holders: RecordHolder[], complete: boolean | null): unknown } | undefined;
}

/**
 * The subscription every logger adapter makes: a record whose level the logger has disabled is
 * not even built, unless a holder cache wants to learn from it. Returns the unsubscribe.
 */
export function attachLogger(o: AttachLoggerOptions): () => void {
  const { levels, isLevelEnabled, log, cache } = o;
  const enabled = (event: RecordEvent): boolean => {
    const level = levels[event];
    return level !== undefined && isLevelEnabled(level);
  };
  // The holder cache learns from every record that may carry holders (`released` never does).
  const wants = cache ? (event: RecordEvent): boolean => event !== 'released' || enabled(event) : enabled;
  return subscribeRecords(
    (record: LockscopeRecord) => {
      if (cache && record.holders.length > 0) cache.remember(record.path, record.holders, record.holdersComplete ?? null);
      if (enabled(record.event)) log(levels[record.event]!, record);
    },
    { wants },
  );
}
