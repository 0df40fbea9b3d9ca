import { invalidArgument } from '@lockscope/core';
import { RECORD_SCHEMA_VERSION, type LockscopeRecord, type RecordEvent } from '@lockscope/core/record';
import { describeRecord, subscribeRecords } from './records.js';

/** The part of a pino logger attachPino uses (pino 10's `Logger` satisfies it). */
export interface PinoLike {
  level: string;
  levels: { values: Record<string, number> };
  isLevelEnabled(level: string): boolean;
  child(bindings: Record<string, unknown>): PinoLike;
}

export interface AttachPinoOptions {
  /** Level per record event; `'silent'` skips that event. Defaults: see DEFAULT_LEVELS. */
  levels?: Partial<Record<RecordEvent, string>>;
  /** Key the record is logged under. Default `'lock'`. */
  key?: string;
  /** Extra bindings for the child logger (the `lockscope` binding is always set). */
  bindings?: Record<string, unknown>;
}

export const DEFAULT_LEVELS: Readonly<Record<RecordEvent, string>> = Object.freeze({
  contended: 'warn',
  'held-too-long': 'warn',
  leaked: 'warn',
  timeout: 'error',
  aborted: 'error',
  error: 'error',
  acquired: 'debug',
  released: 'debug',
  probe: 'debug',
});

/**
 * Logs every lockscope record through `logger` (a child with a `lockscope` binding). Returns a
 * function that detaches it. A record whose level the logger has disabled costs one level check.
 */
export function attachPino(logger: PinoLike, options: AttachPinoOptions = {}): () => void {
  const fn = 'attachPino';
  if (typeof logger !== 'object' || logger === null || typeof logger.child !== 'function' || typeof logger.isLevelEnabled !== 'function') {
    throw invalidArgument(fn, undefined, 'logger must be a pino logger');
  }
  if (typeof options !== 'object' || options === null) throw invalidArgument(fn, undefined, 'options must be an object');
  const key = options.key ?? 'lock';
  if (typeof key !== 'string' || key === '') throw invalidArgument(fn, undefined, 'options.key must be a non-empty string');
  const levels: Record<string, string> = { ...DEFAULT_LEVELS };
  for (const [event, level] of Object.entries(options.levels ?? {})) {
    if (!(event in DEFAULT_LEVELS)) throw invalidArgument(fn, undefined, `options.levels: unknown event '${event}'`);
    if (level !== 'silent' && !(typeof level === 'string' && level in logger.levels.values)) {
      throw invalidArgument(fn, undefined, `options.levels.${event}: '${String(level)}' is not a level of this logger`);
    }
    levels[event] = level;
  }
  const bindings = options.bindings ?? {};
  if (typeof bindings !== 'object' || bindings === null) throw invalidArgument(fn, undefined, 'options.bindings must be an object');

  const child = logger.child({ ...bindings, lockscope: RECORD_SCHEMA_VERSION });
  const onRecord = (record: LockscopeRecord): void => {
    const level = levels[record.event];
    // The level check comes first: nothing is built for a disabled level.
    if (level === undefined || level === 'silent' || !logger.isLevelEnabled(level)) return;
    // A child keeps the level it was created with; follow the parent's later changes.
    if (child.level !== logger.level) child.level = logger.level;
    const log = (child as unknown as Record<string, (obj: object, msg: string) => void>)[level];
    log?.call(child, { [key]: record }, describeRecord(record));
  };
  return subscribeRecords(onRecord);
}
