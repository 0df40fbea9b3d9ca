import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { liveConfig, resolveCallOptions, type InstrumentationCallOptions, type ResolvedCallOptions } from '../config.js';
import { LockError, invalidArgument } from '../errors.js';
import { buildRecord, recordError, terminalEventFor } from '../record/build.js';
import type {
  AcquireContext,
  LockscopeRecord,
  RecordError,
  RecordHolder,
  RecordLockKind,
  RecordLockMode,
  RecordRange,
  RecordSnapshot,
} from '../record/index.js';
import { readCards } from './cards.js';
import { contendedChannel } from './channels.js';
import { deliverDirect, publishRecord, wanted, wantedDirect } from './direct.js';
import { ensureEventLoopMonitor } from './eld.js';
import { holdStacks } from './holds.js';
import { instrumentationActive } from './listening.js';
import { registry, type Tracked } from './registry.js';
import { takeSnapshot } from './snapshot.js';
import { captureStack, type CapturedStack } from './stack.js';

export interface HolderResolution {
  holders: RecordHolder[];
  /** false when some processes could not be read or the deadline cut the scan short. */
  complete: boolean;
}

/**
 * Finds who holds (dev, ino). Backed by probe() in the engine. Must honour `deadlineMs` (return
 * what it found with complete: false); lockscope also stops waiting for it shortly after.
 */
export type HolderResolver = (
  path: string,
  dev: number | null,
  ino: number | null,
  options: { deadlineMs: number },
) => Promise<HolderResolution>;

let resolver: HolderResolver | null = null;
/** The probe, installed by the lock engine the first time a tracked call blocks. */
let defaultResolver: HolderResolver | null = null;
const RESOLVER_GRACE_MS = 50;

/** Overrides the holder resolver (tests, embedders); `null` goes back to the default (the probe). */
export function setHolderResolver(fn: HolderResolver | null): void {
  if (fn !== null && typeof fn !== 'function') throw invalidArgument('setHolderResolver', undefined, 'resolver must be a function or null');
  resolver = fn;
}

/** Sets the resolver used when no override is set (the engine passes the probe). */
export function setDefaultHolderResolver(fn: HolderResolver): void {
  defaultResolver = fn;
}

export function hasDefaultHolderResolver(): boolean {
  return defaultResolver !== null;
}

/** What the engine knows about a lock call; its normalized options object fits as is. */
export interface InstrumentedRequest extends InstrumentationCallOptions {
  kind: RecordLockKind;
  mode: RecordLockMode;
  range?: RecordRange | null | undefined;
  /** ms; Infinity or undefined = no timeout. Shortens the contention threshold (see blocked()). */
  timeout?: number | undefined;
  /** performance.now() at the call, when the engine has it (saves reading the clock again). */
  startedAt?: number;
  /** ms from the call to the grant, once held. */
  waitedMs?: number;
  /** Date.now() at the grant, once held. */
  acquiredAt?: number;
}

const WAITING = 0;
const CONTENDING = 1; // threshold passed, holders being resolved
const CONTENDED = 2; // contended record done
const DONE = 3;

let nextWaitId = 0;

/** One lock call being tracked. Opaque to the engine except for blocked(). */
export class Wait implements Tracked {
  readonly role = 'waiter' as const;
  readonly id = ++nextWaitId;
  readonly t0: number;
  readonly label: string | null;
  readonly range: RecordRange | null;
  dev: number | null = null;
  ino: number | null = null;
  /** @internal */ state = WAITING;
  /** @internal */ wasBlocked = false;
  /** @internal */ timer: NodeJS.Timeout | null = null;
  /** @internal */ holders: RecordHolder[] | null = null;
  /** @internal */ complete: boolean | null = null;
  /** @internal */ pending: Promise<void> | null = null;
  /** @internal */ ctx: AcquireContext | null = null;
  /** @internal What refused the latest attempt: the contended record's `error`. */
  refusal: RecordError | null = null;
  /** @internal The terminal record, for direct subscribers (direct.ts); set with ctx.record. */
  terminal: LockscopeRecord | null = null;
  /** Set by onHeld when this call acquired the lock. */
  holdId: number | null = null;
  /**
   * The caller's stack (captureStackTrace cuts at `caller`). When locks granted at once keep
   * theirs (the default), captured at the call's first line, where the frames V8 must decode above
   * the cut are fewest; with snapshot.stack 'waits', only when the call starts waiting or fails
   * (still inside the call, so the same stack).
   */
  stack: CapturedStack | null = null;
  /** @internal */ slot = -1;

  constructor(
    readonly path: string,
    readonly kind: RecordLockKind,
    readonly mode: RecordLockMode,
    range: RecordRange | null | undefined,
    readonly opts: ResolvedCallOptions,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
    readonly caller: Function,
    readonly timeout: number,
    t0: number,
  ) {
    this.t0 = t0;
    this.label = opts.label;
    this.range = range ?? null;
  }

