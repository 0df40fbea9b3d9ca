import { invalidArgument } from './errors.js';
import { CONFIG_OPTIONS, INSTRUMENTATION_CALL_OPTIONS, SNAPSHOT_OPTIONS, type KeysMatch, type SameKeys } from './vocabulary.js';

/**
 * Process-wide instrumentation defaults. Per-call options (`contentionThreshold`, `holdWarning`,
 * `holdWarningInterval`, `label`, `report`) override them for one lock call.
 */
export interface InstrumentationConfig {
  /**
   * A wait that is still blocked this many ms after the call started publishes one `contended`
   * record (with holders and a snapshot). Default 500: see docs/diagnostics-channels.md.
   */
  contentionThreshold: number;
  /** A lock held longer than this (ms) publishes `held-too-long`; `0` turns it off. Default 10 000. */
  holdWarning: number;
  /** Repeat `held-too-long` every this many ms while the lock stays held. Default: `holdWarning`. */
  holdWarningInterval: number;
  /** Budget (ms) given to the holder resolver (the probe) per contended wait. Default 100. */
  holdersDeadline: number;
  /** Include an excerpt of `process.report.getReport()` (libuv handles, native stack). Costs 3-12 ms. */
  report: boolean;
  /** Snapshot contents. */
  snapshot: SnapshotConfig;
  /**
   * Holder cards for waiters in other processes: `'auto'` (default) writes them only while this
   * process has a lockscope subscriber; `true` always; `false` never.
   */
  cards: boolean | 'auto';
  /** A card is written only once a lock has been held this long (ms). Default 5. */
  cardDelay: number;
  /** Directory for holder cards; default `$XDG_RUNTIME_DIR/lockscope` or `/tmp/lockscope-<uid>`. */
  cardDir: string | undefined;
}

export interface SnapshotConfig {
  /**
   * The caller's stack (formatted only if a record or card shows it). `true` (default): every
   * tracked lock call keeps it, captured inside the call. `'waits'`: only calls that wait or fail
   * keep it; a lock granted at once has none (its card, `held-too-long`, `leaked` and in-process
   * listings show `stack: null`), which saves the capture (several µs) on every uncontended
   * acquire: see docs/benchmarks.md#adapters. `false`: no stacks in snapshots (cards still keep
   * theirs unless `cards: false`).
   */
  stack: boolean | 'waits';
  /** At most this many other in-process waiters/holders listed. Default 32. */
  maxInProcess: number;
  /** Run `monitorEventLoopDelay` while instrumentation is active. Default true. */
  eventLoopDelay: boolean;
}

/** Options the lock calls accept per call (spread into LockOptions). */
export interface InstrumentationCallOptions {
  contentionThreshold?: number;
  holdWarning?: number;
  holdWarningInterval?: number;
  /** Free text shown to waiters (records, holder cards). Max 200 characters; keep secrets out. */
  label?: string;
  report?: boolean;
}

export type ConfigureOptions = Partial<Omit<InstrumentationConfig, 'snapshot'>> & {
  snapshot?: Partial<SnapshotConfig>;
};

export const DEFAULT_CONFIG: Readonly<InstrumentationConfig> = Object.freeze({
  contentionThreshold: 500,
  holdWarning: 10_000,
  holdWarningInterval: 10_000,
  holdersDeadline: 100,
  report: false,
  snapshot: Object.freeze({ stack: true, maxInProcess: 32, eventLoopDelay: true }),
  cards: 'auto' as const,
  cardDelay: 5,
  cardDir: undefined,
});

export const MAX_LABEL_LENGTH = 200;
const MAX_MS = 2 ** 31 - 1; // setTimeout's limit

let current: InstrumentationConfig = cloneConfig(DEFAULT_CONFIG);
let intervalExplicit = false;

function cloneConfig(c: Readonly<InstrumentationConfig>): InstrumentationConfig {
  return { ...c, snapshot: { ...c.snapshot } };
}

