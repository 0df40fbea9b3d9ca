import { afterTurn } from '../after-turn.js';
import type { LockError } from '../errors.js';
import type { LockKind } from '../vocabulary.js';
import * as events from './events.js';
import type { LockRequest } from './request.js';
import type { LockMode, LockRange } from './types.js';

/**
 * The engine's release (engine.ts releaseRequest), handed to each handle at construction so that
 * this module does not import the engine (no import cycle). `leaked`: the handle was collected.
 */
export type ReleaseRequest = (req: LockRequest, leaked: boolean) => LockError | undefined;

/**
 * A handle collected while held is reported and released. The registry holds the request (which
 * never points back at its handle), so registering does not keep the handle alive. One registry,
 * made with the engine's release the first time a handle is.
 */
let leaks: FinalizationRegistry<LockRequest> | undefined;

function leakRegistry(release: ReleaseRequest): FinalizationRegistry<LockRequest> {
  return (leaks ??= new FinalizationRegistry<LockRequest>((req) => {
    if (req.state !== 'held') return;
    const heldMs = Date.now() - req.acquiredAt;
    let error: unknown;
    try {
      error = release(req, true);
    } catch (err) {
      error = err;
    }
    events.leaked(req, heldMs, error);
  }));
}

/**
 * Handles waiting to be registered with the leak detector. Registering (and unregistering at
 * release) costs about a quarter of an uncontended pair, so it waits until the current turn of the
 * event loop is over (after-turn.ts): a lock released before then (tryLock + releaseSync, or
 * `withLock` around synchronous work, or an awaited acquire released in its continuation) never
 * pays it, and a grant's continuation runs before it. The queue holds the handle strongly until
 * then, so a leak is never missed: a handle dropped right away is registered first and collected later.
 */
let toRegister: LockHandle[] = [];
/** A long loop of lock calls in one turn registers in batches, so the queue stays small. */
const MAX_QUEUED = 256;

function flushRegistrations(): void {
  const q = toRegister;
  toRegister = [];
  for (const h of q) h[REGISTER]();
}

/** Queue a new handle for leak detection (engine.ts newHandle, the only place handles are made). */
export function watchLeak(h: LockHandle): void {
  if (toRegister.push(h) >= MAX_QUEUED) flushRegistrations();
  else afterTurn(flushRegistrations);
}

const REGISTER = Symbol('register');

/** A held lock. Release it with `release()`, `releaseSync()`, or `await using`. */
export class LockHandle {
  /** Absolute path as given (not resolved through symlinks). */
  readonly path: string;
  readonly kind: LockKind;
  readonly mode: LockMode;
  /** Byte range for `ofd`/`posix` locks made with `range`, else null (whole file). */
  readonly range: LockRange | null;
  /** Date.now() when the lock was granted. */
  readonly acquiredAt: number;
  /** How long the acquire took, ms (waiting included). */
  readonly waitedMs: number;
  readonly #req: LockRequest;
  readonly #release: ReleaseRequest;
  readonly #leaks: FinalizationRegistry<LockRequest>;
  #registered = false;

  /** @internal Made by the engine only (engine.ts newHandle). */
  constructor(req: LockRequest, release: ReleaseRequest) {
    this.#req = req;
    this.#release = release;
    this.#leaks = leakRegistry(release);
    this.path = req.path;
    this.kind = req.kind;
    this.mode = req.mode;
    this.range = req.range;
    this.acquiredAt = req.acquiredAt;
    this.waitedMs = req.waitedMs;
  }

  /** @internal */
  [REGISTER](): void {
    const req = this.#req;
    if (req.state !== 'held') return;
    this.#registered = true;
    this.#leaks.register(this, req, req);
  }

  /**
   * The fd the lock is held through while held, -1 after release. Never close it yourself: for
   * `posix` closing ANY fd of the file drops all of this process's POSIX locks on it, and it is
   * shared by every posix handle of the file.
   */
  get fd(): number {
    return this.#req.state === 'held' ? this.#req.fd : -1;
  }

  /** Whether release() has run (or the lock was lost to the leak detector). */
  get released(): boolean {
    return this.#req.state !== 'held';
  }

  /** Unlock and close, synchronously. Idempotent. Throws a LockError if the unlock call failed. */
  releaseSync(): void {
    const req = this.#req;
    if (req.state !== 'held') return;
    if (this.#registered) this.#leaks.unregister(req);
    const err = this.#release(req, false);
    if (err !== undefined) throw err;
  }

  /** Unlock and close. Idempotent. */
  release(): Promise<void> {
    try {
      this.releaseSync();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  [Symbol.dispose](): void {
    this.releaseSync();
  }

  toJSON(): Record<string, unknown> {
    return {
      path: this.path,
      kind: this.kind,
      mode: this.mode,
      range: this.range,
      fd: this.fd,
      acquiredAt: this.acquiredAt,
      waitedMs: this.waitedMs,
      released: this.released,
    };
  }
}
