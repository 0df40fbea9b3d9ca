/**
 * "Who holds it?" for any fs error: an EBUSY from rename/unlink/open in some library is usually
 * about another process that has the file open or locked, not about a lockscope lock. The probe
 * is asynchronous and loggers' formats/serializers are synchronous, so answers go through a
 * per-path cache: `holdersFor()` waits (within a budget), `holdersForSync()` never waits.
 */
import { invalidArgument } from '../errors.js';
import type { RecordHolder } from '../record/index.js';
import { probe, toRecordHolders } from './index.js';

/**
 * - `resolved`: found by this call (sync resolver, or the probe finished within the budget);
 * - `cached`: an earlier answer, `ageMs` old (at most `ttlMs`);
 * - `pending`: not known yet; a probe is running and later lookups of the path get its answer;
 * - `failed`: the probe failed (file gone, unreadable...): holders unknown;
 * - `unavailable`: no resolver on this platform;
 * - `not-busy`: the error is not busy-style or carries no path: nothing was looked up.
 */
export type HoldersStatus = 'resolved' | 'cached' | 'pending' | 'failed' | 'unavailable' | 'not-busy';

export interface HoldersLookup {
  status: HoldersStatus;
  /** null unless status is `resolved` or `cached`. */
  holders: RecordHolder[] | null;
  /** false when the probe may have missed some (deadline, unreadable processes); null when unknown. */
  complete: boolean | null;
  /** Age of the answer (ms), when there is one. */
  ageMs?: number;
}

/** Holders of `path` within `deadlineMs`: an array or `{ holders, complete }`, now or as a promise. */
export type PathHolderResolver = (
  path: string,
  options: { deadlineMs: number },
) => ResolvedHolders | Promise<ResolvedHolders> | null | undefined;

type ResolvedHolders = RecordHolder[] | { holders: RecordHolder[]; complete: boolean | null };

export interface HolderCacheOptions {
  /** Default: core's `probe(path, { timeout: deadlineMs })` (Linux; elsewhere none: `unavailable`). */
  resolve?: PathHolderResolver;
  /**
   * Deadline handed to the resolver (ms), and how long `get()`/`holdersFor()` wait by default.
   * Default 1000: a full scan takes tens of ms on an idle host but more on a loaded one, and a
   * probe cut short names fewer holders (`complete: false`). It runs in slices, off the caller's path.
   */
  budgetMs?: number;
  /** How long an answer is reused (ms). Default 2000. */
  ttlMs?: number;
  /** Paths remembered at most. Default 256. */
  maxEntries?: number;
}

interface Entry {
  at: number;
  holders: RecordHolder[] | null;
  complete: boolean | null;
  failed: boolean;
}

/** Per-path holder answers: one probe per path at a time, reused for `ttlMs`, at most `maxEntries` paths. */
export class HolderCache {
  readonly #resolve: PathHolderResolver | undefined;
  readonly budgetMs: number;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<void>>();

  constructor(opts: HolderCacheOptions = {}) {
    if (typeof opts !== 'object' || opts === null) throw invalidArgument('HolderCache', undefined, 'options must be an object');
    if (opts.resolve !== undefined && typeof opts.resolve !== 'function') {
      throw invalidArgument('HolderCache', undefined, 'options.resolve must be a function');
    }
    this.#resolve = opts.resolve ?? defaultResolver();
    this.budgetMs = positive(opts.budgetMs, 1000, 'budgetMs');
    this.#ttlMs = positive(opts.ttlMs, 2000, 'ttlMs');
    this.#max = positive(opts.maxEntries, 256, 'maxEntries');
  }

