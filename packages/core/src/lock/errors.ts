/** LockErrors the engine makes itself (timeout, abort, self-deadlock, waiter failure). */
import { classifyErrno, errnoCode, errnoNumber, invalidArgument, LockError, type ErrorReason, type LockKind } from '../errors.js';
import type { RecordError } from '../record/index.js';
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

const FILE_TYPES: Record<number, string> = {
  0o010000: 'a FIFO',
  0o020000: 'a character device',
  0o040000: 'a directory',
  0o060000: 'a block device',
  0o120000: 'a symbolic link',
  0o140000: 'a socket',
};

/**
 * The path names something other than a regular file: a FIFO, socket or device is never a lock
 * file (its lock would be shared with every unrelated user of it), so it is refused, not locked.
 */
export function notALockFile(req: LockRequest, type: number): LockError {
  const what = FILE_TYPES[type] ?? `not a regular file (type 0o${type.toString(8)})`;
  return invalidArgument(req.api, req.path, `path is ${what}, not a regular file; a lock file must be a regular file`, req.kind);
}

export function waiterFailed(req: LockRequest, waitedMs: number, cause: unknown): LockError {
  const msg = `the waiter thread for ${describe(req)} failed: ${String((cause as Error)?.message ?? cause)}`;
  return engineError(req, 'EIO', 'EIO', 5, 'io', waitedMs, msg, { cause });
}

const EAGAIN = errnoNumber('EAGAIN') ?? 11;

/**
 * What refused a request's non-blocking attempt, as its contended record carries it (reason
 * 'contended'): the lock call's errno (`syscall` the backend's lock call), or, when a lock of
 * this very process is in the way and no call was made, the EWOULDBLOCK the engine stands in
 * for it (syscall 'lock', like the engine's other errors).
 */
export function refusal(req: LockRequest, syscall: string | null, errno: number): RecordError {
  if (syscall === null) {
    const code = errnoCode(EAGAIN);
    return { code, errno: EAGAIN, syscall: 'lock', reason: 'contended', message: `${code}: ${blockerText(req)}, lock '${req.path}'` };
  }
  const c = classifyErrno(syscall, errno);
  return { code: c.code, errno, syscall, reason: 'contended', message: `${c.code}: ${c.description}, ${syscall} '${req.path}'` };
}

/**
 * The timeout and abort errors of the API's other waits (waitIdle): the same code, errno and
 * reason as a lock wait's, `syscall` the public function, `holders` what it was waiting on.
 */
export function waitTimeoutError(fn: string, path: string, waitedMs: number, message: string, holders?: unknown[]): LockError {
  return engineError({ path, kind: undefined }, 'ETIMEDOUT', 'ETIMEDOUT', 110, 'timeout', waitedMs, message, {
    retry: true,
    syscall: fn,
    holders,
  });
}

export function waitAbortError(
  fn: string,
  path: string,
  waitedMs: number,
  signal: AbortSignal,
  message: string,
  holders?: unknown[],
): LockError {
  return engineError({ path, kind: undefined }, 'ABORT_ERR', 'ECANCELED', 125, 'aborted', waitedMs, message, {
    cause: signal.reason,
    syscall: fn,
    holders,
  });
}