  /**
   * Capture the caller's stack now if it is kept and not yet taken. Only valid while the public
   * call is still on the stack (the engine's synchronous part).
   */
  captureStack(): void {
    if (this.stack !== null) return;
    const cfg = liveConfig();
    if (cfg.snapshot.stack !== false || cfg.cards !== false) this.stack = captureStack(this.caller);
  }

  /**
   * The threshold this wait reports contention at: `contentionThreshold`, but at most half the
   * call's timeout, so a timeout always finds the holders already looked up while it waited.
   */
  get threshold(): number {
    return Math.min(this.opts.contentionThreshold, this.timeout / 2);
  }

  /** The file's identity, once the engine has opened it (for holders and cards). */
  setFile(dev: number, ino: number): void {
    this.dev = dev;
    this.ino = ino;
  }

  /** The engine calls this at each refused attempt (the errno it met, reason 'contended'). */
  refused(e: RecordError): void {
    this.refusal = e;
  }

  /**
   * The engine calls this when the first non-blocking attempt found the lock busy and the call
   * starts to wait. Arms the one contention timer (threshold counted from the call's start).
   */
  blocked(dev?: number, ino?: number): void {
    if (dev !== undefined && ino !== undefined) this.setFile(dev, ino);
    if (this.wasBlocked || this.state !== WAITING) return;
    this.captureStack();
    this.wasBlocked = true;
    const delay = Math.max(0, this.threshold - (performance.now() - this.t0));
    this.timer = setTimeout(onThreshold, delay, this);
    // A pending wait keeps the process alive through the engine's own handle, not this timer.
    this.timer.unref();
  }
}

/**
 * Starts tracking a lock call; undefined (and nothing else done) when nobody listens. Call it
 * synchronously at the top of the public function so the captured stack is the caller's;
 * `caller` (that public function) and everything above it is left out of the stack.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function beginWait(path: string, req: InstrumentedRequest, caller?: Function): Wait | undefined {
  if (!instrumentationActive()) return undefined;
  const fn = caller?.name || 'lock';
  const opts = resolveCallOptions(fn, path, req);
  const timeout = typeof req.timeout === 'number' && req.timeout >= 0 ? req.timeout : Infinity;
  const w = new Wait(path, req.kind, req.mode, req.range, opts, caller ?? beginWait, timeout, req.startedAt ?? performance.now());
  // Without a public caller to cut at, later is too late to tell the caller's frames apart. A
  // stack every hold keeps is cheapest taken here (measured: docs/benchmarks.md, issue 14).
  if (caller === undefined || holdStacks()) w.captureStack();
  registry.add(w);
  ensureEventLoopMonitor();
  return w;
}

function onThreshold(w: Wait): void {
  try {
    w.timer = null;
    if (w.state === WAITING) contend(w, performance.now() - w.t0, true);
  } catch {
    // never throw from a timer
  }
}

/**
 * The wait passed its threshold: snapshot now, resolve holders, then publish the one contended
 * record. `lookUp` false when the wait has already acquired the lock (the holders are gone).
 */
function contend(w: Wait, waitedMs: number, lookUp: boolean): void {
  w.state = CONTENDING;
  const time = Date.now();
  // The snapshot is of this moment; holders follow asynchronously.
  const snapshot = wanted(contendedChannel, 'contended') ? takeSnapshot({ stack: w.stack, self: w, report: w.opts.report }) : null;
  const holders = lookUp ? resolveHolders(w) : skipHolders(w);
  w.pending = holders.then(() => {
    try {
      publishRecord(contendedChannel, 'contended', () => record(w, 'contended', time, waitedMs, w.refusal ?? undefined, snapshot));
    } catch {
      // a record that cannot be built must not break the wait
    }
    if (w.state === CONTENDING) w.state = CONTENDED;
    w.pending = null;
  });
}

async function skipHolders(w: Wait): Promise<void> {
  w.holders = [];
  w.complete = false;
}

/**
 * A wait can end after its threshold before its contention timer ran: Node runs all expired
 * timers of one duration in a batch, so with a lagging event loop the engine's own timer or
 * completion may come first. The wait still passed the threshold: contend now, then end.
 */
function contendLate(w: Wait, waitedMs: number, lookUp: boolean): void {
  if (w.state === WAITING && w.wasBlocked && waitedMs >= w.threshold) contend(w, waitedMs, lookUp);
}

/**
 * Holders looked up when a wait ends blocked before its threshold get a quarter of the budget
 * (25 ms with the default 100): the caller is about to get its error and should not wait long.
 */
const terminalDeadlineMs = (): number => Math.max(1, liveConfig().holdersDeadline / 4);