  /**
   * Never waits: the answer if known, else starts one lookup (deadline `deadlineMs`, default
   * `budgetMs`) and says `pending`. Never throws.
   */
  lookup(path: string, deadlineMs = this.budgetMs): HoldersLookup {
    if (typeof path !== 'string' || path === '') return NOT_BUSY;
    const now = Date.now();
    const e = this.#entries.get(path);
    if (e && now - e.at <= this.#ttlMs) {
      if (e.failed) return { status: 'failed', holders: null, complete: null };
      return { status: 'cached', holders: e.holders, complete: e.complete, ageMs: now - e.at };
    }
    if (!this.#resolve) return { status: 'unavailable', holders: null, complete: null };
    if (this.#inflight.has(path)) return PENDING;
    let result: ReturnType<PathHolderResolver>;
    try {
      result = this.#resolve(path, { deadlineMs: deadlineMs > 0 ? deadlineMs : this.budgetMs });
    } catch {
      this.#store(path, null, null, true);
      return { status: 'failed', holders: null, complete: null };
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      this.#track(path, result as Promise<ResolvedHolders>);
      return PENDING;
    }
    const r = normalize(result as ResolvedHolders | null | undefined);
    if (!r) return { status: 'unavailable', holders: null, complete: null };
    this.#store(path, r.holders, r.complete, false);
    return { status: 'resolved', holders: r.holders, complete: r.complete, ageMs: 0 };
  }

  /** Like lookup(), but waits up to `waitMs` (default `budgetMs`) for a lookup it starts or finds running. Never rejects. */
  async get(path: string, waitMs = this.budgetMs): Promise<HoldersLookup> {
    const first = this.lookup(path, waitMs);
    if (first.status !== 'pending') return first;
    const running = this.#inflight.get(path);
    if (running) {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((r) => {
        timer = setTimeout(r, waitMs);
        timer.unref();
      });
      await Promise.race([running, expired]);
      clearTimeout(timer);
    }
    const now = this.lookup(path);
    return now.status === 'cached' && !this.#inflight.has(path) ? { ...now, status: 'resolved' } : now;
  }

  /** Resolves once the holders of `path` are cached (never rejects). */
  prewarm(path: string): Promise<void> {
    if (this.lookup(path).status !== 'pending') return Promise.resolve();
    return this.#inflight.get(path) ?? Promise.resolve();
  }

  /** Lets lockscope's own records (which carry holders) answer later lookups for free. */
  remember(path: string, holders: RecordHolder[], complete: boolean | null = null): void {
    if (typeof path !== 'string' || path === '' || !Array.isArray(holders)) return;
    this.#store(path, holders, complete, false);
  }

  #track(path: string, p: Promise<ResolvedHolders>): void {
    const done = p
      .then(
        (r) => {
          const n = normalize(r);
          this.#store(path, n?.holders ?? null, n?.complete ?? null, n === null);
        },
        () => this.#store(path, null, null, true),
      )
      .finally(() => this.#inflight.delete(path));
    this.#inflight.set(path, done);
  }

  #store(path: string, holders: RecordHolder[] | null, complete: boolean | null, failed: boolean): void {
    this.#entries.delete(path);
    this.#entries.set(path, { at: Date.now(), holders, complete, failed });
    // Map keeps insertion order: the first key is the oldest.
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

const NOT_BUSY: HoldersLookup = Object.freeze({ status: 'not-busy', holders: null, complete: null });
const PENDING: HoldersLookup = Object.freeze({ status: 'pending', holders: null, complete: null });

function normalize(r: ResolvedHolders | null | undefined): { holders: RecordHolder[]; complete: boolean | null } | null {
  if (Array.isArray(r)) return { holders: r, complete: null };
  if (r && typeof r === 'object' && Array.isArray(r.holders))
    return { holders: r.holders, complete: typeof r.complete === 'boolean' ? r.complete : null };
  return null;
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw invalidArgument('HolderCache', undefined, `options.${name} must be a positive number`);
  }
  return v;
}

/**
 * core's probe at depth 'full': every process that holds a lock on the path, waits for one, or
 * has it open or mapped (an EBUSY/ETXTBSY is usually about an opener), cut at the deadline.
 */
function defaultResolver(): PathHolderResolver | undefined {
  // Only the Linux probe has run for real with this; elsewhere the status says 'unavailable'.
  if (process.platform !== 'linux') return undefined;
  return (path, { deadlineMs }) =>
    probe(path, { timeout: deadlineMs }).then((r) => ({ holders: toRecordHolders(r), complete: r.complete }));
}

// ---- which errors ----

const BUSY = new Set(['EBUSY', 'ETXTBSY', 'EAGAIN', 'EWOULDBLOCK']);
const BUSY_IF_LOCK_OR_OPEN = new Set(['EACCES', 'EPERM']);
const LOCK_OR_OPEN = new Set(['flock', 'fcntl', 'lockf', 'open', 'openat']);

/**
 * A busy-style error that names a file: code EBUSY, ETXTBSY, EAGAIN or EWOULDBLOCK, or EACCES/EPERM
 * from a lock call or open (what Windows and POSIX locks say for "someone else has it"), and a
 * non-empty string `path`. Works on Errors and on already-serialized plain objects. Never throws.
 */
export function isBusyError(error: unknown): error is { code: string; path: string; syscall?: string } {
  if (typeof error !== 'object' || error === null) return false;
  let code: unknown, path: unknown, syscall: unknown;
  try {
    ({ code, path, syscall } = error as Record<string, unknown>);
  } catch {
    return false; // a throwing getter
  }
  if (typeof code !== 'string' || typeof path !== 'string' || path === '') return false;
  if (BUSY.has(code)) return true;
  return BUSY_IF_LOCK_OR_OPEN.has(code) && typeof syscall === 'string' && LOCK_OR_OPEN.has(syscall);
}

// ---- the functions ----

export interface HoldersForOptions {
  /** Default: one cache shared by every caller in the process (and every adapter). */
  cache?: HolderCache;
  /**
   * holdersFor() only: how long to wait for an answer (ms), also the deadline of a probe it
   * starts. Default the cache's `budgetMs` (1000).
   */
  budgetMs?: number;
}

let shared: HolderCache | undefined;

/** The process-wide cache `holdersFor` and the adapters use unless given one. */
export function defaultHolderCache(): HolderCache {
  return (shared ??= new HolderCache());
}

function cacheOf(fn: string, options: HoldersForOptions | undefined): HolderCache {
  if (options === undefined) return defaultHolderCache();
  if (typeof options !== 'object' || options === null) throw invalidArgument(fn, undefined, 'options must be an object');
  if (options.cache !== undefined && !(options.cache instanceof HolderCache))
    throw invalidArgument(fn, undefined, 'options.cache must be a HolderCache');
  if (
    options.budgetMs !== undefined &&
    !(typeof options.budgetMs === 'number' && options.budgetMs >= 0 && Number.isFinite(options.budgetMs))
  ) {
    throw invalidArgument(fn, undefined, 'options.budgetMs must be a number of ms >= 0');
  }
  return options.cache ?? defaultHolderCache();
}

/**
 * Who holds or has open the file behind a busy-style fs error, within `budgetMs`. Resolves with
 * `pending` when the probe did not finish in time (it keeps running and fills the cache). Any
 * value is accepted as `error`: not busy-style or no path gives `not-busy`. Never rejects because
 * of the error or the probe; only invalid `options` reject (EINVAL).
 */
export async function holdersFor(error: unknown, options?: HoldersForOptions): Promise<HoldersLookup> {
  const cache = cacheOf('holdersFor', options);
  if (!isBusyError(error)) return NOT_BUSY;
  return cache.get(error.path, options?.budgetMs ?? cache.budgetMs);
}

/**
 * The synchronous form for formats and serializers: answers from the cache, or starts the probe
 * and says `pending` (a later error about the same path gets the answer). Never throws because
 * of the error or the probe; only invalid `options` throw (EINVAL).
 */
export function holdersForSync(error: unknown, options?: HoldersForOptions): HoldersLookup {
  const cache = cacheOf('holdersForSync', options);
  if (!isBusyError(error)) return NOT_BUSY;
  return cache.lookup(error.path);
}

/**
 * For serializers: sets `holdersStatus` (and `holders`, `holdersComplete` when known) on a busy-style
 * error object in place, from holdersForSync(). One that already carries holders (a LockError from
 * a wait) is left alone: the wait's holders are the better witness. Returns `target`.
 */
export function enrichWithHolders<T extends object>(target: T, options?: HoldersForOptions): T {
  // Not busy-style is the hot path of every serializer: decide that first.
  if (!isBusyError(target)) return target;
  const cache = cacheOf('enrichWithHolders', options);
  const t = target as Record<string, unknown>;
  if (Array.isArray(t.holders) && t.holders.length > 0) return target;
  const r = cache.lookup(target.path);
  t.holdersStatus = r.status;
  if (r.holders) {
    t.holders = r.holders;
    t.holdersComplete = r.complete;
  }
  return target;
}
