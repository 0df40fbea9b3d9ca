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
