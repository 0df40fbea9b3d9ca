/**
 * Version 1 of the lockscope record: the one shape every adapter (pino, winston, OTel) reads.
 * Changing a field here is a schema change: keep schema/record.v1.schema.json in step.
 * Imported by adapters as `@lockscope/core/record`.
 */

import type { LockKind, LockMode, RecordEvent } from '../vocabulary.js';

export const RECORD_SCHEMA_VERSION = 1 as const;

export type { RecordEvent } from '../vocabulary.js';
/** The lock kinds and modes of records: the lock API's own (vocabulary.ts). */
export type RecordLockKind = LockKind;
export type RecordLockMode = LockMode;

export interface RecordRange {
  start: number;
  /** 0 means "to end of file, however it grows". */
  length: number;
}

export interface RecordError {
  code: string;
  errno: number;
  syscall: string;
  reason: string;
  message: string;
}

/** A process that holds (or waits for, or has open) the file, as the probe saw it. */
export interface RecordHolder {
  pid: number;
  /** Process start time (ms since epoch); pid + startTime identifies a process across PID reuse. */
  startTime: number | null;
  command: string | null;
  /** argv with secrets replaced by "[redacted]" (unless the user turned redaction off). */
  argv: string[] | null;
  uid: number | null;
  user: string | null;
  /** The kernel lock class as /proc/locks names it: FLOCK, POSIX, OFDLCK, LEASE... lower-cased. */
  lockKind: string | null;
  /** 'shared' (READ) or 'exclusive' (WRITE); null for a process that only has the file open. */
  lockMode: RecordLockMode | null;
  /** 'holder' holds a lock, 'waiter' is blocked on one, 'opener' only has the file open. */
  role: 'holder' | 'waiter' | 'opener';
  fd: number | null;
  range: RecordRange | null;
  /** Set when the holder is itself a lockscope process that published a holder card. */
  card?: RecordHolderCard;
}

/** What a lockscope holder says about itself (read from its card file, never asked for). */
export interface RecordHolderCard {
  label: string | null;
  /** When the holder acquired the lock (ms since epoch). */
  acquiredAt: number;
  /** Stack of the call that acquired the lock (file paths and line numbers only). */
  stack: string | null;
}

export interface RecordWaiterInfo {
  path: string;
  kind: RecordLockKind;
  mode: RecordLockMode;
  role: 'waiter' | 'holder';
  /** ms waited or held so far. */
  sinceMs: number;
  label: string | null;
  stack: string | null;
}

export interface RecordSnapshot {
  /** Stack of the waiting call, captured when it started. */
  stack: string | null;
  /** process.getActiveResourcesInfo() counted by type. */
  activeResources: Record<string, number>;
  /** Other lockscope waiters and holders in this process. */
  inProcess: RecordWaiterInfo[];
  /**
   * Event-loop delay (ms) at snapshot time, how late the loop ran what was due (an idle loop
   * reads about 0): p50, p99 and max over the recent window (`windowMs` long, at most about
   * 10 s); null when the monitor is off or had no sample yet.
   */
  eventLoopDelay: { p50: number; p99: number; max: number; windowMs: number } | null;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
  /** Excerpt of Node's diagnostic report when `report: true`; never its environment. */
  report?: {
    libuvHandles: Array<{ type: string; is_active?: boolean; is_referenced?: boolean; fd?: number }>;
    nativeStack: string[];
  };
  /** Time the snapshot took to capture (ms). */
  costMs: number;
}

/**
 * What happened to a file while waitIdle() waited, other than plain writes:
 * - `truncated`: the same file got smaller (copytruncate, `> file`);
 * - `rotated`: the path now names another file (rename-and-create, replace by rename);
 * - `renamed`: the watched file was renamed or moved away (`follow: 'inode'` keeps watching it);
 * - `missing`: the path named no file for a while (`follow: 'path'`, between a rename and the create);
 * - `deleted`: the file was unlinked;
 * - `overflow`: the kernel's event queue overflowed (events lost: the quiet window started over).
 */
export type RecordIdleChangeType = 'truncated' | 'rotated' | 'renamed' | 'missing' | 'deleted' | 'overflow';

