/**
 * The names lockscope's contracts are made of, each defined once as an `as const` list with its
 * type derived from it: validators, docs tables and types all read these.
 */

/** Lock kinds: BSD flock, open-file-description fcntl locks, classic POSIX fcntl locks. */
export const LOCK_KINDS = ['flock', 'ofd', 'posix'] as const;
export type LockKind = (typeof LOCK_KINDS)[number];

/** Closed set of failure reasons: the stable thing to branch on across platforms. */
export const ERROR_REASONS = [
  'contended',
  'timeout',
  'aborted',
  'permission',
  'not-found',
  'invalid-argument',
  'unsupported',
  'deadlock',
  'io',
] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

/** Lock modes: one exclusive holder, or any number of shared ones. */
export const LOCK_MODES = ['exclusive', 'shared'] as const;
export type LockMode = (typeof LOCK_MODES)[number];

/** Events of a lockscope record (record/index.ts, schema/record.v1.schema.json). */
export const RECORD_EVENTS = Object.freeze([
  'acquired', // a wait (or try) ended with the lock held
  'contended', // a wait passed its contention threshold (still waiting)
  'timeout', // terminal: the wait gave up after `timeout` ms
  'aborted', // terminal: the AbortSignal fired
  'error', // terminal: any other failure
  'released', // a held lock was released
  'held-too-long', // holder side: held longer than holdWarning
  'leaked', // a handle was garbage-collected without release
  'probe', // a probe call completed
  'idle', // waitIdle() found the file idle
] as const);
export type RecordEvent = (typeof RECORD_EVENTS)[number];

/** Instrumentation options a lock call accepts (config.ts InstrumentationCallOptions). */
export const INSTRUMENTATION_CALL_OPTIONS = ['label', 'contentionThreshold', 'holdWarning', 'holdWarningInterval', 'report'] as const;

/** Options lock(), tryLock() and withLock() accept (lock/types.ts LockOptions). */
export const LOCK_OPTIONS = ['mode', 'kind', 'timeout', 'signal', 'create', 'fileMode', 'range', ...INSTRUMENTATION_CALL_OPTIONS] as const;

/** Keys configure() accepts (config.ts ConfigureOptions). */
export const CONFIG_OPTIONS = [
  'contentionThreshold',
  'holdWarning',
  'holdWarningInterval',
  'holdersDeadline',
  'report',
  'snapshot',
  'cards',
  'cardDelay',
  'cardDir',
] as const;

/** Keys of configure({ snapshot }) (config.ts SnapshotConfig). */
export const SNAPSHOT_OPTIONS = ['stack', 'maxInProcess', 'eventLoopDelay'] as const;

/** Probe depths (probe/types.ts ProbeOptions). */
export const PROBE_DEPTHS = ['holders', 'full'] as const;
export type ProbeDepth = (typeof PROBE_DEPTHS)[number];

/** Whether two key sets are the same. */
export type SameKeys<A extends PropertyKey, B extends PropertyKey> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** A compile-time check: `KeysMatch<SameKeys<keyof I, (typeof LIST)[number]>>` fails to compile on a mismatch. */
export type KeysMatch<T extends true> = T;
