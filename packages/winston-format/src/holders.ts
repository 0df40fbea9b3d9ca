import * as core from '@lockscope/core';
import type { ProbeResult } from '@lockscope/core';
import type { RecordHolder } from '@lockscope/core/record';

/**
 * Who holds a path, for logs that say EBUSY. A logform format is synchronous and the probe is
 * not, so the format never waits: it reads a cache. A miss starts one probe (deduplicated, with a
 * deadline) and the line says `holdersStatus: 'pending'`; the result serves every line about that
 * path until `ttlMs` passes. `prewarm(path)` fills the cache ahead of time, and a resolver that
 * answers synchronously (returns an array) is used on the spot.
 */
export type HolderResolver = (
  path: string,
  options: { deadlineMs: number },
) => RecordHolder[] | Promise<RecordHolder[]> | null | undefined;

export interface HolderCacheOptions {
  resolve?: HolderResolver;
  /** Deadline handed to the resolver (ms). Default 100. */
  budgetMs?: number;
  /** How long a result is reused (ms). Default 2000. */
  ttlMs?: number;
  /** Paths remembered at most. Default 256. */
  maxEntries?: number;
}

export type HoldersStatus = 'cached' | 'resolved' | 'pending' | 'unavailable' | 'failed';

export interface HoldersLookup {
  status: HoldersStatus;
  holders: RecordHolder[] | null;
  /** Age of the cached answer (ms), when there is one. */
  ageMs?: number;
}

interface Entry {
  at: number;
  holders: RecordHolder[] | null;
  failed: boolean;
}

export class HolderCache {
  readonly #resolve: HolderResolver | undefined;
  readonly #budgetMs: number;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<void>>();

  constructor(opts: HolderCacheOptions = {}) {
    this.#resolve = opts.resolve ?? defaultResolver();
    this.#budgetMs = positive(opts.budgetMs, 100, 'budgetMs');
    this.#ttlMs = positive(opts.ttlMs, 2000, 'ttlMs');
    this.#max = positive(opts.maxEntries, 256, 'maxEntries');
  }

  lookup(path: string): HoldersLookup {
    const now = Date.now();
    const e = this.#entries.get(path);
    if (e && now - e.at <= this.#ttlMs) {
      return e.failed ? { status: 'failed', holders: null } : { status: 'cached', holders: e.holders, ageMs: now - e.at };
    }
    if (!this.#resolve) return { status: 'unavailable', holders: null };
    if (this.#inflight.has(path)) return { status: 'pending', holders: null };
    let result: ReturnType<HolderResolver>;
    try {
      result = this.#resolve(path, { deadlineMs: this.#budgetMs });
    } catch {
      this.#store(path, null, true);
      return { status: 'failed', holders: null };
    }
    if (Array.isArray(result)) {
      this.#store(path, result, false);
      return { status: 'resolved', holders: result, ageMs: 0 };
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      this.#track(path, result as Promise<RecordHolder[]>);
      return { status: 'pending', holders: null };
    }
    return { status: 'unavailable', holders: null };
  }

  /** Resolves once the holders of `path` are cached (never rejects). */
  prewarm(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '') return Promise.resolve();
    const r = this.lookup(path);
    return r.status === 'pending' ? (this.#inflight.get(path) ?? Promise.resolve()) : Promise.resolve();
  }

  /** Lets lockscope's own records (which carry holders) answer later lookups for free. */
  remember(path: string, holders: RecordHolder[]): void {
    this.#store(path, holders, false);
  }

  #track(path: string, p: Promise<RecordHolder[]>): void {
    const done = p.then(
      (holders) => this.#store(path, Array.isArray(holders) ? holders : null, false),
      () => this.#store(path, null, true),
    ).finally(() => this.#inflight.delete(path));
    this.#inflight.set(path, done);
  }

  #store(path: string, holders: RecordHolder[] | null, failed: boolean): void {
    this.#entries.delete(path);
    this.#entries.set(path, { at: Date.now(), holders, failed });
    // Map keeps insertion order: the first key is the oldest.
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw core.invalidArgument('lockscopeFormat', undefined, `holders.${name} must be a positive number`);
  }
  return v;
}

/**
 * core's probe: every process that holds a lock on the path or has it open (an EBUSY/ETXTBSY is
 * often about an opener, not a lock holder), cut at the deadline (`complete: false` then).
 */
function defaultResolver(): HolderResolver | undefined {
  // The probe is Linux-only for now; elsewhere the status says 'unavailable' instead of 'failed' on every line.
  if (process.platform !== 'linux') return undefined;
  return (path, { deadlineMs }) => core.probe(path, { timeout: deadlineMs }).then(holdersOfProbe);
}

/** The holders (lock holders, waiters, then openers) of a `probe()` result, as records carry them. */
export function holdersOfProbe(result: Pick<ProbeResult, 'locks'> & { openers?: ProbeResult['openers'] }): RecordHolder[] {
  return core.toRecordHolders(result);
}