export interface RecordIdleChange {
  type: RecordIdleChangeType;
  /** When it was seen (ms since the epoch). */
  at: number;
  /** The inode watched after the change (for `rotated`: the new file). */
  ino: number;
  /** `rotated`: the inode watched before. */
  previousIno?: number;
  /** Size after the change (bytes). */
  size?: number;
}

/** How a process was writing: an fd open for writing, a shared writable memory map, or an exclusive lock. */
export type RecordIdleAccess = 'w' | 'rw' | 'mmap' | 'lock';

/** The `idle` part of an `idle` record: who was writing, for how long, what changed. */
export interface RecordIdle {
  /** Since when the file has been idle (ms since the epoch). */
  idleSince: number;
  quietMs: number;
  follow: 'path' | 'inode';
  /** Content or metadata changes seen while waiting. */
  modifications: number;
  changes: RecordIdleChange[];
  /** The processes waited for (their details are in `holders`, same order). */
  writers: Array<{
    pid: number;
    startTime: number | null;
    fd: number | null;
    access: RecordIdleAccess;
    firstSeenAt: number;
    seenMs: number;
  }>;
}

export interface LockscopeRecord {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  event: RecordEvent;
  /** ISO 8601 time the record was made. */
  time: string;
  path: string;
  dev: number | null;
  ino: number | null;
  kind: RecordLockKind | null;
  mode: RecordLockMode | null;
  range: RecordRange | null;
  /** This process. */
  pid: number;
  /** os.hostname() of this process (optional: absent in records written before it was added). */
  host?: string | null;
  /** Linux boot id: tells a pid of one boot from the same pid after a reboot. */
  bootId?: string | null;
  /** This process's start time, ms since epoch, on the clock of `holders[].startTime`. */
  startTime?: number | null;
  /**
   * Per-process id of the wait (lock call) this record belongs to: the `contended` record and the
   * terminal record of one wait share it, and so does the acquire tracing context. Null otherwise.
   */
  waitId: number | null;
  /** Per-process id of the hold: `acquired`, `held-too-long`, `released` and `leaked` share it. */
  holdId: number | null;
  label: string | null;
  /** Wait so far (contended) or total wait (terminal events), ms. */
  waitedMs: number | null;
  /** Time held (released, held-too-long, leaked), ms. */
  heldMs: number | null;
  error: RecordError | null;
  holders: RecordHolder[];
  /** Whether the holder list is known complete (false when processes could not be read). */
  holdersComplete: boolean | null;
  snapshot: RecordSnapshot | null;
  /** Only on `idle` records. */
  idle?: RecordIdle;
}

/**
 * The message published on the `lockscope:lock:acquire` TracingChannel (start, end, asyncStart,
 * asyncEnd, error). Node adds `result` or `error`; lockscope adds `record` (the terminal record)
 * before `end` (sync) or `asyncEnd`/`error` (async) are published.
 */
export interface AcquireContext {
  path: string;
  kind: RecordLockKind;
  mode: RecordLockMode;
  range: RecordRange | null;
  label: string | null;
  /** true for `tryLock` (traceSync), false for `lock` (tracePromise). */
  sync: boolean;
  /** Same id as the wait's records; correlates `lockscope:lock:contended` with this call. */
  waitId: number;
  /** The terminal record; absent when tryLock found the lock busy (result null). */
  record?: LockscopeRecord;
  result?: unknown;
  error?: unknown;
}

/** The message published on the `lockscope:probe` TracingChannel. */
export interface ProbeContext {
  path: string;
  options: unknown;
  /** Record with event `probe`, set before `asyncEnd`/`error`. */
  record?: LockscopeRecord;
  result?: unknown;
  error?: unknown;
}

export { buildRecord, recordError, terminalEventFor, type RecordInit } from './build.js';
export { subscribeRecords, isRecord, recordOf, acquireEndIsTerminal, RECORD_CHANNELS, type SubscribeRecordsOptions } from './subscribe.js';
export { describeRecord, describeHolders, holdersElseOpeners } from './describe.js';
export { attachLogger, loggerOptions, type AttachLoggerOptions, type LoggerOptions } from './attach.js';
export { processIdentity, type ProcessIdentity } from './identity.js';
export { DEFAULT_RECORD_LEVELS, RECORD_EVENTS, resolveRecordLevels, type ResolveLevelsOptions } from './levels.js';
