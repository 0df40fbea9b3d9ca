/**
 * One object per lock request, from the call until release: everything instrumentation needs
 * (path, identity, kind, mode, range, timing, timeout, signal, state) lives here. It never
 * references its LockHandle, so a leaked handle can be garbage-collected and reported.
 */
import { performance } from 'node:perf_hooks';
import { resolveCallOptions } from '../config.js';
import type { Wait } from '../diagnostics/tracker.js';
import type { Hold } from '../diagnostics/holds.js';
import { invalidArgument } from '../errors.js';
import { lockErrors } from '../errors/factories.js';
import { checkPath, show } from '../path.js';
import { LOCK_KINDS, LOCK_MODES, LOCK_OPTIONS, type LockKind } from '../vocabulary.js';
import { isAbortSignal } from './abort.js';
import type { PendingWait } from '../platform/types.js';
import type { LockHandle } from './handle.js';
import type { InodeEntry, TableEntry } from './table.js';
import type { LockMode, LockOptions, LockRange } from './types.js';

/**
 * new -> (queued ->) trying -> (waiting ->) held -> released
 * queued: behind a conflicting request of this process; waiting: blocked in the kernel on a
 * waiter thread; cancelling: timed out/aborted while the kernel wait is being interrupted (the fd
 * stays open and the request keeps its place until the waiter thread let go of it).
 */
export type RequestState = 'new' | 'queued' | 'trying' | 'waiting' | 'cancelling' | 'held' | 'released' | 'failed';

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(LOCK_OPTIONS);
const MAX_TIMER_MS = 2 ** 31 - 1;

export class LockRequest {
  /** Absolute path as the caller named it (not resolved through symlinks). */
  readonly path: string;
  readonly kind: LockKind;
  readonly mode: LockMode;
  readonly exclusive: boolean;
  readonly range: LockRange | null;
  /** Byte range as the kernel sees it: whole file is 0/0. */
  readonly start: number;
  readonly length: number;
  /** ms; Infinity = wait forever. */
  readonly timeout: number;
  readonly signal: AbortSignal | undefined;
  readonly create: boolean;
  readonly fileMode: number;
  /** The public function that made it: 'lock' | 'tryLock' | 'withLock'. */
  readonly api: string;
  /** performance.now() at the call. */
  readonly startedAt: number;
  // Instrumentation options as given (validated; undefined = the configure() default). With the
  // fields above this object is the InstrumentedRequest the diagnostics layer reads.
  readonly label: string | undefined;
  readonly contentionThreshold: number | undefined;
  readonly holdWarning: number | undefined;
  readonly holdWarningInterval: number | undefined;
  readonly report: boolean | undefined;
  /** The tracked call while it acquires (only when someone listened at its start). */
  diag: Wait | undefined = undefined;
  /** The tracked hold while held. Neither references the LockHandle (leak detection). */
  hold: Hold | undefined = undefined;

  state: RequestState = 'new';
  fd = -1;
  /** Whether `fd` was opened read-write. */
  writable = false;
  dev = 0;
  ino = 0;
  /** In-process state of the file (same dev:ino through any path), once opened. */
  inode: InodeEntry | null = null;
  /** Its in-process table entry once the file's identity is known (null: fast path, engine.ts). */
  entry: TableEntry | null = null;
  /** Counted in the engine's table population (set with `entry`, cleared when it leaves). */
  placed = false;
  /** Index in the engine's list of fast-path holders not in the table (IndexedList), -1 when not there. */
  slot = -1;
  /** Where the wait happened, if it waited: behind an in-process holder or in the kernel. */
  waitedOn: 'in-process' | 'kernel' | null = null;
  /** The in-process request it queued behind (for messages and diagnostics). */
  blocker: LockRequest | null = null;
  /** ms since the epoch when granted. */
  acquiredAt = 0;
  waitedMs = 0;

  // Async plumbing, cleared when the promise settles.
  resolve: ((h: LockHandle) => void) | null = null;
  reject: ((e: unknown) => void) | null = null;
  timer: NodeJS.Timeout | null = null;
  /** Stops watching `signal` (abort.ts), while the wait watches it. */
  unwatchAbort: (() => void) | null = null;
  pending: PendingWait | null = null;

