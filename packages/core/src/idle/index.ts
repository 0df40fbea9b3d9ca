/**
 * waitIdle(path): resolves once no process writes the file (fds open for writing, shared writable
 * maps, exclusive locks: from the probe) and its content and metadata have not changed for
 * `quietMs`. See docs/idle.md for the algorithm and why a late or lost event cannot fool it.
 *
 * Change detection: a nonblocking inotify fd (platform/linux/inotify.ts) drained from a 2 ms timer
 * on the main thread. Not a waiter thread: the quiet window is milliseconds to seconds long, so a
 * thread (30-50 ms to start, an isolate, a signal protocol to cancel) buys nothing a 2 ms poll
 * does not, and a poll never touches the libuv threadpool, cancels synchronously and can leave
 * nothing behind. Without inotify (limits reached, LOCKSCOPE_INOTIFY=0) the same loop polls stat.
 */
import { performance } from 'node:perf_hooks';
import { invalidArgument, lockErrorFromErrno, LockError, unsupportedPlatform, errnoNumber } from '../errors.js';
import { isAbortSignal, watchAbort } from '../lock/abort.js';
import { checkTimeout } from '../lock/request.js';
import { lockErrors } from '../errors/factories.js';
import { checkPath, show } from '../path.js';
import { waitAbortError, waitTimeoutError } from '../lock/errors.js';
import { idleChannel } from '../diagnostics/channels.js';
import { publishRecord } from '../diagnostics/direct.js';
import { buildRecord } from '../record/build.js';
import { linuxProbe } from '../platform/linux/probe.js';
import { parseLocks, procDev, readProc } from '../platform/linux/probe-proc.js';
import type { ProbeResult } from '../probe/types.js';
import type { RecordHolder } from '../record/index.js';
import * as N from '../platform/linux/inotify.js';
import type { FileStat } from '../platform/linux/inotify.js';
import { WatchedFile } from './file.js';
import { writerKey, writersOf } from './writers.js';
import type { IdleChange, IdleChangeType, IdleFollow, IdleResult, IdleWriter, WaitIdleOptions } from './types.js';

export type * from './types.js';

const FN = 'waitIdle';
const KNOWN_OPTIONS = new Set(['quietMs', 'timeout', 'signal', 'follow', 'self']);
const MAX_MS = 2 ** 31 - 1;
/** inotify poll period: bounds how late a close or write is noticed (idleSince is never early). */
const POLL_MS = 2;
/** Keeps /proc/locks warm (well within a grace period) while taking the kernel's lock as seldom as that allows. */
const WARM_MS = 4;
const ENOENT = errnoNumber('ENOENT') ?? 2;
const EISDIR = errnoNumber('EISDIR') ?? 21;

interface Options {
  path: string;
  quietMs: number;
  timeout: number;
  signal: AbortSignal | undefined;
  follow: IdleFollow;
  self: boolean;
}

function parseOptions(path: unknown, options: unknown): Options {
  const p = checkPath(FN, path, lockErrors);
  if (options === undefined || options === null)
    return { path: p, quietMs: 1000, timeout: Infinity, signal: undefined, follow: 'path', self: false };
  if (typeof options !== 'object') throw invalidArgument(FN, p, 'options must be an object');
  for (const k in options) if (!KNOWN_OPTIONS.has(k)) throw invalidArgument(FN, p, `unknown option '${k}'`);
  const o = options as WaitIdleOptions;
  const quietMs = o.quietMs ?? 1000;
  if (typeof quietMs !== 'number' || !Number.isFinite(quietMs) || quietMs < 0 || quietMs > MAX_MS) {
    throw invalidArgument(FN, p, `quietMs must be a number of ms from 0 to ${MAX_MS}, got ${show(quietMs)}`);
  }
  const timeout = checkTimeout(FN, p, o.timeout);
  if (o.signal !== undefined && !isAbortSignal(o.signal)) throw invalidArgument(FN, p, 'signal must be an AbortSignal');
  const follow = o.follow ?? 'path';
  if (follow !== 'path' && follow !== 'inode') throw invalidArgument(FN, p, `follow must be 'path' or 'inode', got ${show(follow)}`);
  const self = o.self ?? false;
  if (typeof self !== 'boolean') throw invalidArgument(FN, p, `self must be a boolean, got ${show(self)}`);
  return { path: p, quietMs, timeout, signal: o.signal, follow, self };
}