async function resolveHolders(w: Wait, budgetMs?: number): Promise<void> {
  let holders: RecordHolder[] = [];
  let complete: boolean | null = null;
  try {
    if (w.dev === null || w.ino === null) {
      const st = await stat(w.path).catch(() => null);
      if (st && w.dev === null) w.setFile(st.dev, st.ino);
    }
    const r = resolver ?? defaultResolver;
    if (r !== null) {
      const deadlineMs = Math.min(liveConfig().holdersDeadline, budgetMs ?? Infinity);
      let t: NodeJS.Timeout | undefined;
      const late = new Promise<null>((res) => {
        t = setTimeout(res, deadlineMs + Math.min(RESOLVER_GRACE_MS, deadlineMs), null);
        t.unref();
      });
      let res: HolderResolution | null;
      try {
        res = await Promise.race([Promise.resolve(r(w.path, w.dev, w.ino, { deadlineMs })).catch(() => null), late]);
      } finally {
        clearTimeout(t);
      }
      if (res && Array.isArray(res.holders)) {
        holders = res.holders.map((h) => ({ ...h }));
        complete = res.complete === true;
      } else {
        complete = false;
      }
    }
    if (w.dev !== null && w.ino !== null && holders.length > 0) {
      const cards = readCards(w.dev, w.ino, new Set(holders.map((h) => h.pid)));
      for (const h of holders) {
        const c = cards.get(h.pid);
        if (c && h.role === 'holder') h.card = c;
      }
    }
  } catch {
    complete = false;
  }
  w.holders = holders;
  w.complete = complete;
}

function record(
  w: Wait,
  event: LockscopeRecord['event'],
  time: number,
  waitedMs: number,
  error: unknown,
  snapshot: RecordSnapshot | null,
): LockscopeRecord {
  return buildRecord(event, {
    path: w.path,
    time,
    dev: w.dev,
    ino: w.ino,
    kind: w.kind,
    mode: w.mode,
    range: w.range,
    label: w.label,
    waitId: w.id,
    holdId: w.holdId,
    waitedMs,
    error: error === undefined ? null : recordError(error),
    holders: w.holders ?? [],
    holdersComplete: w.complete,
    snapshot,
  });
}

function setTerminal(w: Wait, r: LockscopeRecord): void {
  if (w.ctx !== null) w.ctx.record = r;
  w.terminal = r;
}

/**
 * Hand the call's terminal record to direct subscribers. The acquire TracingChannel's own
 * subscribers read it from the context at the terminal event; direct ones get it here, at the
 * same point of the call (just before it returns or settles).
 */
export function deliverTerminal(w: Wait): void {
  const r = w.terminal;
  if (r === null) return;
  w.terminal = null;
  deliverDirect(r);
}

function close(w: Wait): boolean {
  if (w.state === DONE) return false;
  w.state = DONE;
  if (w.timer !== null) clearTimeout(w.timer);
  w.timer = null;
  registry.remove(w);
  return true;
}

/**
 * The call acquired the lock. Returns a promise only when a contended record is still being
 * built (its holders resolving): await it before resolving the lock call so the terminal
 * record follows the contended one. Bounded by `holdersDeadline` + 50 ms.
 */
export function endWait(w: Wait | undefined): Promise<void> | undefined {
  if (w === undefined) return undefined;
  const waitedMs = performance.now() - w.t0;
  const time = Date.now();
  if (w.state === DONE) return undefined;
  contendLate(w, waitedMs, false);
  close(w);
  const finish = (): void => {
    if (w.ctx !== null || wantedDirect('acquired')) setTerminal(w, record(w, 'acquired', time, waitedMs, undefined, null));
  };
  if (w.pending !== null) return w.pending.then(finish);
  finish();
  return undefined;
}

/** tryLock found the lock busy: the call ends without a record (the context's result is null). */
export function busyWait(w: Wait | undefined): void {
  if (w !== undefined) close(w);
}

/**
 * The call failed (timeout, abort, any error). Sets `error.holders` (a LockError) to the holders
 * of the contended record. A timeout or abort that blocked but never reached the threshold (an
 * abort, or a timeout shorter than twice the probe time) looks holders up now, within a quarter of
 * `holdersDeadline` (25 ms by default).
 * Returns a promise while holders are being resolved: await it, then throw.
 */
export function failWait(w: Wait | undefined, error: unknown): Promise<void> | undefined {
  if (w === undefined) return undefined;
  const waitedMs = performance.now() - w.t0;
  const time = Date.now();
  const event = terminalEventFor(error);
  if (w.state === DONE) return undefined;
  contendLate(w, waitedMs, true);
  close(w);
  const finish = (): void => {
    try {
      if (w.holders !== null && w.complete !== null && error instanceof LockError && (event === 'timeout' || event === 'aborted')) {
        error.holders = w.holders;
      }
      if (w.ctx !== null || wantedDirect(event)) {
        const snap = takeSnapshot({ stack: w.stack, self: w, report: w.opts.report });
        setTerminal(w, record(w, event, time, waitedMs, error, snap));
      }
    } catch {
      // instrumentation never replaces the caller's error
    }
  };
  if (w.pending !== null) return w.pending.then(finish);
  if (w.wasBlocked && w.holders === null && (event === 'timeout' || event === 'aborted')) {
    return resolveHolders(w, terminalDeadlineMs()).then(finish);
  }
  finish();
  return undefined;
}
