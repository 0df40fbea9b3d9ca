/** Public lock API: lock(), tryLock(), withLock(). See docs/locking.md. */
import { invalidArgument } from '../errors.js';
import { backend } from '../platform/index.js';
import { abandon, attemptOrThrow, engineStats, HELD, platformFor, startWaiting } from './engine.js';
import { abortError, timeoutError } from './errors.js';
import * as events from './events.js';
import { LockHandle } from './handle.js';
import { LockRequest } from './request.js';
import type { LockOptions } from './types.js';

export { LockHandle } from './handle.js';
export type { LockOptions, LockMode, LockRange, LockKind } from './types.js';

/**
 * Take a lock, waiting as long as needed (or until `timeout` / `signal`). Never throws:
 * every failure is a rejected promise with a LockError.
 */
export function lock(path: string | URL, options?: LockOptions): Promise<LockHandle> {
  return acquire('lock', path, options);
}

function acquire(api: string, path: unknown, options: LockOptions | undefined): Promise<LockHandle> {
  let req: LockRequest;
  try {
    req = new LockRequest(api, path, options);
  } catch (err) {
    return Promise.reject(err);
  }
  let started = false;
  try {
    const b = platformFor(req);
    started = true;
    events.acquireStart(req);
    const signal = req.signal;
    if (signal?.aborted) throw abortError(req, 0, signal);
    const out = attemptOrThrow(req, b);
    if (out === HELD) {
      events.acquireEnd(req, undefined);
      return Promise.resolve(new LockHandle(req));
    }
    if (req.timeout === 0) {
      abandon(req, b);
      throw timeoutError(req, performance.now() - req.startedAt);
    }
    return new Promise<LockHandle>((resolve, reject) => {
      req.resolve = resolve;
      req.reject = reject;
      startWaiting(req, b, out);
    });
  } catch (err) {
    if (started) events.acquireEnd(req, err);
    return Promise.reject(err);
  }
}

/**
 * One attempt, never waits: a handle, or null when another holder (another process, or a
 * conflicting lock of this process) has it. Throws a LockError for anything else.
 */
export function tryLock(path: string | URL, options?: LockOptions): LockHandle | null {
  const req = new LockRequest('tryLock', path, options);
  const b = platformFor(req);
  events.acquireStart(req);
  let out;
  try {
    out = attemptOrThrow(req, b);
  } catch (err) {
    events.acquireEnd(req, err);
    throw err;
  }
  if (out === HELD) {
    events.acquireEnd(req, undefined);
    return new LockHandle(req);
  }
  abandon(req, b);
  events.acquireEnd(req, undefined);
  return null;
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
  const handle = await acquire('withLock', path, options);
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