/**
 * Wait until nobody writes `path` and it has not changed for `quietMs` (default 1000). Never
 * throws: failures reject with a LockError (reasons `timeout`, `aborted`, `not-found` when the
 * file is deleted, `invalid-argument`, `unsupported` off Linux).
 */
export function waitIdle(path: string | URL, options?: WaitIdleOptions): Promise<IdleResult> {
  try {
    const o = parseOptions(path, options);
    if (process.platform !== 'linux') {
      throw unsupportedPlatform(
        FN,
        o.path,
        'waitIdle (it needs the access mode of every process that has the file open, which only the Linux probe reports)',
      );
    }
    try {
      N.loadNative();
    } catch (cause) {
      throw Object.assign(unsupportedPlatform(FN, o.path, 'waitIdle (the native layer did not load)'), { cause });
    }
    if (o.signal?.aborted) throw waitAbortError(FN, o.path, 0, o.signal, `aborted before waiting for '${o.path}' to be idle`);
    return new IdleWait(o).promise;
  } catch (e) {
    return Promise.reject(e);
  }
}

interface Tracked extends IdleWriter {
  goneAt: number | null;
}

class IdleWait {
  readonly promise: Promise<IdleResult>;
  private resolve!: (r: IdleResult) => void;
  private reject!: (e: unknown) => void;
  private done = false;
  private readonly t0 = performance.now();
  /** performance.now() -> ms since the epoch. */
  private readonly epoch0 = Date.now() - this.t0;

  private readonly file: WatchedFile;
  /** Stat when the quiet window began: the final check compares a fresh stat with it. */
  private readonly base: FileStat = N.emptyStat();
  private readonly scratch: FileStat = N.emptyStat();

  private timer: NodeJS.Timeout | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private unwatchAbort: (() => void) | null = null;
  private readonly ac = new AbortController();

  /** Start of the quiet window (performance.now()). */
  private windowStart: number;
  private lastOpenAt = -Infinity;
  private lastCloseAt = -Infinity;
  private missingSince: number | null = null;
  private renamedReported = false;
  private needProbe = true;
  private probing: Promise<void> | null = null;
  /** The last completed probe: when it started and ended, and which window end it confirms (NaN: none). */
  private last: { start: number; end: number; for: number } | null = null;
  /** How long a probe with maps takes here (ms, moving average): the confirmation starts that early. */
  private probeEstimate = 5;
  /** Whether the kernel's lease check can confirm idleness (false once it answered EACCES/EINVAL). */
  private fast = true;
  /** The kernel said "written" while a probe ran: ask again once that probe has answered. */
  private busyTillProbe = false;
  /** The last completed probe's `complete`; false until one completed. */
  private complete = false;
  /** The window end /proc/locks is being kept warm for (NaN: none yet), and when it was last read. */
  private warmFor = NaN;
  private warmAt = -Infinity;
  /** The last probe was complete and saw no other process with the file open, and no lock on it. */
  private unopened = false;

  private readonly all = new Map<string, Tracked>();
  private current = new Set<string>();
  private readonly changes: IdleChange[] = [];
  private modifications = 0;

  constructor(private readonly o: Options) {
    this.promise = new Promise<IdleResult>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.windowStart = this.t0;
    this.file = new WatchedFile(o.path, o.follow === 'path');
    const rc = this.file.target();
    if (rc < 0) {
      this.release();
      throw lockErrorFromErrno(
        rc === -EISDIR ? 'waitIdle' : 'open',
        -rc,
        o.path,
        undefined,
        rc === -EISDIR ? { message: `EISDIR: path is a directory; waitIdle watches a file, waitIdle '${o.path}'` } : undefined,
      );
    }
    this.setBase();
    if (o.timeout !== Infinity) this.timeoutTimer = setTimeout(() => this.giveUp('timeout'), o.timeout);
    // One listener per signal however many waits share it (lock/abort.ts).
    if (o.signal) this.unwatchAbort = watchAbort(o.signal, () => this.giveUp('aborted'));
    // Ref'd like any pending I/O: a script that awaits waitIdle() waits for it.
    this.timer = setTimeout(this.tick, 0);
  }

