/**
 * The engine's single points of observation, and the only engine file that knows the
 * instrumentation. Each hook is called exactly once per occurrence with the per-request object
 * (request.ts). Rules: never throw, stay cheap when nobody listens (a field check), never keep a
 * LockHandle (it would defeat leak detection), and copy what you need from `req`.
 *
 * The tracing context, the terminal record and `error.holders` belong to the wrappers in
 * diagnostics/trace.ts (lock/index.ts calls them); the hooks below feed the tracked call
 * (`req.diag`, a Wait) and the tracked hold (`req.hold`, a Hold).
 */
import { onHeld, onLeaked, onReleased } from '../diagnostics/holds.js';
import { instrumentationActive } from '../diagnostics/listening.js';
import { hasDefaultHolderResolver, setDefaultHolderResolver } from '../diagnostics/tracker.js';
import { probeHolderResolver } from '../probe/index.js';
import { refusal } from './errors.js';
import type { LockRequest } from './request.js';

/**
 * Whether a call starting now is tracked (someone subscribes to a lock channel, or cards are
 * forced on). The one check the uncontended path pays when nobody listens.
 */
export const active: () => boolean = instrumentationActive;

/**
 * The request could not be granted at once and starts waiting: `req.waitedOn` says where
 * ('in-process': behind `req.blocker`; 'kernel': another process). The contention timer starts here.
 */
export function waitStart(req: LockRequest): void {
  const w = req.diag;
  if (w === undefined) return;
  // The probe resolves holders of contended records; installed on first need so an
  // uncontended process never touches it.
  if (!hasDefaultHolderResolver()) setDefaultHolderResolver(probeHolderResolver);
  w.blocked(req.dev, req.ino);
}

/**
 * A tracked request's attempt was refused: by the kernel (`syscall`, positive `errno`) or, with
 * `syscall` null, by a lock this process holds or waits for (`req.blocker`). Called at every
 * refusal before and during the wait, so the contended record names the latest.
 */
export function refused(req: LockRequest, syscall: string | null, errno: number): void {
  const w = req.diag;
  if (w === undefined) return;
  try {
    w.refused(refusal(req, syscall, errno));
  } catch {
    // instrumentation never breaks a lock call
  }
}

/**
 * The acquire ended. `req.state === 'held'`: granted (req.waitedMs, req.acquiredAt set). Otherwise
 * `error` says why, or `error` is undefined for a tryLock() that found the lock busy. Called
 * before the handle is made (and before the caller's promise settles).
 */
export function acquireEnd(req: LockRequest, error: unknown): void {
  const w = req.diag;
  if (w === undefined) return;
  // The Wait is reachable from the tracing context, which Node gives the handle (ctx.result):
  // the request must drop it, or the leak registry's held value would keep the handle alive.
  req.diag = undefined;
  if (req.state !== 'held') {
    // A call that fails before waiting: its terminal record's snapshot shows the caller's stack.
    if (error !== undefined) w.captureStack();
    return;
  }
  try {
    req.hold = onHeld(req.path, req.dev, req.ino, req, w);
  } catch {
    // instrumentation never breaks a grant
  }
}

/** A held lock was released. `leaked`: by the leak detector. */
export function released(req: LockRequest, leaked: boolean): void {
  const h = req.hold;
  if (h === undefined) return;
  req.hold = undefined;
  try {
    if (leaked) onLeaked(h);
    else onReleased(h);
  } catch {
    // never throw from release or a finalizer
  }
}

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
