/** Public lock API: lock(), tryLock(), withLock(). See docs/locking.md. */
import { performance } from 'node:perf_hooks';
import { invalidArgument } from '../errors.js';
import { backend } from '../platform/index.js';
import { abandon, attemptOrThrow, engineStats, HELD, newHandle, platformFor, startWaiting } from './engine.js';
import { abortError, timeoutError } from './errors.js';
import { traceLock, traceTryLock } from '../diagnostics/trace.js';
import * as events from './events.js';
import type { LockHandle } from './handle.js';
import { LockRequest } from './request.js';
import type { LockOptions } from './types.js';

export { LockHandle } from './handle.js';
export type { LockOptions, LockMode, LockRange, LockKind } from './types.js';

/**
 * Take a lock, waiting as long as needed (or until `timeout` / `signal`). Never throws:
 * every failure is a rejected promise with a LockError.
 */
export function lock(path: string | URL, options?: LockOptions): Promise<LockHandle> {
  return acquire('lock', path, options, lock);
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
function acquire(api: string, path: unknown, options: LockOptions | undefined, caller: Function): Promise<LockHandle> {
  let req: LockRequest;
  try {
    req = new LockRequest(api, path, options);
  } catch (err) {
    return Promise.reject(err);
  }
  if (!events.active()) return acquireRequest(req);
  // Tracked: the wrapper owns the tracing context, the terminal record and error.holders.
  return traceLock(req.path, req, caller, (w) => {
    req.diag = w;
    return acquireRequest(req);
  });
}

/** The engine's async acquire of a validated request, without tracing. Never throws. */
export function acquireRequest(req: LockRequest): Promise<LockHandle> {
  try {
    const platform = platformFor(req);
    const signal = req.signal;
    if (signal?.aborted) throw abortError(req, 0, signal);
    const out = attemptOrThrow(req, platform);
    if (out === HELD) {
      events.acquireEnd(req, undefined);
      return Promise.resolve(newHandle(req));
    }
    if (req.timeout === 0) {
      abandon(req, platform);
      throw timeoutError(req, performance.now() - req.startedAt);
    }
    return new Promise<LockHandle>((resolve, reject) => {
      req.resolve = resolve;
      req.reject = reject;
      startWaiting(req, platform, out);
    });
  } catch (err) {
    events.acquireEnd(req, err);
    return Promise.reject(err);
  }
}

/**
 * One attempt, never waits: a handle, or null when another holder (another process, or a
 * conflicting lock of this process) has it. Throws a LockError for anything else.
 */
export function tryLock(path: string | URL, options?: LockOptions): LockHandle | null {
  const req = new LockRequest('tryLock', path, options);
  if (!events.active()) return tryLockRequest(req);
  return traceTryLock(req.path, req, tryLock, (w) => {
    req.diag = w;
    return tryLockRequest(req);
  });
}

/** The engine's tryLock of a validated request, without tracing. */
export function tryLockRequest(req: LockRequest): LockHandle | null {
  let out;
  try {
    const platform = platformFor(req);
    out = attemptOrThrow(req, platform);
    if (out !== HELD) abandon(req, platform);
  } catch (err) {
    events.acquireEnd(req, err);
    throw err;
  }
  events.acquireEnd(req, undefined);
  return out === HELD ? newHandle(req) : null;
}

/**
 * Hold the lock while `fn` runs; released when `fn` returns or throws (its result or error
 * passes through). `withLock(path, fn)` uses the default options.
 */
export async function withLock<T>(
  path: string | URL,
  options: LockOptions | undefined | ((handle: LockHandle) => T | PromiseLike<T>),
  fn?: (handle: LockHandle) => T | PromiseLike<T>,
): Promise<Awaited<T>> {
  if (typeof options === 'function') {
    fn = options;
    options = undefined;
  }
  if (typeof fn !== 'function') {
    throw invalidArgument('withLock', typeof path === 'string' ? path : undefined, 'fn must be a function');
  }
  const handle = await acquire('withLock', path, options, withLock);
  let result: Awaited<T>;
  try {
    result = await fn(handle);
  } catch (err) {
    try {
      handle.releaseSync();
    } catch {
      // fn's error is the one the caller needs; the lock is given up either way.
    }
    throw err;
  }
  handle.releaseSync();
  return result;
}

/** Live counts, for tests and diagnostics: requests by state, waiter threads, parked POSIX fds. */
export function lockStats(): ReturnType<typeof engineStats> & { waiterThreads: number; busyWaiterThreads: number } {
  const w = backend?.waiterStats?.() ?? { threads: 0, busy: 0 };
  return { ...engineStats(), waiterThreads: w.threads, busyWaiterThreads: w.busy };
}