  // ---- the file ------------------------------------------------------------------------------

  private get cur(): FileStat {
    return this.file.cur;
  }

  private get inotify(): boolean {
    return this.file.detection === 'inotify';
  }

  private setBase(): void {
    if (this.file.statNow(this.base) < 0) Object.assign(this.base, this.cur);
  }

  /**
   * A /proc/locks read ahead of the window end, its answer unused: it pays the grace period (see
   * coldLocksMs) before the end, and a read every WARM_MS until then keeps the kernel from going back
   * to its idle state, so the read that decides, at the end, returns in microseconds.
   */
  private warmLocks(end: number, now: number): void {
    if (this.warmFor === end && now - this.warmAt < WARM_MS) return;
    const t = performance.now();
    writeLocked(this.cur.dev, this.cur.ino);
    this.warmAt = performance.now();
    if (this.warmFor === end) return;
    this.warmFor = end;
    coldLocksMs = Math.max(performance.now() - t, coldLocksMs * 0.9);
  }

  /** Something changed or someone was writing at `t`: the quiet window starts again there. */
  private touch(t: number): void {
    if (t <= this.windowStart) return;
    this.windowStart = t;
    this.setBase();
  }

  private change(type: IdleChangeType, now: number, extra: Partial<IdleChange> = {}): void {
    this.changes.push({ type, at: Math.round(this.epoch0 + now), ino: this.cur.ino, size: this.cur.size, ...extra });
  }

  // ---- the loop ------------------------------------------------------------------------------

  private readonly tick = (): void => {
    this.timer = null;
    if (this.done) return;
    try {
      this.step();
    } catch (e) {
      this.fail(
        e instanceof LockError
          ? e
          : new LockError({
              code: 'EIO',
              errno: errnoNumber('EIO') ?? 5,
              syscall: FN,
              path: this.o.path,
              kind: undefined,
              reason: 'io',
              message: `EIO: ${String((e as Error)?.message ?? e)}, waitIdle '${this.o.path}'`,
              cause: e,
            }),
      );
      return;
    }
    this.schedule();
  };

  private schedule(): void {
    if (this.done) return;
    if (this.timer) clearTimeout(this.timer);
    let delay = this.inotify ? POLL_MS : Math.min(50, Math.max(POLL_MS, this.o.quietMs / 20));
    const end = this.windowStart + this.o.quietMs;
    const now = performance.now();
    if (end > now) delay = Math.min(delay, end - now);
    this.timer = setTimeout(this.tick, Math.max(0, delay));
  }

