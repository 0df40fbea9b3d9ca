/**
 * One set of error factories, parameterised by the error class: lock() and friends build
 * LockErrors with them, the probe ProbeErrors, with the same codes, reasons and message shapes.
 */
import type { ErrorReason, LockKind } from '../vocabulary.js';
import { LockError, ProbeError, type LockErrorInit, type LockscopeError } from './classes.js';
import { classifyErrno, errnoNumber, type ErrnoClassification } from './errno.js';
import { classifyWin32Error } from './win32.js';

export interface ErrorExtra {
  /** Replaces the generated message (`CODE: description, syscall 'path'`). */
  message?: string;
  /** Replaces the table's reason where the caller knows better (e.g. no /proc is 'unsupported'). */
  reason?: ErrorReason;
  waitedMs?: number;
  cause?: unknown;
}

export interface ErrorFactories<E extends LockscopeError> {
  /** Argument validation failure: code EINVAL, syscall = the public function's name. */
  invalidArgument(fn: string, path: string | undefined, message: string, kind?: LockKind): E;
  /** ENOTSUP: `message` says what is missing where. */
  unsupported(fn: string, path: string | undefined, message: string): E;
  /** From a failed syscall's errno (classifyErrno). */
  fromErrno(syscall: string, errno: number, path: string | undefined, kind?: LockKind, extra?: ErrorExtra): E;
  /** From a Win32 error code (classifyWin32Error). */
  fromWin32(syscall: string, code: number, path: string | undefined, kind?: LockKind, extra?: ErrorExtra): E;
  /** From a Node fs error (its `code` names the errno); EIO when it has none this platform knows. */
  fromFsError(error: unknown, syscall: string, path: string): E;
}

function at(fn: string, path: string | undefined): string {
  return `${fn}${path === undefined ? '' : ` '${path}'`}`;
}

export function errorFactories<E extends LockscopeError>(make: (init: LockErrorInit) => E): ErrorFactories<E> {
  const classified = (
    c: ErrnoClassification,
    path: string | undefined,
    kind: LockKind | undefined,
    message: string,
    extra: ErrorExtra | undefined,
  ): E =>
    make({
      code: c.code,
      errno: c.errno,
      syscall: c.syscall,
      path,
      kind,
      reason: extra?.reason ?? c.reason,
      retry: c.retry,
      message: extra?.message ?? message,
      waitedMs: extra?.waitedMs,
      cause: extra?.cause,
    });
  return {
    invalidArgument: (fn, path, message, kind) =>
      make({
        code: 'EINVAL',
        errno: errnoNumber('EINVAL') ?? 22,
        syscall: fn,
        path,
        kind,
        reason: 'invalid-argument',
        message: `EINVAL: ${message}, ${at(fn, path)}`,
      }),
    unsupported: (fn, path, message) =>
      make({
        code: 'ENOTSUP',
        errno: errnoNumber('ENOTSUP') ?? errnoNumber('EOPNOTSUPP') ?? 95,
        syscall: fn,
        path,
        kind: undefined,
        reason: 'unsupported',
        message: `ENOTSUP: ${message}, ${at(fn, path)}`,
      }),
    fromErrno: (syscall, errno, path, kind, extra) => {
      const c = classifyErrno(syscall, errno);
      return classified(c, path, kind, `${c.code}: ${c.description}, ${at(syscall, path)}`, extra);
    },
    fromWin32: (syscall, code, path, kind, extra) => {
      const c = classifyWin32Error(syscall, code);
      return classified(c, path, kind, `${c.code} (${code}): ${c.description}, ${at(syscall, path)}`, extra);
    },
    fromFsError: (error, syscall, path) => {
      const code = (error as { code?: unknown } | null)?.code;
      // By the code's name: Node's err.errno is libuv's number on Windows (-4058 for ENOENT).
      const errno = typeof code === 'string' ? errnoNumber(code) : undefined;
      if (errno === undefined) {
        const c: ErrnoClassification = { ...classifyErrno(syscall, errnoNumber('EIO') ?? 5), reason: 'io', retry: false };
        return classified(c, path, undefined, `EIO: ${String(error)}, ${at(syscall, path)}`, { cause: error });
      }
      const c = classifyErrno(syscall, errno);
      const description = c.code === 'ENOENT' ? 'no such file or directory' : c.description;
      return classified(c, path, undefined, `${c.code}: ${description}, ${at(syscall, path)}`, { cause: error });
    },
  };
}

export const lockErrors: ErrorFactories<LockError> = errorFactories((init) => new LockError(init));
export const probeErrors: ErrorFactories<ProbeError> = errorFactories((init) => new ProbeError(init));

/** Build a LockError from a failed syscall's errno. */
export function lockErrorFromErrno(
  syscall: string,
  errno: number,
  path: string | undefined,
  kind: LockKind | undefined,
  extra?: { message?: string; waitedMs?: number; cause?: unknown },
): LockError {
  return lockErrors.fromErrno(syscall, errno, path, kind, extra);
}

/** Build a LockError from a Win32 error code. */
export function lockErrorFromWin32(
  syscall: string,
  code: number,
  path: string | undefined,
  kind: LockKind | undefined,
  extra?: { message?: string; waitedMs?: number; cause?: unknown },
): LockError {
  return lockErrors.fromWin32(syscall, code, path, kind, extra);
}

/** Argument validation failure: code EINVAL, syscall = the public function's name. */
export function invalidArgument(fn: string, path: string | undefined, message: string, kind?: LockKind): LockError {
  return lockErrors.invalidArgument(fn, path, message, kind);
}

export function unsupportedPlatform(fn: string, path: string | undefined, what: string): LockError {
  return lockErrors.unsupported(fn, path, `${what} is not supported on ${process.platform} yet`);
}
