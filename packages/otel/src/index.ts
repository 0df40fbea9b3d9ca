import diagnosticsChannel from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import {
  context,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Counter,
  type Context,
  type Histogram,
  type ObservableUpDownCounter,
  type Span,
} from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { CHANNELS } from '@lockscope/core';
import {
  acquireEndIsTerminal,
  processIdentity,
  recordOf,
  type AcquireContext,
  type LockscopeRecord,
  holdersElseOpeners,
} from '@lockscope/core/record';
import {
  ATTR_ERROR_TYPE,
  ATTR_FILE_INODE,
  ATTR_FILE_LOCK_MECHANISM,
  ATTR_FILE_LOCK_TYPE,
  ATTR_FILE_PATH,
  ATTR_HOST_BOOT_ID,
  ATTR_HOST_NAME,
  ATTR_IDLE_CHANGES,
  ATTR_IDLE_MODIFICATIONS,
  ATTR_IDLE_QUIET,
  ATTR_IDLE_SINCE,
  ATTR_IDLE_WRITER_COMMANDS,
  ATTR_IDLE_WRITER_PIDS,
  ATTR_LOCK_CONTENDED,
  ATTR_LOCK_HOLDER_COMMANDS,
  ATTR_LOCK_HOLDER_PIDS,
  ATTR_LOCK_HOLDERS_COMPLETE,
  ATTR_ERROR_CODE,
  ATTR_ERROR_ERRNO,
  ATTR_ERROR_REASON,
  ATTR_ERROR_SYSCALL,
  ATTR_LOCK_LABEL,
  ATTR_LOCK_OUTCOME,
  ATTR_LOCK_RANGE_LENGTH,
  ATTR_LOCK_RANGE_START,
  ATTR_LOCK_SYNC,
  ATTR_LOCK_WAIT_DURATION,
  ATTR_PROCESS_COMMAND,
  ATTR_PROCESS_PID,
  EVENT_CONTENDED,
  HOLD_BUCKETS_S,
  lockType,
  mechanism,
  METRIC_CONTENTIONS,
  METRIC_HELD,
  METRIC_HOLD_DURATION,
  METRIC_IDLE_WAIT,
  METRIC_TIMEOUTS,
  METRIC_WAIT_DURATION,
  SPAN_NAME,
  SPAN_WAIT_IDLE,
  WAIT_BUCKETS_S,
} from './semconv.js';
import { commandOf } from './holders.js';

export * from './semconv.js';
export { LockscopeHoldersSpanProcessor, type EndingSpan, type HoldersSpanProcessorOptions } from './holders.js';

const { name: PACKAGE_NAME, version: PACKAGE_VERSION } = createRequire(import.meta.url)('../package.json') as {
  name: string;
  version: string;
};

/** What the request hook sees: the acquire call as it starts. */
export interface AcquireStartInfo {
  path: string;
  kind: string;
  mode: string;
  label: string | null;
  sync: boolean;
}

export interface LockscopeInstrumentationConfig extends InstrumentationConfig {
  /** Runs when the acquire span starts (caller's context). Errors are caught and logged. */
  requestHook?: (span: Span, info: AcquireStartInfo) => void;
  /** Runs just before the acquire span ends; `record` is the terminal record (absent for a busy tryLock). */
  responseHook?: (span: Span, record: LockscopeRecord | undefined) => void;
  /** Skip spans for `tryLock` calls (metrics are still recorded). Default false. */
  ignoreTryLock?: boolean;
  /** Put the waiting call's stack on the contention event. Default true. */
  captureStack?: boolean;
  /**
   * Which acquire calls get a span. `'every'` (default): a span per acquire. `'contended'`: a
   * span only for calls that passed the contention threshold (started back-dated to the call's
   * start, in the caller's context, with the same attributes, event and outcome); every other
   * call is counted in the metrics only, which saves a span per uncontended acquire.
   */
  spans?: 'every' | 'contended';
}

interface Pending {
  span: Span | undefined;
  contended: boolean;
  /** With spans: 'contended', what a span made at contention needs: the call and its context. */
  ctx: AcquireContext | undefined;
  parent: Context | undefined;
  startTime: number;
}

