import { performance } from 'node:perf_hooks';
import { liveConfig, resolveCallOptions, type ResolvedCallOptions } from '../config.js';
import { buildRecord } from '../record/build.js';
import type { LockscopeRecord, RecordLockKind, RecordLockMode, RecordRange, RecordSnapshot } from '../record/index.js';
import { removeCard, writeCard } from './cards.js';
import { heldTooLongChannel, leakedChannel, releasedChannel } from './channels.js';
import { direct, publishRecord } from './direct.js';
import { ensureEventLoopMonitor } from './eld.js';
import { cardsEnabled, instrumentationActive } from './listening.js';
import { registry, type Tracked } from './registry.js';
import { takeSnapshot } from './snapshot.js';
import { captureStack, formatStack, type CapturedStack } from './stack.js';
import type { InstrumentedRequest, Wait } from './tracker.js';

let nextHoldId = 0;

/**
 * A held lock being tracked. Holds no reference to the LockHandle, so it can be the held value
 * of the engine's FinalizationRegistry (leak detection).
 */
export class Hold implements Tracked {
  readonly role = 'holder' as const;
  readonly id = ++nextHoldId;
  readonly t0: number;
  readonly acquiredAt: number;
  readonly label: string | null;
  readonly range: RecordRange | null;
  readonly waitId: number | null;
  /** @internal */ done = false;
  /** @internal */ timer: NodeJS.Timeout | null = null;
  /** @internal */ cardDue: number | null = null;
  /** @internal */ cardFile: string | null = null;
  /** @internal */ nextWarn: number | null = null;
  /** @internal */ slot = -1;

  constructor(
    readonly path: string,
    readonly dev: number,
    readonly ino: number,
    readonly kind: RecordLockKind,
    readonly mode: RecordLockMode,
    range: RecordRange | null | undefined,
    readonly opts: ResolvedCallOptions,
    readonly stack: CapturedStack | null,
    wait: Wait | undefined,
    t0: number,
    acquiredAt: number,
  ) {
    this.t0 = t0;
    this.acquiredAt = acquiredAt;
    this.label = opts.label;
    this.range = range ?? null;
    this.waitId = wait?.id ?? null;
  }
}

/**
 * The lock is held. Pass the call's Wait when there is one (its stack and options are reused).
 * Returns undefined when nobody listens and cards are off: store the result on the handle and
 * hand it to onReleased / onLeaked.
 */
export function onHeld(
  path: string,
  dev: number,
  ino: number,
  req: InstrumentedRequest,
  wait?: Wait,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  caller?: Function,
): Hold | undefined {
  if (wait === undefined && !instrumentationActive()) return undefined;
  const cfg = liveConfig();
  const opts = wait?.opts ?? resolveCallOptions(caller?.name || 'lock', path, req);
  // The call's Wait captured its caller's stack at the call's start (or, with snapshot.stack
  // 'waits', only if it blocked: locks granted at once then keep none); without a Wait, now.
  const stack = wait?.stack ?? (holdStacks(cfg) ? captureStack(wait?.caller ?? caller ?? onHeld) : null);
  // The engine's grant time when it has one (one clock read fewer).
  const t0 = req.startedAt !== undefined && req.waitedMs !== undefined ? req.startedAt + req.waitedMs : performance.now();
  const h = new Hold(path, dev, ino, req.kind, req.mode, req.range, opts, stack, wait, t0, req.acquiredAt ?? Date.now());
  if (wait) wait.holdId = h.id;
  registry.add(h);
  ensureEventLoopMonitor();
  if (cardsEnabled()) h.cardDue = h.t0 + cfg.cardDelay;
  if (opts.holdWarning > 0 && (heldTooLongChannel.hasSubscribers || direct.length > 0)) h.nextWarn = h.t0 + opts.holdWarning;
  schedule(h, t0);
  return h;
}

/** Whether a lock granted at once keeps its caller's stack (for cards, snapshots, listings). */
export function holdStacks(cfg = liveConfig()): boolean {
  const s = cfg.snapshot.stack;
  return s === true || (s === false && cfg.cards !== false);
}

function schedule(h: Hold, now: number): void {
  const due = Math.min(h.cardDue ?? Infinity, h.nextWarn ?? Infinity);
  if (due === Infinity) return;
  h.timer = setTimeout(tick, Math.max(0, due - now), h);
  h.timer.unref(); // holding a lock never keeps a process alive by itself
}

function tick(h: Hold): void {
  try {
    h.timer = null;
    if (h.done) return;
    const now = performance.now();
    if (h.cardDue !== null && now >= h.cardDue) {
      h.cardDue = null;
      if (cardsEnabled()) {
        h.cardFile = writeCard({
          dev: h.dev,
          ino: h.ino,
          kind: h.kind,
          mode: h.mode,
          label: h.label,
          acquiredAt: h.acquiredAt,
          stack: formatStack(h.stack),
        });
      }
    }
    if (h.nextWarn !== null && now >= h.nextWarn) {
      if (heldTooLongChannel.hasSubscribers || direct.length > 0) {
        publishRecord(heldTooLongChannel, 'held-too-long', () =>
          record(h, 'held-too-long', now, takeSnapshot({ stack: h.stack, self: h, report: h.opts.report })),
        );
        const step = h.opts.holdWarningInterval;
        h.nextWarn += step * Math.max(1, Math.ceil((now - h.nextWarn) / step));
      } else {
        h.nextWarn = null; // nobody listens any more: stop warning
      }
    }
    schedule(h, performance.now());
  } catch {
    // never throw from a timer
  }
}

function record(h: Hold, event: LockscopeRecord['event'], now: number, snapshot: RecordSnapshot | null): LockscopeRecord {
  return buildRecord(event, {
    path: h.path,
    dev: h.dev,
    ino: h.ino,
    kind: h.kind,
    mode: h.mode,
    range: h.range,
    label: h.label,
    waitId: h.waitId,
    holdId: h.id,
    heldMs: now - h.t0,
    snapshot,
  });
}

function finish(h: Hold): boolean {
  if (h.done) return false;
  h.done = true;
  if (h.timer !== null) clearTimeout(h.timer);
  h.timer = null;
  registry.remove(h);
  if (h.cardFile !== null) removeCard(h.cardFile);
  h.cardFile = null;
  return true;
}

/** The lock was released (call after the unlock succeeded). Idempotent. */
export function onReleased(h: Hold | undefined): void {
  if (h === undefined) return;
  const now = performance.now();
  if (!finish(h)) return;
  try {
    publishRecord(releasedChannel, 'released', () => record(h, 'released', now, null));
  } catch {
    // instrumentation never breaks release
  }
}

/** The handle was garbage-collected without release (from a FinalizationRegistry callback). */
export function onLeaked(h: Hold | undefined): void {
  if (h === undefined) return;
  const now = performance.now();
  if (!finish(h)) return;
  try {
    publishRecord(leakedChannel, 'leaked', () => record(h, 'leaked', now, takeSnapshot({ stack: h.stack, self: h, report: false })));
  } catch {
    // runs from a finalizer: never throw
  }
}

/** Test/diagnostic helper: how many lockscope waiters and holders this process tracks now. */
export function trackedCount(): { waiters: number; holders: number } {
  let waiters = 0;
  let holders = 0;
  for (const e of registry.items) {
    if (e.role === 'waiter') waiters++;
    else holders++;
  }
  return { waiters, holders };
}
