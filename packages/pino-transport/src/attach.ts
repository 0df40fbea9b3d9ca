import { invalidArgument } from '@lockscope/core';
import { DEFAULT_RECORD_LEVELS, RECORD_SCHEMA_VERSION, attachLogger, loggerOptions, type LoggerOptions } from '@lockscope/core/record';

/** The part of a pino logger attachPino uses (pino 10's `Logger` satisfies it). */
export interface PinoLike {
  level: string;
  levels: { values: Record<string, number> };
  isLevelEnabled(level: string): boolean;
  child(bindings: Record<string, unknown>): PinoLike;
}

/** `levels`: per record event, `'silent'` skips it (defaults: DEFAULT_LEVELS); `key`: default `'lock'`. */
export interface AttachPinoOptions extends LoggerOptions {
  /** Extra bindings for the child logger (the `lockscope` binding is always set). */
  bindings?: Record<string, unknown>;
}

/** contended/held-too-long/leaked: warn; timeout/aborted/error: error; acquired/released/probe: debug. */
export const DEFAULT_LEVELS = DEFAULT_RECORD_LEVELS;

/**
 * Logs every lockscope record through `logger` (a child with a `lockscope` binding). Returns a
 * function that detaches it. A record whose level the logger has disabled is not even built.
 */
export function attachPino(logger: PinoLike, options: AttachPinoOptions = {}): () => void {
  const fn = 'attachPino';
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof logger.child !== 'function' ||
    typeof logger.isLevelEnabled !== 'function' ||
    typeof logger.levels?.values !== 'object'
  ) {
    throw invalidArgument(fn, undefined, 'logger must be a pino logger');
  }
  const { key, levels } = loggerOptions(options, { caller: fn, isLevel: (l) => l in logger.levels.values });
  const bindings = options.bindings ?? {};
  if (typeof bindings !== 'object' || bindings === null) throw invalidArgument(fn, undefined, 'options.bindings must be an object');

  const child = logger.child({ ...bindings, lockscope: RECORD_SCHEMA_VERSION });
  return attachLogger({
    levels,
    isLevelEnabled: (level) => logger.isLevelEnabled(level),
    log: (level, record, message) => {
      // A child keeps the level it was created with; follow the parent's later changes.
      if (child.level !== logger.level) child.level = logger.level;
      const log = (child as unknown as Record<string, (obj: object, msg: string) => void>)[level];
      log?.call(child, { [key]: record }, message);
    },
  });
}