  private step(): void {
    const now = this.sense();
    if (this.done) return;
    const end = this.windowStart + this.o.quietMs;
    if (this.missingSince !== null) {
      if (now - this.missingSince >= this.o.quietMs) {
        this.fail(
          lockErrorFromErrno('stat', ENOENT, this.o.path, undefined, {
            message:
              `ENOENT: '${this.o.path}' names no file for ${Math.round(now - this.missingSince)} ms ` +
              `(it was ${this.changes.some((c) => c.type === 'deleted') ? 'deleted' : 'renamed away'} and nothing took its place), ` +
              `waitIdle '${this.o.path}'`,
          }),
        );
      }
      return;
    }
    const idleWriters = this.current.size === 0;
    const l = this.last;
    const access = [...this.current].map((k) => this.all.get(k)!.access);
    // Writers the last probe saw, all with an fd or a map, and a close reported since: they may
    // all be gone, and if they are, they left at a close (which started the window).
    const maybeGone = !idleWriters && this.inotify && !access.includes('lock') && this.lastCloseAt > (l?.start ?? -Infinity);
    // A confirmation: a probe made for this very window end, with no open since it started.
    const confirmed = idleWriters && l !== null && l.for === end && l.start >= this.lastOpenAt && l.start >= this.windowStart;
    if (confirmed && now >= end) {
      this.finish(now);
      return;
    }
    // Every lock belongs to an open of the file: with none anywhere at the last complete probe and
    // no open since, there can be none, and /proc/locks is not read at all.
    const noOpens = this.o.self === false && l !== null && this.unopened && l.start > this.lastOpenAt;
    const lockCheck = this.fast && (idleWriters || maybeGone) && !noOpens;
    if (this.fast && !this.busyTillProbe && (idleWriters || maybeGone) && now >= end) {
      // The kernel's answer, this instant: no write lock (/proc/locks: what is left is an exclusive
      // flock through a read-only fd), then no open for writing anywhere.
      const locked = lockCheck && writeLocked(this.cur.dev, this.cur.ino);
      const w = this.file.openForWrite();
      if (w === 0 && !locked) {
        this.depart(this.current, this.lastCloseAt);
        this.finish(now);
        return;
      }
      if (w < 0) this.fast = false;
      else if (this.probing) this.busyTillProbe = true;
      else {
        // Somebody writes (maybe this process, or one the probe cannot see): the probe says who.
        this.startProbe(end, true, w === 1);
        return;
      }
    }
    if (lockCheck && now < end && now >= end - Math.min(this.o.quietMs / 4, coldLocksMs * 1.5 + POLL_MS)) this.warmLocks(end, now);
    if (this.probing) return;
    // A writer with an fd or a map leaves with a close the kernel reports; a lock can be dropped
    // without any event, and without inotify nothing is reported: those are polled.
    const polled = !this.inotify || access.includes('lock');
    const reprobe = polled ? Math.min(1000, Math.max(20, this.o.quietMs / 2)) : Math.max(1000, this.o.quietMs);
    const sinceProbe = l === null ? Infinity : now - l.end;
    // With inotify the confirming probe may start so as to end at the window end (any open after
    // its start is in the queue drained before resolving); without, it must start after the end.
    const lead = this.inotify ? Math.min(this.o.quietMs / 2, this.probeEstimate * 1.5 + POLL_MS) : 0;
    const confirming = idleWriters && !confirmed && !this.fast && now >= end - lead;
    if (this.needProbe || confirming || (!idleWriters && sinceProbe >= reprobe) || (!this.inotify && sinceProbe >= reprobe)) {
      // Maps (the costly part of a scan) for the first look, the confirmation, mapped writers, and without inotify.
      this.startProbe(confirming ? end : NaN, l === null || confirming || access.includes('mmap') || !this.inotify);
    }
  }

  /**
   * Drain events (or, without inotify, compare a stat) and act on what changed. Returns the time
   * taken right after the drain: what it found happened before then, never after.
   */
  private sense(): number {
    const s = this.file.sense();
    const now = performance.now();
    if (s.overflow) this.change('overflow', now);
    if (s.opened || s.overflow) this.lastOpenAt = now;
    if (s.closed) this.lastCloseAt = now;
    if (s.opened || s.closed || s.overflow) this.needProbe = true;
    if (s.truncated) this.change('truncated', now);
    if (s.deleted) {
      this.change('deleted', now);
      if (this.o.follow === 'inode') {
        this.fail(
          lockErrorFromErrno('unlink', ENOENT, this.o.path, undefined, {
            message: `ENOENT: the file was deleted while waiting for it to be idle, waitIdle '${this.o.path}'`,
          }),
        );
        return now;
      }
    }
    if (s.changed) {
      this.modifications++;
      this.touch(now);
    }
    if (s.structural || this.missingSince !== null) this.checkPath(now);
    return now;
  }

  /** Does the path still name the watched file? Rotation, rename, disappearance. */
  private checkPath(now: number): void {
    const state = this.file.pathState();
    const same = state === 'same';
    if (this.o.follow === 'inode') {
      if (!same && !this.renamedReported) {
        this.renamedReported = true;
        this.change('renamed', now);
        this.touch(now);
      } else if (same) this.renamedReported = false;
      return;
    }
    if (same) {
      this.missingSince = null;
      return;
    }
    if (state === 'missing') {
      if (this.missingSince === null) {
        this.missingSince = now;
        this.change('missing', now);
        this.touch(now);
      }
      return;
    }
    const previousIno = this.cur.ino;
    if (this.file.target() < 0) return; // gone again between the stat and the open: next tick
    this.missingSince = null;
    this.change('rotated', now, { previousIno });
    // The old file's writers write elsewhere now; the new file's are found by the next probe.
    this.depart(this.current, now);
    this.current = new Set();
    this.last = null;
    this.needProbe = true;
    this.windowStart = -Infinity;
    this.touch(now);
  }