function ms(fn: string, name: string, v: unknown, allowZero: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_MS || (!allowZero && v === 0)) {
    throw invalidArgument(fn, undefined, `${name} must be a finite number of ms in [${allowZero ? 0 : 1}, ${MAX_MS}], got ${String(v)}`);
  }
  return v;
}

function bool(fn: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalidArgument(fn, undefined, `${name} must be a boolean, got ${typeof v}`);
  return v;
}

/** Validates a label: a string of at most 200 characters without control characters. */
export function checkLabel(fn: string, path: string | undefined, label: unknown): string | null {
  if (label === undefined || label === null) return null;
  // eslint-disable-next-line no-control-regex
  if (typeof label !== 'string' || label.length > MAX_LABEL_LENGTH || /[\u0000-\u001f\u007f]/.test(label)) {
    throw invalidArgument(fn, path, `label must be a string of at most ${MAX_LABEL_LENGTH} printable characters`);
  }
  return label;
}

const KEYS: ReadonlySet<string> = new Set(CONFIG_OPTIONS);
const SNAPSHOT_KEYS: ReadonlySet<string> = new Set(SNAPSHOT_OPTIONS);

/** Compile-time: the option interfaces and the lists the validators read name the same keys. */
export type ConfigKeys = KeysMatch<SameKeys<keyof ConfigureOptions, (typeof CONFIG_OPTIONS)[number]>>;
export type SnapshotKeys = KeysMatch<SameKeys<keyof SnapshotConfig, (typeof SNAPSHOT_OPTIONS)[number]>>;
export type CallOptionKeys = KeysMatch<SameKeys<keyof InstrumentationCallOptions, (typeof INSTRUMENTATION_CALL_OPTIONS)[number]>>;

/**
 * Sets process-wide instrumentation defaults (merged into the current ones) and returns the
 * resulting configuration. Throws a LockError (reason `invalid-argument`) on a bad value and then
 * changes nothing. `configure()` with no argument returns the current configuration.
 */
export function configure(options?: ConfigureOptions): Readonly<InstrumentationConfig> {
  const fn = 'configure';
  if (options === undefined) return getConfig();
  if (options === null || typeof options !== 'object') throw invalidArgument(fn, undefined, 'options must be an object');
  for (const k of Object.keys(options)) {
    if (!KEYS.has(k)) throw invalidArgument(fn, undefined, `unknown option '${k}'`);
  }
  const next = cloneConfig(current);
  let explicit = intervalExplicit;
  const o = options;
  if (o.contentionThreshold !== undefined) next.contentionThreshold = ms(fn, 'contentionThreshold', o.contentionThreshold, true);
  if (o.holdWarning !== undefined) next.holdWarning = ms(fn, 'holdWarning', o.holdWarning, true);
  if (o.holdWarningInterval !== undefined) {
    next.holdWarningInterval = ms(fn, 'holdWarningInterval', o.holdWarningInterval, false);
    explicit = true;
  } else if (o.holdWarning !== undefined && !explicit && next.holdWarning > 0) {
    next.holdWarningInterval = next.holdWarning;
  }
  if (o.holdersDeadline !== undefined) next.holdersDeadline = ms(fn, 'holdersDeadline', o.holdersDeadline, false);
  if (o.report !== undefined) next.report = bool(fn, 'report', o.report);
  if (o.cards !== undefined) {
    if (o.cards !== 'auto' && typeof o.cards !== 'boolean') throw invalidArgument(fn, undefined, "cards must be true, false or 'auto'");
    next.cards = o.cards;
  }
  if (o.cardDelay !== undefined) next.cardDelay = ms(fn, 'cardDelay', o.cardDelay, true);
  if (o.cardDir !== undefined) {
    if (typeof o.cardDir !== 'string' || o.cardDir === '' || o.cardDir.includes('\0') || !o.cardDir.startsWith('/')) {
      throw invalidArgument(fn, undefined, 'cardDir must be an absolute path');
    }
    next.cardDir = o.cardDir;
  }
  if (o.snapshot !== undefined) {
    const s = o.snapshot;
    if (s === null || typeof s !== 'object') throw invalidArgument(fn, undefined, 'snapshot must be an object');
    for (const k of Object.keys(s)) {
      if (!SNAPSHOT_KEYS.has(k)) throw invalidArgument(fn, undefined, `unknown option 'snapshot.${k}'`);
    }
    if (s.stack !== undefined)
      next.snapshot.stack = s.stack === 'waits' ? 'waits' : bool(fn, "snapshot.stack (true, false or 'waits')", s.stack);
    if (s.eventLoopDelay !== undefined) next.snapshot.eventLoopDelay = bool(fn, 'snapshot.eventLoopDelay', s.eventLoopDelay);
    if (s.maxInProcess !== undefined) {
      if (!Number.isInteger(s.maxInProcess) || s.maxInProcess < 0 || s.maxInProcess > 10_000) {
        throw invalidArgument(fn, undefined, 'snapshot.maxInProcess must be an integer in [0, 10000]');
      }
      next.snapshot.maxInProcess = s.maxInProcess;
    }
  }
  current = next;
  intervalExplicit = explicit;
  return getConfig();
}

