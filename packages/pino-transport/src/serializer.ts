import { enrichWithHolders, holdersForSync, invalidArgument, type HolderCache } from '@lockscope/core';
import stdSerializers from 'pino-std-serializers';

export interface ErrSerializerOptions {
  /** The serializer to wrap. Default `pino.stdSerializers.err` (pino-std-serializers). */
  serializer?: (err: Error) => unknown;
  /** Default: core's process-wide cache (`defaultHolderCache()`), shared with the other adapters. */
  cache?: HolderCache;
}

/**
 * pino's `err` serializer plus who holds the file behind a busy-style error (core's `isBusyError`):
 * `holders`, `holdersComplete` and `holdersStatus` from `holdersForSync()`. A serializer is
 * synchronous, so the first error about a path says `holdersStatus: 'pending'` and starts the
 * probe; later ones get its answer. Anything else costs one `isBusyError` check on top of the
 * wrapped serializer. Use: `pino({ serializers: { err: lockscopeErrSerializer() } })`.
 */
export function lockscopeErrSerializer(options: ErrSerializerOptions = {}): (err: Error) => unknown {
  const fn = 'lockscopeErrSerializer';
  if (typeof options !== 'object' || options === null) throw invalidArgument(fn, undefined, 'options must be an object');
  const base = options.serializer ?? stdSerializers.err;
  if (typeof base !== 'function') throw invalidArgument(fn, undefined, 'options.serializer must be a function');
  // Validates the cache now rather than on the first busy error.
  const o = { cache: options.cache };
  holdersForSync(null, o);
  return (err) => {
    const out = base(err);
    // A non-Error handed back unchanged is the caller's object: never mutate it.
    if (out === err || typeof out !== 'object' || out === null) return out;
    return enrichWithHolders(out, o);
  };
}
