/**
 * The engine's single points of observation. Each is called exactly once per occurrence with the
 * per-request object (request.ts) and nothing else; the instrumentation layer (diagnostics
 * channels, contention timers, holder cards) hooks in here. Rules for whatever goes in here:
 * never throw, stay cheap when nobody listens, never keep a LockHandle (it would defeat leak
 * detection), and copy what you need from `req` (it is reused state, not a record).
 */
import type { LockRequest } from './request.js';

/** lock()/tryLock()/withLock() accepted valid arguments and starts acquiring. */
export function acquireStart(_req: LockRequest): void {}

/**
 * The request could not be granted at once and starts waiting: `req.waitedOn` says where
 * ('in-process': behind `req.blocker`; 'kernel': another process). A contention timer starts here.
 */
export function waitStart(_req: LockRequest): void {}

/**
 * The acquire ended. `req.state === 'held'`: granted (req.waitedMs, req.acquiredAt set). Otherwise
 * `error` says why (its `reason`: timeout, aborted, deadlock, permission...), or `error` is
 * undefined for a tryLock() that found the lock busy. For a wait this is also where it ends.
 */
export function acquireEnd(_req: LockRequest, _error: unknown): void {}

/** A held lock was released (`heldMs` since the grant). `leaked`: by the leak detector. */
export function released(_req: LockRequest, _heldMs: number, _leaked: boolean): void {}

/** A LockHandle was garbage-collected while still held. The engine has just released it. */
export function leaked(req: LockRequest, heldMs: number, releaseError: unknown): void {
  const range = req.range ? ` (bytes ${req.range.start}+${req.range.length})` : '';
  const failed = releaseError === undefined ? '' : ` Releasing it failed: ${String((releaseError as Error)?.message ?? releaseError)}`;
  process.emitWarning(
    `A ${req.mode} ${req.kind} lock on '${req.path}'${range} was garbage-collected without release() ` +
      `after being held ${Math.round(heldMs)} ms; lockscope released it now. ` +
      `Call handle.release() or use 'await using'.${failed}`,
    { type: 'LockscopeWarning', code: 'LOCKSCOPE_LEAKED_LOCK' },
  );
}
