import { invalidArgument } from '../errors.js';
import type { LockscopeRecord, RecordEvent, RecordHolder } from './index.js';
import { describeRecord } from './describe.js';
import { resolveRecordLevels, type ResolveLevelsOptions } from './levels.js';
import { subscribeRecords } from './subscribe.js';

/** What a logger adapter's options share: `levels` per event and the `key` the record goes under. */
export interface LoggerOptions {
  levels?: Partial<Record<RecordEvent, string>>;
  key?: string;
}

/**
 * Validates a logger adapter's options object, its `key` (default `'lock'`, never one of
 * `reservedKeys`) and its `levels` (resolveRecordLevels). Throws typed `invalid-argument` LockErrors.
 */
export function loggerOptions(
  options: unknown,
  o: ResolveLevelsOptions & { reservedKeys?: readonly string[] },
): { key: string; levels: Partial<Record<RecordEvent, string>> } {
  const fn = o.caller;
  if (typeof options !== 'object' || options === null) throw invalidArgument(fn, undefined, 'options must be an object');
  const { key = 'lock', levels } = options as LoggerOptions;
  const reserved = o.reservedKeys ?? [];
  if (typeof key !== 'string' || key === '' || reserved.includes(key)) {
    const other = reserved.length === 0 ? '' : ` other than ${reserved.map((k) => `'${k}'`).join(' and ')}`;
    throw invalidArgument(fn, undefined, `options.key must be a non-empty string${other}`);
  }
  return { key, levels: resolveRecordLevels(levels, o) };
}

/** What a logger adapter (pino, winston) hands to attachLogger. */
export interface AttachLoggerOptions {
  /** Level per event (from resolveRecordLevels); an event without one is not logged. */
  levels: Partial<Record<RecordEvent, string>>;
  /** The logger's own check, asked before each record is built and again before it is logged. */
  isLevelEnabled: (level: string) => boolean;
  /** Logs one record at its level, with its readable line (describeRecord). */
  log: (level: string, record: LockscopeRecord, message: string) => void;
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
      if (enabled(record.event)) log(levels[record.event]!, record, describeRecord(record));
    },
    { wants },
  );
}