  // ---- writers ------------------------------------------------------------------------------

  /** `leaseBusy`: the kernel said someone has the file open for writing, whom the probe must then find. */
  private startProbe(forEnd: number, maps: boolean, leaseBusy = false): void {
    this.needProbe = false;
    const start = performance.now();
    const dev = this.cur.dev;
    const ino = this.cur.ino;
    this.probing = linuxProbe
      .probe(
        { api: 'waitIdle', path: this.o.path, dev, ino },
        { depth: 'full', maps, timeout: Infinity, signal: this.ac.signal, redact: true, sliceMs: 4, threads: 1 },
      )
      .then(
        (r) => {
          this.probing = null;
          this.busyTillProbe = false;
          if (this.done || this.cur.dev !== dev || this.cur.ino !== ino) return;
          const end = performance.now();
          if (maps) this.probeEstimate = this.probeEstimate * 0.7 + (end - start) * 0.3;
          this.onProbe(r, start, end, forEnd, leaseBusy);
          this.schedule();
        },
        (e: unknown) => {
          this.probing = null;
          if (!this.done) this.fail(e);
        },
      );
  }

  private onProbe(r: ProbeResult, start: number, end: number, forEnd: number, leaseBusy: boolean): void {
    // Events that came in while the probe ran are applied first (they may move the window).
    this.sense();
    if (this.done) return;
    this.complete = r.complete;
    // Processes that exited while scanned cannot hold anything; any other unreadable one might.
    this.unopened =
      r.unreadable.every((u) => u.reason === 'exited') && r.locks.length === 0 && (r.openers ?? []).every((x) => x.pid === process.pid);
    if (leaseBusy && writersOf(r, null).size === 0) {
      // Open for writing, by no process this one can inspect (another user's, another PID
      // namespace): not idle, and nobody to name.
      this.complete = false;
      this.touch(end);
      this.last = { start, end, for: NaN };
      return;
    }
    const seen = writersOf(r, this.o.self ? null : process.pid);
    const at = Math.round(this.epoch0 + end);
    for (const [k, w] of seen) {
      const t = this.all.get(k);
      if (t) {
        t.lastSeenAt = at;
        t.goneAt = null;
      } else this.all.set(k, { ...w, firstSeenAt: Math.round(this.epoch0 + start), lastSeenAt: at, seenMs: 0, goneAt: null });
    }
    const departed = new Set([...this.current].filter((k) => !seen.has(k)));
    // Writers with an fd or a map leave with a close the kernel reports (IN_CLOSE_WRITE): they
    // left at that event. A lock can be dropped without any event: then at this probe.
    const byClose =
      this.inotify && [...departed].every((k) => this.all.get(k)!.access !== 'lock') && this.lastCloseAt > (this.last?.start ?? -Infinity);
    const leftAt = byClose ? this.lastCloseAt : end;
    if (seen.size > 0) this.touch(end);
    else if (departed.size > 0) this.touch(leftAt);
    this.depart(departed, leftAt);
    this.current = new Set(seen.keys());
    this.last = { start, end, for: forEnd };
  }

  private depart(keys: Set<string>, t: number): void {
    const at = Math.round(this.epoch0 + t);
    for (const k of keys) {
      const w = this.all.get(k);
      if (w && w.goneAt === null) w.goneAt = at;
    }
  }

  // ---- endings ------------------------------------------------------------------------------

  private writers(): IdleWriter[] {
    return [...this.all.values()].map(({ goneAt, ...w }) => ({ ...w, seenMs: Math.max(0, (goneAt ?? w.lastSeenAt) - w.firstSeenAt) }));
  }