/** Restores the built-in defaults (tests, or a host that wants a clean slate). */
export function resetConfig(): void {
  current = cloneConfig(DEFAULT_CONFIG);
  intervalExplicit = false;
}

export function getConfig(): Readonly<InstrumentationConfig> {
  return cloneConfig(current);
}

/** Internal: the live config object (not a copy; never mutate). */
export function liveConfig(): Readonly<InstrumentationConfig> {
  return current;
}

/** Per-call options resolved against the process-wide defaults. Validates (fn = the public call). */
export interface ResolvedCallOptions {
  contentionThreshold: number;
  holdWarning: number;
  holdWarningInterval: number;
  label: string | null;
  report: boolean;
}

/** The call options of a call that sets none: one frozen object per configuration (never mutated). */
let defaults: { config: InstrumentationConfig; options: ResolvedCallOptions } | null = null;

function defaultCallOptions(c: InstrumentationConfig): ResolvedCallOptions {
  if (defaults?.config !== c) {
    const options = Object.freeze({
      contentionThreshold: c.contentionThreshold,
      holdWarning: c.holdWarning,
      holdWarningInterval: c.holdWarningInterval,
      label: null,
      report: c.report,
    });
    defaults = { config: c, options };
  }
  return defaults.options;
}

export function resolveCallOptions(
  fn: string,
  path: string | undefined,
  o: InstrumentationCallOptions | undefined,
): Readonly<ResolvedCallOptions> {
  const c = current;
  if (
    o === undefined ||
    (o.contentionThreshold === undefined &&
      o.holdWarning === undefined &&
      o.holdWarningInterval === undefined &&
      o.label === undefined &&
      o.report === undefined)
  ) {
    return defaultCallOptions(c);
  }
  const wrap = (name: string, v: unknown, zero: boolean): number => {
    try {
      return ms(fn, name, v, zero);
    } catch {
      throw invalidArgument(fn, path, `${name} must be a finite number of ms, got ${String(v)}`);
    }
  };
  const holdWarning = o.holdWarning === undefined ? c.holdWarning : wrap('holdWarning', o.holdWarning, true);
  return {
    contentionThreshold:
      o.contentionThreshold === undefined ? c.contentionThreshold : wrap('contentionThreshold', o.contentionThreshold, true),
    holdWarning,
    holdWarningInterval:
      o.holdWarningInterval !== undefined
        ? wrap('holdWarningInterval', o.holdWarningInterval, false)
        : o.holdWarning !== undefined && holdWarning > 0 && !intervalExplicit
          ? holdWarning
          : c.holdWarningInterval,
    label: checkLabel(fn, path, o.label),
    report:
      o.report === undefined
        ? c.report
        : typeof o.report === 'boolean'
          ? o.report
          : (() => {
              throw invalidArgument(fn, path, 'report must be a boolean');
            })(),
  };
}
