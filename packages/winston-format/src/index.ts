import { HolderCache, defaultHolderCache, invalidArgument, enrichWithHolders, type HolderCacheOptions } from '@lockscope/core';
import { DEFAULT_RECORD_LEVELS, RECORD_SCHEMA_VERSION, attachLogger, loggerOptions, type LoggerOptions } from '@lockscope/core/record';
import { format, type Format, type TransformableInfo } from 'logform';
import { serializeError, serializeValue, type SerializeOptions } from './serialize.js';

export {
  HolderCache,
  holdersOfProbe,
  type HolderCacheOptions,
  type PathHolderResolver,
  type HoldersLookup,
  type HoldersStatus,
} from './holders.js';
export { describeRecord } from '@lockscope/core/record';

export interface LockscopeFormatOptions {
  /** Keep `stack` on serialized errors. Default true. */
  stack?: boolean;
  /** How deep to look for nested Errors. Default 5. */
  depth?: number;
  /**
   * Add the holders of the path to logs whose error has a busy-style code (EBUSY, ETXTBSY,
   * EAGAIN/EWOULDBLOCK, and EACCES/EPERM from a lock call or open: core's `isBusyError`). `true`:
   * core's shared cache (`defaultHolderCache()`); an object: a cache of this format's own.
   */
  holders?: boolean | HolderCacheOptions;
}

export type LockscopeFormat = Format & {
  /** The holder cache (undefined when `holders` is off). */
  readonly holders: HolderCache | undefined;
};

/**
 * A logform format: serializes lockscope records and Errors (nested ones included) so `json()`
 * keeps them, and optionally says who holds the file behind a busy error. Put it before `json()`.
 */
export function lockscopeFormat(options: LockscopeFormatOptions = {}): LockscopeFormat {
  const fn = 'lockscopeFormat';
  if (typeof options !== 'object' || options === null) throw invalidArgument(fn, undefined, 'options must be an object');
  const depth = options.depth ?? 5;
  if (!Number.isInteger(depth) || depth < 0) throw invalidArgument(fn, undefined, 'options.depth must be an integer >= 0');
  const sopts: SerializeOptions = { stack: options.stack !== false, depth };
  const h = options.holders;
  if (h !== undefined && typeof h !== 'boolean' && (typeof h !== 'object' || h === null)) {
    throw invalidArgument(fn, undefined, 'options.holders must be a boolean or an object');
  }
  const cache = h === true ? defaultHolderCache() : h ? new HolderCache(h) : undefined;

  const transform = (info: TransformableInfo): TransformableInfo => {
    let out: TransformableInfo = info;
    if (info instanceof Error) {
      // logger.error(err) hands the Error itself over as `info`.
      out = Object.assign(serializeError(info, sopts), info);
      copySymbols(info, out);
      if (sopts.stack && typeof (info as Error).stack === 'string') out.stack = (info as Error).stack;
      out.message = (info as Error).message;
    }
    for (const k of Object.keys(out)) {
      const v = out[k];
      const s = serializeValue(v, sopts);
      if (s !== v) {
        if (out === info) out = cloneInfo(info);
        out[k] = s;
      }
    }
    if (cache) enrich(out, cache);
    return out;
  };
  const f = format((info) => transform(info))() as LockscopeFormat;
  Object.defineProperty(f, 'holders', { value: cache, enumerable: false });
  return f;
}

function cloneInfo(info: TransformableInfo): TransformableInfo {
  const c = { ...info };
  copySymbols(info, c);
  return c;
}

function copySymbols(from: object, to: object): void {
  for (const s of Object.getOwnPropertySymbols(from)) (to as Record<symbol, unknown>)[s] = (from as Record<symbol, unknown>)[s];
}

/** Adds `holders` and `holdersStatus` to the busy errors of this line (the info itself, or one level down). */
function enrich(info: TransformableInfo, cache: HolderCache): void {
  const o = { cache };
  enrichWithHolders(info, o);
  for (const k of Object.keys(info)) {
    const v = info[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) enrichWithHolders(v, o);
  }
}

// ---- attachWinston ----

/** The part of a winston logger attachWinston uses (winston 3's Logger satisfies it). */
export interface WinstonLike {
  levels: Record<string, number>;
  isLevelEnabled(level: string): boolean;
  log(entry: { level: string; message: string; [k: string]: unknown }): unknown;
  child(meta: Record<string, unknown>): WinstonLike;
}

/**
 * `levels`: per record event, `'silent'` skips it (defaults: contended/held-too-long/leaked warn,
 * timeout/aborted/error error, others debug); `key`: default `'lock'`.
 */
export interface AttachWinstonOptions extends LoggerOptions {
  /** Feed the holders of contended/timeout records to this format's holder cache. */
  format?: LockscopeFormat;
}

/** contended/held-too-long/leaked: warn; timeout/aborted/error: error; acquired/released/probe: debug. */
export const DEFAULT_LEVELS = DEFAULT_RECORD_LEVELS;

// syslog levels (winston.config.syslog) spell warn as `warning`.
const ALIASES: Record<string, string> = { warn: 'warning', warning: 'warn' };

/** Logs lockscope records through an existing winston logger. Returns a detach function. */
export function attachWinston(logger: WinstonLike, options: AttachWinstonOptions = {}): () => void {
  const fn = 'attachWinston';
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof logger.log !== 'function' ||
    typeof logger.isLevelEnabled !== 'function' ||
    typeof logger.child !== 'function' ||
    typeof logger.levels !== 'object'
  ) {
    throw invalidArgument(fn, undefined, 'logger must be a winston logger');
  }
  const { key, levels } = loggerOptions(options, {
    caller: fn,
    isLevel: (l) => l in logger.levels,
    aliases: ALIASES,
    reservedKeys: ['level', 'message'],
  });
  const cache = options.format?.holders;
  const child = logger.child({ lockscope: RECORD_SCHEMA_VERSION });
  return attachLogger({
    levels,
    isLevelEnabled: (level) => logger.isLevelEnabled(level),
    log: (level, record, message) => child.log({ level, message, [key]: record }),
    cache,
  });
}