  private finish(now: number): void {
    // Late or lost events cannot make it early: a fresh stat must match the one at the window start.
    if (this.file.statNow(this.scratch) === 0 && !N.sameStat(this.scratch, this.base)) {
      this.modifications++;
      Object.assign(this.cur, this.scratch);
      this.touch(now);
      return;
    }
    if (this.o.follow === 'path') {
      this.checkPath(now);
      if (this.missingSince !== null || this.windowStart === now) return;
    }
    const result: IdleResult = {
      path: this.o.path,
      dev: this.cur.dev,
      ino: this.cur.ino,
      size: this.cur.size,
      idleSince: Math.round(this.epoch0 + this.windowStart),
      waitedMs: now - this.t0,
      writers: this.writers(),
      changes: this.changes,
      modifications: this.modifications,
      complete: this.complete,
      detection: this.file.detection,
    };
    const probing = this.probing;
    this.release();
    publishRecord(idleChannel, 'idle', () => idleRecord(result, this.o));
    // A probe still naming writers is aborted; it closes its /proc directory fd at its next slice.
    if (probing) void probing.finally(() => this.resolve(result));
    else this.resolve(result);
  }

  private giveUp(reason: 'timeout' | 'aborted'): void {
    if (this.done) return;
    const waited = performance.now() - this.t0;
    const current = this.writers().filter((w) => this.current.has(writerKey(w)));
    const why =
      current.length > 0
        ? `still written by ${current.map((w) => `pid ${w.pid} (${w.command ?? '?'})`).join(', ')}`
        : this.missingSince !== null
          ? 'the path names no file'
          : this.last === null
            ? // A slow machine can take longer than the timeout for the first look: say so, name nobody.
              'its writers were not known yet (the first look through /proc had not finished)'
            : `changed ${Math.round(performance.now() - this.windowStart)} ms ago`;
    const holders = current.map(asHolder);
    this.fail(
      reason === 'timeout'
        ? waitTimeoutError(
            FN,
            this.o.path,
            waited,
            `gave up after ${Math.round(waited)} ms (timeout ${this.o.timeout} ms) waiting for '${this.o.path}' to be idle: ${why}`,
            holders,
          )
        : waitAbortError(
            FN,
            this.o.path,
            waited,
            this.o.signal!,
            `aborted after ${Math.round(waited)} ms waiting for '${this.o.path}' to be idle: ${why}`,
            holders,
          ),
    );
  }

  private fail(err: unknown): void {
    if (this.done) return;
    const probing = this.probing;
    this.release();
    // A probe in flight closes its /proc directory fd at its next slice: reject after it did.
    if (probing) void probing.finally(() => this.reject(err));
    else this.reject(err);
  }

  /** Everything this wait holds, given back: timers, listener, watches, the inotify fd, the O_PATH fd. */
  private release(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    this.timer = this.timeoutTimer = null;
    this.unwatchAbort?.();
    this.unwatchAbort = null;
    this.ac.abort();
    this.file?.close();
  }
}

/**
 * How long a /proc/locks read takes when nobody read it for a while (ms; a decaying max, shared by
 * every wait in the process). Its read takes the kernel's file-lock rwsem for writing, which, from
 * its idle state, waits for an RCU grace period first: 0.2 ms on an idle host, 10-20 ms (up to 70)
 * on this 2-core one at load 6-8, with the event loop stalled; a read within a few ms of the
 * previous one finds the rwsem still in writer mode and takes 0.1-0.2 ms.
 */
let coldLocksMs = 20;

/** Whether /proc/locks shows a write lock held (not waited for) on the file. */
function writeLocked(dev: number, ino: number): boolean {
  let text: string;
  try {
    text = readProc('/proc/locks');
  } catch {
    return true; // cannot tell: the probe decides
  }
  return parseLocks(text, ` ${procDev(dev)}:${ino} `).some((l) => !l.waiter && l.rawMode === 'WRITE');
}

function asHolder(w: IdleWriter): RecordHolder {
  const { access: _a, firstSeenAt: _f, lastSeenAt: _l, seenMs: _s, ...holder } = w;
  return holder;
}

function idleRecord(r: IdleResult, o: Options) {
  return buildRecord('idle', {
    path: r.path,
    dev: r.dev,
    ino: r.ino,
    waitedMs: r.waitedMs,
    holders: r.writers.map(asHolder),
    holdersComplete: r.complete,
    idle: {
      idleSince: r.idleSince,
      quietMs: o.quietMs,
      follow: o.follow,
      modifications: r.modifications,
      changes: r.changes,
      writers: r.writers.map((w) => ({
        pid: w.pid,
        startTime: w.startTime,
        fd: w.fd,
        access: w.access,
        firstSeenAt: w.firstSeenAt,
        seenMs: w.seenMs,
      })),
    },
  });
}