type Handlers = {
  start: (m: unknown) => void;
  end: (m: unknown) => void;
  asyncStart: (m: unknown) => void;
  asyncEnd: (m: unknown) => void;
  error: (m: unknown) => void;
};

type Subscription = { tracing: string; handlers: Handlers } | { channel: string; onMessage: (m: unknown) => void };

/**
 * OpenTelemetry instrumentation for lockscope: a span per acquire, an event at contention, and
 * lock metrics, all from lockscope's diagnostics channels (nothing is patched).
 */
export class LockscopeInstrumentation extends InstrumentationBase<LockscopeInstrumentationConfig> {
  // `declare`: the base constructor calls enable() and _updateMetricInstruments() before subclass
  // field initialisers would run, and an initialiser would then wipe what they set.
  declare private _waitDuration: Histogram;
  declare private _holdDuration: Histogram;
  declare private _contentions: Counter;
  declare private _timeouts: Counter;
  declare private _held: ObservableUpDownCounter;
  /** Locks held now, by metric attribute set (reported at collection, not per acquire). */
  declare private _heldNow: Map<Attributes, { attrs: Attributes; n: number }> | undefined;
  declare private _idleWait: Histogram;
  declare private _subscribed: boolean | undefined;
  declare private _pending: Map<number | AcquireContext, Pending> | undefined;
  /** Every channel this subscribes to, with its handler: enable() and disable() both walk it. */
  declare private _subscriptions: Subscription[] | undefined;

