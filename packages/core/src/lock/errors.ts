/** LockErrors the engine makes itself (timeout, abort, self-deadlock, waiter failure). */
import { errnoNumber, LockError, type ErrorReason, type LockKind } from '../errors.js';
import type { LockRequest } from './request.js';

function describe(req: LockRequest): string {
  const range = req.range ? ` bytes ${req.range.start}+${req.range.length === 0 ? 'EOF' : req.range.length}` : '';
  return `${req.exclusive ? 'an' : 'a'} ${req.mode} ${req.kind} lock${range} on '${req.path}'`;
}

function blockerText(req: LockRequest): string {
  const b = req.blocker;
  if (!b) return 'another process holds it';
  const via = b.path === req.path ? '' : ` (same file via '${b.path}')`;
  return `this process ${b.state === 'held' ? 'holds' : 'is already waiting for'} a conflicting ${b.mode} ${b.kind} lock${via}`;
}

function engineError(
  req: { path: string; kind: LockKind | undefined },
  code: string,
  errnoName: string,
  fallback: number,
  reason: ErrorReason,
  waitedMs: number,
  message: string,
  extra: { retry?: boolean; cause?: unknown; syscall?: string; holders?: unknown[] } = {},
): LockError {
  return new LockError({
    code,
    errno: errnoNumber(errnoName) ?? fallback,
    syscall: extra.syscall ?? 'lock',
    path: req.path,
    kind: req.kind,
    reason,
    waitedMs,
    message: `${code}: ${message}`,
    retry: extra.retry,
    cause: extra.cause,
    holders: extra.holders,
  });
}

export function timeoutError(req: LockRequest, waitedMs: number): LockError {
  const msg = `gave up after ${Math.round(waitedMs)} ms (timeout ${req.timeout} ms) waiting for ${describe(req)}: ${blockerText(req)}`;
  return engineError(req, 'ETIMEDOUT', 'ETIMEDOUT', 110, 'timeout', waitedMs, msg, { retry: true });
}

export function abortError(req: LockRequest, waitedMs: number, signal: AbortSignal): LockError {
  const msg = `aborted after ${Math.round(waitedMs)} ms waiting for ${describe(req)}: ${blockerText(req)}`;
  return engineError(req, 'ABORT_ERR', 'ECANCELED', 125, 'aborted', waitedMs, msg, { cause: signal.reason });
}

export function deadlockError(req: LockRequest, waitedMs: number): LockError {
  const msg =
    `waiting for ${describe(req)} would never end: ${blockerText(req)}, ` +
    'and nothing else is pending in this process that could release it';
  return engineError(req, 'EDEADLK', 'EDEADLK', 35, 'deadlock', waitedMs, msg);
}

export function waiterFailed(req: LockRequest, waitedMs: number, cause: unknown): LockError {
  const msg = `the waiter thread for ${describe(req)} failed: ${String((cause as Error)?.message ?? cause)}`;
  return engineError(req, 'EIO', 'EIO', 5, 'io', waitedMs, msg, { cause });
}

/**
 * The timeout and abort errors of the API's other waits (waitIdle): the same code, errno and
 * reason as a lock wait's, `syscall` the public function, `holders` what it was waiting on.
 */
export function waitTimeoutError(fn: string, path: string, waitedMs: number, message: string, holders?: unknown[]): LockError {
  return engineError({ path, kind: undefined }, 'ETIMEDOUT', 'ETIMEDOUT', 110, 'timeout', waitedMs, message, { retry: true, syscall: fn, holders });
}

export function waitAbortError(fn: string, path: string, waitedMs: number, signal: AbortSignal, message: string, holders?: unknown[]): LockError {
  return engineError({ path, kind: undefined }, 'ABORT_ERR', 'ECANCELED', 125, 'aborted', waitedMs, message, { cause: signal.reason, syscall: fn, holders });
}
