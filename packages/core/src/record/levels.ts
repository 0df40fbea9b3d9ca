import { invalidArgument } from '../errors.js';
import { show } from '../path.js';
import { RECORD_EVENTS, type RecordEvent } from '../vocabulary.js';

export { RECORD_EVENTS };

/**
 * The log level each record event gets by default, in the common npm/pino level names: something
 * is wrong (warn), a lock call failed (error), an awaited outcome (info: a file found idle),
 * routine traffic (debug).
 */
export const DEFAULT_RECORD_LEVELS: Readonly<Record<RecordEvent, 'warn' | 'error' | 'info' | 'debug'>> = Object.freeze({
  contended: 'warn',
  'held-too-long': 'warn',
  leaked: 'warn',
  timeout: 'error',
  aborted: 'error',
  error: 'error',
  acquired: 'debug',
  released: 'debug',
  probe: 'debug',
  idle: 'info',
});

export interface ResolveLevelsOptions {
  /** Whether the logger has this level. */
  isLevel: (level: string) => boolean;
  /** Other names for a default level, tried when the logger lacks it (syslog spells warn `warning`). */
  aliases?: Readonly<Record<string, string>>;
  /** Name used in error messages (the public function). */
  caller: string;
}

/**
 * The level per event for one logger: the caller's overrides (each must be `'silent'` or a level of
 * the logger), else the default or its alias. An event whose default the logger lacks is left out
 * (not logged); `'silent'` events are left out too. Throws a typed `invalid-argument` LockError.
 */
export function resolveRecordLevels(overrides: unknown, o: ResolveLevelsOptions): Partial<Record<RecordEvent, string>> {
  if (overrides !== undefined && (typeof overrides !== 'object' || overrides === null)) {
    throw invalidArgument(o.caller, undefined, 'options.levels must be an object');
  }
  const given = (overrides ?? {}) as Record<string, unknown>;
  for (const event of Object.keys(given)) {
    if (!(RECORD_EVENTS as readonly string[]).includes(event))
      throw invalidArgument(o.caller, undefined, `options.levels: unknown event '${event}'`);
  }
  const out: Partial<Record<RecordEvent, string>> = {};
  for (const event of RECORD_EVENTS) {
    const want = given[event];
    if (want !== undefined) {
      if (want === 'silent') continue;
      if (typeof want !== 'string' || !o.isLevel(want)) {
        throw invalidArgument(o.caller, undefined, `options.levels.${event}: ${show(want)} is not a level of this logger`);
      }
      out[event] = want;
      continue;
    }
    const dflt = DEFAULT_RECORD_LEVELS[event];
    const alias = o.aliases?.[dflt];
    if (o.isLevel(dflt)) out[event] = dflt;
    else if (alias !== undefined && o.isLevel(alias)) out[event] = alias;
  }
  return out;
}