  constructor(config: LockscopeInstrumentationConfig = {}) {
    if (typeof config !== 'object' || config === null) throw new TypeError('LockscopeInstrumentation: config must be an object');
    if (config.spans !== undefined && config.spans !== 'every' && config.spans !== 'contended') {
      throw new TypeError("LockscopeInstrumentation: spans must be 'every' or 'contended'");
    }
    for (const hook of ['requestHook', 'responseHook'] as const) {
      if (config[hook] !== undefined && typeof config[hook] !== 'function') {
        throw new TypeError(`LockscopeInstrumentation: ${hook} must be a function`);
      }
    }
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  /** Nothing to patch: lockscope publishes on diagnostics channels (as instrumentation-undici does). */
  protected override init(): undefined {
    return undefined;
  }

  protected override _updateMetricInstruments(): void {
    this._waitDuration = this.meter.createHistogram(METRIC_WAIT_DURATION, {
      description: 'Time a lock call waited before it got the lock or gave up.',
      unit: 's',
      advice: { explicitBucketBoundaries: WAIT_BUCKETS_S },
    });
    this._holdDuration = this.meter.createHistogram(METRIC_HOLD_DURATION, {
      description: 'Time a lock was held, from acquisition to release.',
      unit: 's',
      advice: { explicitBucketBoundaries: HOLD_BUCKETS_S },
    });
    this._contentions = this.meter.createCounter(METRIC_CONTENTIONS, {
      description: 'Lock waits that passed the contention threshold.',
      unit: '{contention}',
    });
    this._timeouts = this.meter.createCounter(METRIC_TIMEOUTS, {
      description: 'Lock waits that gave up at their timeout.',
      unit: '{timeout}',
    });
    this._heldNow ??= new Map();
    this._held = this.meter.createObservableUpDownCounter(METRIC_HELD, {
      description: 'Locks currently held by this process.',
      unit: '{lock}',
    });
    this._idleWait = this.meter.createHistogram(METRIC_IDLE_WAIT, {
      description: 'Time waitIdle() waited until the file was idle.',
      unit: 's',
      advice: { explicitBucketBoundaries: WAIT_BUCKETS_S },
    });
    // Observed at collection: two attribute-set lookups per acquire+release saved.
    this._held.addCallback((result) => {
      for (const { attrs, n } of this._heldNow!.values()) result.observe(n, attrs);
    });
  }

  override enable(): void {
    if (this._subscribed) return;
    this._subscribed = true;
    this._pending ??= new Map();
    this._subscriptions ??= [
      {
        tracing: CHANNELS.acquire,
        handlers: {
          start: (m) => this._start(m as AcquireContext),
          end: (m) => {
            if (acquireEndIsTerminal(m as AcquireContext)) this._finish(m as AcquireContext);
          },
          asyncEnd: (m) => this._finish(m as AcquireContext),
          // Both are followed by a terminal event that reads the outcome from the context.
          asyncStart: noop,
          error: noop,
        },
      },
      { channel: CHANNELS.idle, onMessage: (m) => this._idle(recordOf(m)) },
      { channel: CHANNELS.contended, onMessage: (m) => this._contended(recordOf(m)) },
      { channel: CHANNELS.released, onMessage: (m) => this._released(recordOf(m), false) },
      { channel: CHANNELS.leaked, onMessage: (m) => this._released(recordOf(m), true) },
    ];
    for (const sub of this._subscriptions) {
      if ('tracing' in sub) diagnosticsChannel.tracingChannel(sub.tracing).subscribe(sub.handlers);
      else diagnosticsChannel.subscribe(sub.channel, sub.onMessage);
    }
  }

  override disable(): void {
    if (!this._subscribed) return;
    this._subscribed = false;
    for (const sub of this._subscriptions!) {
      if ('tracing' in sub) diagnosticsChannel.tracingChannel(sub.tracing).unsubscribe(sub.handlers);
      else diagnosticsChannel.unsubscribe(sub.channel, sub.onMessage);
    }
    // Calls in flight keep their spans; end them now so none is left open forever.
    for (const p of this._pending!.values()) p.span?.end();
    this._pending!.clear();
  }

  override isEnabled(): boolean {
    return this._subscribed === true;
  }

  // Runs synchronously in the caller of lock()/tryLock(), so context.active() is the caller's.
  private _start(ctx: AcquireContext): void {
    const cfg = this.getConfig();
    const wantsSpan = !(ctx.sync && cfg.ignoreTryLock);
    if (wantsSpan && cfg.spans === 'contended') {
      this._pending!.set(keyOf(ctx), {
        span: undefined,
        contended: false,
        ctx,
        parent: context.active(),
        startTime: performance.timeOrigin + performance.now(),
      });
      return;
    }
    const span = wantsSpan ? this._startSpan(ctx, context.active(), undefined) : undefined;
    this._pending!.set(keyOf(ctx), { span, contended: false, ctx: undefined, parent: undefined, startTime: 0 });
  }

  private _startSpan(ctx: AcquireContext, parent: Context, startTime: number | undefined): Span {
    const attributes: Attributes = {
      [ATTR_FILE_PATH]: ctx.path,
      [ATTR_FILE_LOCK_MECHANISM]: mechanism(ctx.kind),
      [ATTR_FILE_LOCK_TYPE]: lockType(ctx.mode),
      [ATTR_LOCK_SYNC]: ctx.sync === true,
    };
    if (ctx.label) attributes[ATTR_LOCK_LABEL] = ctx.label;
    const id = processIdentity();
    if (id.host) attributes[ATTR_HOST_NAME] = id.host;
    if (id.bootId) attributes[ATTR_HOST_BOOT_ID] = id.bootId;
    if (ctx.range) {
      attributes[ATTR_LOCK_RANGE_START] = ctx.range.start;
      attributes[ATTR_LOCK_RANGE_LENGTH] = ctx.range.length;
    }
    const span = this.tracer.startSpan(SPAN_NAME, { kind: SpanKind.INTERNAL, attributes, startTime }, parent);
    const info: AcquireStartInfo = {
      path: ctx.path,
      kind: ctx.kind,
      mode: ctx.mode,
      label: ctx.label ?? null,
      sync: ctx.sync === true,
    };
    this._runSpanCustomizationHook(this.getConfig().requestHook, 'requestHook', span, info);
    return span;
  }

  private _contended(record: LockscopeRecord | undefined): void {
    if (!record) return;
    this._contentions.add(1, metricAttributes(record));
    const p = record.waitId == null ? undefined : this._pending!.get(record.waitId);
    if (!p) return;
    p.contended = true;
    if (p.ctx !== undefined && p.parent !== undefined) p.span = this._startSpan(p.ctx, p.parent, p.startTime);
    p.ctx = p.parent = undefined;
    if (!p.span) return;
    p.span.setAttribute(ATTR_LOCK_CONTENDED, true);
    p.span.addEvent(EVENT_CONTENDED, contentionEventAttributes(record, this.getConfig().captureStack !== false));
  }

  private _finish(ctx: AcquireContext): void {
    const key = keyOf(ctx);
    const p = this._pending!.get(key);
    if (!p) return; // started before enable(), or already finished
    this._pending!.delete(key);
    const record = recordOf(ctx);
    const outcome = record ? record.event : ctx.error !== undefined ? 'error' : 'busy';
    const attrs = record ? metricAttributes(record) : lockAttributes(ctx.kind, ctx.mode);
    if (record?.waitedMs != null) this._waitDuration.record(record.waitedMs / 1000, lockAttributes(record.kind, record.mode, outcome));
    if (outcome === 'timeout') this._timeouts.add(1, attrs);
    if (outcome === 'acquired') this._heldChange(record!, 1);

    const span = p.span;
    if (!span) return;
    span.setAttribute(ATTR_LOCK_OUTCOME, outcome);
    if (record) {
      if (record.waitedMs != null) span.setAttribute(ATTR_LOCK_WAIT_DURATION, record.waitedMs / 1000);
      if (record.ino != null) span.setAttribute(ATTR_FILE_INODE, String(record.ino));
      setHolderAttributes(span, record);
    }
    const err = record?.error ?? null;
    if (outcome !== 'acquired' && outcome !== 'busy') {
      const type = err?.code ?? errorName(ctx.error) ?? outcome;
      span.setAttribute(ATTR_ERROR_TYPE, type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err?.message ?? errorMessage(ctx.error) ?? outcome });
    }
    this._runSpanCustomizationHook(this.getConfig().responseHook, 'responseHook', span, record);
    span.end();
  }

