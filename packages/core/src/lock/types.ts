import type { InstrumentationCallOptions } from '../config.js';
import type { KeysMatch, LockKind, LockMode, LOCK_OPTIONS, SameKeys } from '../vocabulary.js';

export type { LockKind, LockMode } from '../vocabulary.js';

/** A byte range for `ofd` and `posix` locks. `length` 0 means "to end of file, however it grows". */
export interface LockRange {
  start: number;
  length: number;
}

/**
 * Lock options. The instrumentation options (`label`, `contentionThreshold`, `holdWarning`,
 * `holdWarningInterval`, `report`: docs/diagnostics-channels.md) override `configure()` for one call.
 */
export interface LockOptions extends InstrumentationCallOptions {
  /** 'exclusive' (default) or 'shared'. */
  mode?: LockMode;
  /** 'flock' (default: interoperates with flock(1), Python filelock, gofrs/flock), 'ofd' or 'posix'. */
  kind?: LockKind;
  /** Give up after this many ms (reason 'timeout'). Default: wait forever. 0: one attempt, no wait. */
  timeout?: number;
  /** Give up when aborted (reason 'aborted'). */
  signal?: AbortSignal;
  /** Create a missing file (default true). Missing parent directories are always an error. */
  create?: boolean;
  /** Permission bits for a created file (default 0o600, then the umask applies). */
  fileMode?: number;
  /** Byte range, `ofd` and `posix` only. Default: the whole file. */
  range?: LockRange;
}

/** Compile-time: LockOptions and LOCK_OPTIONS (what the validator accepts) name the same keys. */
export type LockOptionKeys = KeysMatch<SameKeys<keyof LockOptions, (typeof LOCK_OPTIONS)[number]>>;
