/** The error classes lockscope throws; built by the factories in factories.ts. */
import type { ErrorReason, LockKind } from '../vocabulary.js';

export interface LockscopeErrorInit {
  code: string;
  errno: number;
  syscall: string;
  path: string | undefined;
  reason: ErrorReason;
  message: string;
  retry?: boolean;
  cause?: unknown;
}

/** Base of every error lockscope throws: always `code`, `errno`, `syscall`, `path`, `reason`. */
export class LockscopeError extends Error {
  readonly code: string;
  /** Positive OS error number, as in `os.constants.errno` (not libuv's negative numbers). */
  readonly errno: number;
  /** The system call that failed, or the lockscope function for argument validation. */
  readonly syscall: string;
  readonly path: string | undefined;
  readonly reason: ErrorReason;
  readonly retry: boolean;

  constructor(init: LockscopeErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'LockscopeError';
    this.code = init.code;
    this.errno = init.errno;
    this.syscall = init.syscall;
    this.path = init.path;
    this.reason = init.reason;
    this.retry = init.retry ?? false;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      code: this.code,
      errno: this.errno,
      syscall: this.syscall,
      path: this.path,
      reason: this.reason,
      retry: this.retry,
    };
  }
}

export interface LockErrorInit extends LockscopeErrorInit {
  kind: LockKind | undefined;
  waitedMs?: number;
  holders?: unknown[];
}

export class LockError extends LockscopeError {
  readonly kind: LockKind | undefined;
  /** For timeout and abort: how long the call waited before giving up. */
  readonly waitedMs: number | undefined;
  /** Holders seen by the probe while waiting (timeout/abort with instrumentation), else undefined. */
  holders: unknown[] | undefined;

  constructor(init: LockErrorInit) {
    super(init);
    this.name = 'LockError';
    this.kind = init.kind;
    this.waitedMs = init.waitedMs;
    this.holders = init.holders;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), kind: this.kind, waitedMs: this.waitedMs, holders: this.holders };
  }
}

export class ProbeError extends LockscopeError {
  constructor(init: LockscopeErrorInit) {
    super(init);
    this.name = 'ProbeError';
  }
}