  constructor(api: string, path: unknown, options: LockOptions | undefined | null) {
    this.api = api;
    this.startedAt = performance.now();
    this.path = checkPath(api, path, lockErrors);
    if (options === undefined || options === null) {
      this.kind = 'flock';
      this.mode = 'exclusive';
      this.exclusive = true;
      this.range = null;
      this.start = 0;
      this.length = 0;
      this.timeout = Infinity;
      this.signal = undefined;
      this.create = true;
      this.fileMode = 0o600;
      this.label = this.contentionThreshold = this.holdWarning = this.holdWarningInterval = this.report = undefined;
      return;
    }
    if (typeof options !== 'object') throw invalidArgument(api, this.path, 'options must be an object');
    for (const k in options) {
      if (!KNOWN_OPTIONS.has(k)) throw invalidArgument(api, this.path, `unknown option '${k}'`);
    }
    const o = options;
    const kind = o.kind ?? 'flock';
    if (!(LOCK_KINDS as readonly unknown[]).includes(kind)) {
      throw invalidArgument(api, this.path, `kind must be 'flock', 'ofd' or 'posix', got ${show(kind)}`);
    }
    this.kind = kind;
    const mode = o.mode ?? 'exclusive';
    if (!(LOCK_MODES as readonly unknown[]).includes(mode)) {
      throw invalidArgument(api, this.path, `mode must be 'exclusive' or 'shared', got ${show(mode)}`, this.kind);
    }
    this.mode = mode;
    this.exclusive = mode === 'exclusive';
    this.timeout = checkTimeout(api, this.path, o.timeout, kind);
    const signal = o.signal;
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw invalidArgument(api, this.path, 'signal must be an AbortSignal', kind);
    }
    this.signal = signal;
    const create = o.create ?? true;
    if (typeof create !== 'boolean') throw invalidArgument(api, this.path, `create must be a boolean, got ${show(create)}`, kind);
    this.create = create;
    const fileMode = o.fileMode ?? 0o600;
    if (!Number.isInteger(fileMode) || fileMode < 0 || fileMode > 0o7777) {
      throw invalidArgument(api, this.path, `fileMode must be an integer from 0 to 0o7777, got ${show(fileMode)}`, kind);
    }
    this.fileMode = fileMode;
    const range = o.range;
    if (range === undefined || range === null) {
      this.range = null;
      this.start = 0;
      this.length = 0;
    } else {
      if (kind === 'flock') {
        throw invalidArgument(api, this.path, "range needs kind 'ofd' or 'posix' (flock always locks the whole file)", kind);
      }
      const { start, length } = range as Partial<LockRange>;
      if (typeof range !== 'object' || !isOffset(start) || !isOffset(length) || start + length > Number.MAX_SAFE_INTEGER) {
        throw invalidArgument(
          api,
          this.path,
          'range must be { start, length } with non-negative safe integers (length 0 = to end of file)',
          kind,
        );
      }
      this.range = { start, length };
      this.start = start;
      this.length = length;
    }
    this.label = o.label;
    this.contentionThreshold = o.contentionThreshold;
    this.holdWarning = o.holdWarning;
    this.holdWarningInterval = o.holdWarningInterval;
    this.report = o.report;
    // Validated even when nobody listens: a bad value is a bug whether or not it is observed.
    if (
      o.label !== undefined ||
      o.contentionThreshold !== undefined ||
      o.holdWarning !== undefined ||
      o.holdWarningInterval !== undefined ||
      o.report !== undefined
    ) {
      resolveCallOptions(api, this.path, o);
    }
  }
}

/** A `timeout` option: ms from 0 to 2^31-1 or Infinity; undefined means Infinity. */
export function checkTimeout(api: string, path: string, timeout: unknown, kind?: LockKind): number {
  const t = timeout ?? Infinity;
  if (typeof t !== 'number' || Number.isNaN(t) || t < 0 || (t > MAX_TIMER_MS && t !== Infinity)) {
    throw invalidArgument(api, path, `timeout must be a number of ms from 0 to ${MAX_TIMER_MS}, or Infinity, got ${show(t)}`, kind);
  }
  return t;
}

function isOffset(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