  /**
   * A waitIdle() that resolved: a span over the whole wait (started back at the call: the record
   * comes at the end) with who was writing and what changed, and the wait in a histogram.
   */
  private _idle(record: LockscopeRecord | undefined): void {
    if (!record?.idle) return;
    const end = Date.parse(record.time);
    const waitedMs = record.waitedMs ?? 0;
    this._idleWait.record(waitedMs / 1000);
    const span = this.tracer.startSpan(
      SPAN_WAIT_IDLE,
      { kind: SpanKind.INTERNAL, startTime: end - waitedMs, attributes: idleAttributes(record) },
      context.active(),
    );
    span.end(end);
  }

  private _released(record: LockscopeRecord | undefined, leaked: boolean): void {
    if (!record) return;
    // A leaked handle's lock is gone with it; core publishes `leaked` instead of `released`.
    this._heldChange(record, -1);
    if (!leaked && record.heldMs != null) this._holdDuration.record(record.heldMs / 1000, metricAttributes(record));
  }

  private _heldChange(record: LockscopeRecord, by: number): void {
    const attrs = metricAttributes(record);
    const e = this._heldNow!.get(attrs);
    if (e !== undefined) e.n += by;
    else this._heldNow!.set(attrs, { attrs, n: by });
  }
}

function noop(): void {}

function idleAttributes(record: LockscopeRecord): Attributes {
  const idle = record.idle!;
  const a: Attributes = {
    [ATTR_FILE_PATH]: record.path,
    [ATTR_IDLE_QUIET]: idle.quietMs,
    [ATTR_IDLE_SINCE]: new Date(idle.idleSince).toISOString(),
    [ATTR_IDLE_MODIFICATIONS]: idle.modifications,
  };
  if (record.ino != null) a[ATTR_FILE_INODE] = String(record.ino);
  if (record.waitedMs != null) a[ATTR_LOCK_WAIT_DURATION] = record.waitedMs / 1000;
  if (record.holders.length > 0) {
    a[ATTR_IDLE_WRITER_PIDS] = record.holders.map((h) => h.pid);
    a[ATTR_IDLE_WRITER_COMMANDS] = record.holders.map(commandOf);
  }
  if (idle.changes.length > 0) a[ATTR_IDLE_CHANGES] = idle.changes.map((c) => c.type);
  if (record.holdersComplete != null) a[ATTR_LOCK_HOLDERS_COMPLETE] = record.holdersComplete;
  return a;
}

function keyOf(ctx: AcquireContext): number | AcquireContext {
  return typeof ctx.waitId === 'number' ? ctx.waitId : ctx;
}

function metricAttributes(record: LockscopeRecord): Attributes {
  return lockAttributes(record.kind, record.mode);
}

/**
 * Metric attribute sets, made once per (kind, mode[, outcome]) and shared (never mutated): a
 * lock pair records two histograms and would otherwise allocate a set for each.
 */
const attributeSets = Object.create(null) as Record<string, Record<string, Record<string, Attributes>>>;
function lockAttributes(kind: string | null, mode: string | null, outcome = ''): Attributes {
  const byMode = (attributeSets[String(kind)] ??= Object.create(null) as Record<string, Record<string, Attributes>>);
  const byOutcome = (byMode[String(mode)] ??= Object.create(null) as Record<string, Attributes>);
  let a = byOutcome[outcome];
  if (a === undefined) {
    a = { [ATTR_FILE_LOCK_MECHANISM]: mechanism(kind), [ATTR_FILE_LOCK_TYPE]: lockType(mode) };
    if (outcome !== '') a[ATTR_LOCK_OUTCOME] = outcome;
    byOutcome[outcome] = Object.freeze(a);
  }
  return a;
}

function setHolderAttributes(span: Span, record: LockscopeRecord): void {
  const holders = holdersElseOpeners(record.holders);
  if (holders.length === 0) return;
  span.setAttribute(
    ATTR_LOCK_HOLDER_PIDS,
    holders.map((h) => h.pid),
  );
  span.setAttribute(ATTR_LOCK_HOLDER_COMMANDS, holders.map(commandOf));
  if (record.holdersComplete != null) span.setAttribute(ATTR_LOCK_HOLDERS_COMPLETE, record.holdersComplete);
}

/**
 * semconv `process.command`: argv[0] (on Linux "the zeroth string in /proc/PID/cmdline"); the
 * record's program name only when argv is unknown.
 */
function contentionEventAttributes(record: LockscopeRecord, withStack: boolean): Attributes {
  const a: Attributes = {};
  if (record.waitedMs != null) a[ATTR_LOCK_WAIT_DURATION] = record.waitedMs / 1000;
  const holders = holdersElseOpeners(record.holders);
  const first = holders[0];
  if (first) {
    // The process that holds the lock, in semconv's process.* terms.
    a[ATTR_PROCESS_PID] = first.pid;
    const command = commandOf(first);
    if (command) a[ATTR_PROCESS_COMMAND] = command;
    a[ATTR_LOCK_HOLDER_PIDS] = holders.map((h) => h.pid);
    a[ATTR_LOCK_HOLDER_COMMANDS] = holders.map(commandOf);
    if (first.card?.label) a['lockscope.lock.holder.label'] = first.card.label;
  }
  if (record.holdersComplete != null) a[ATTR_LOCK_HOLDERS_COMPLETE] = record.holdersComplete;
  const e = record.error;
  if (e) {
    a[ATTR_ERROR_CODE] = e.code;
    a[ATTR_ERROR_ERRNO] = e.errno;
    a[ATTR_ERROR_SYSCALL] = e.syscall;
    a[ATTR_ERROR_REASON] = e.reason;
  }
  const s = record.snapshot;
  if (s) {
    a['lockscope.snapshot.active_resources'] = Object.entries(s.activeResources)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    a['lockscope.snapshot.in_process'] = s.inProcess.length;
    if (s.eventLoopDelay) {
      a['lockscope.snapshot.event_loop_delay.p50'] = s.eventLoopDelay.p50;
      a['lockscope.snapshot.event_loop_delay.p99'] = s.eventLoopDelay.p99;
      a['lockscope.snapshot.event_loop_delay.max'] = s.eventLoopDelay.max;
    }
    a['lockscope.snapshot.memory.rss'] = s.memory.rss;
    a['lockscope.snapshot.memory.heap_used'] = s.memory.heapUsed;
    a['lockscope.snapshot.cost_ms'] = s.costMs;
    if (withStack && s.stack) a['lockscope.snapshot.stack'] = s.stack;
  }
  return a;
}

function errorName(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { code?: unknown; name?: unknown };
  return typeof o.code === 'string' ? o.code : typeof o.name === 'string' ? o.name : undefined;
}

function errorMessage(e: unknown): string | undefined {
  return e instanceof Error ? e.message : undefined;
}
