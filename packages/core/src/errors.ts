import { constants as osConstants } from 'node:os';

/** Closed set of failure reasons: the stable thing to branch on across platforms. */
export type ErrorReason =
  | 'contended'
  | 'timeout'
  | 'aborted'
  | 'permission'
  | 'not-found'
  | 'invalid-argument'
  | 'unsupported'
  | 'deadlock'
  | 'io';

export const ERROR_REASONS: readonly ErrorReason[] = [
  'contended',
  'timeout',
  'aborted',
  'permission',
  'not-found',
  'invalid-argument',
  'unsupported',
  'deadlock',
  'io',
];

/** Syscalls whose failure means "someone else holds it" rather than "you may not". */
const LOCK_SYSCALLS = new Set(['flock', 'fcntl', 'lockf', 'LockFileEx', 'UnlockFileEx']);

const E = osConstants.errno as Record<string, number>;
const CODE_BY_ERRNO = new Map<number, string>();
for (const [name, num] of Object.entries(E)) {
  // EAGAIN and EWOULDBLOCK share a number on Linux; prefer the lock-world name.
  if (name === 'EAGAIN' && CODE_BY_ERRNO.has(num)) continue;
  if (!CODE_BY_ERRNO.has(num) || name === 'EWOULDBLOCK') CODE_BY_ERRNO.set(num, name);
}

/** errno number -> symbolic code (`EWOULDBLOCK`, `ENOENT`, ...), `E<n>` when unknown. */
export function errnoCode(errno: number): string {
  return CODE_BY_ERRNO.get(errno) ?? `E${errno}`;
}

/** symbolic code -> errno number on this platform (undefined when the platform lacks it). */
export function errnoNumber(code: string): number | undefined {
  return E[code];
}

export interface ErrnoClassification {
  code: string;
  errno: number;
  syscall: string;
  reason: ErrorReason;
  /** Whether retrying the same call can succeed without the caller changing anything. */
  retry: boolean;
  /** One line for humans: what this errno means from this syscall. */
  description: string;
}

type Row = { reason: ErrorReason; retry: boolean; description: string };

function row(reason: ErrorReason, retry: boolean, description: string): Row {
  return { reason, retry, description };
}

/**
 * The table behind `LockError.reason`. The same errno means different things from different
 * syscalls: EACCES from a lock call is a conflicting holder (POSIX allows it for F_SETLK), from
 * open() it is a permission problem. Documented in docs/errors.md.
 */
export function classifyErrno(syscall: string, errno: number): ErrnoClassification {
  const code = errnoCode(errno);
  const r = lookup(syscall, code);
  return { code, errno, syscall, ...r };
}

function lookup(syscall: string, code: string): Row {
  const isLock = LOCK_SYSCALLS.has(syscall);
  switch (code) {
    case 'EWOULDBLOCK':
    case 'EAGAIN':
      return isLock
        ? row('contended', true, 'another holder has a conflicting lock')
        : row('io', true, 'resource temporarily unavailable');
    case 'EACCES':
      return isLock
        ? row('contended', true, 'another holder has a conflicting lock (POSIX F_SETLK may say EACCES)')
        : row('permission', false, 'permission denied');
    case 'EPERM':
      return row('permission', false, 'operation not permitted');
    case 'EROFS':
      return row('permission', false, 'read-only file system');
    case 'ENOENT':
      return row('not-found', false, 'no such file or directory (missing parent directories are not created)');
    case 'ENOTDIR':
      return row('not-found', false, 'a path component is not a directory');
    case 'EISDIR':
      return row('invalid-argument', false, 'path is a directory');
    case 'ELOOP':
      return row('invalid-argument', false, 'too many symbolic links');
    case 'ENAMETOOLONG':
      return row('invalid-argument', false, 'file name too long');
    case 'EINVAL':
      return row('invalid-argument', false, 'invalid argument');
    case 'EINTR':
      return row('io', true, 'interrupted by a signal');
    case 'EDEADLK':
      // The kernel's detector sees processes, not threads; Go's lockedfile retries it too.
      return isLock
        ? row('deadlock', true, 'the kernel detected a lock-wait cycle between processes')
        : row('deadlock', false, 'resource deadlock avoided');
    case 'ENOLCK':
      return row('unsupported', false, 'no locks available (e.g. NFS mount without a lock manager)');
    case 'EBADF':
      return syscall === 'flock'
        ? row('io', true, 'bad file descriptor (NFSv4 flock needs a read-write fd: reopen O_RDWR and retry once)')
        : isLock
          ? row('permission', false, 'fd not open for the access the lock mode needs (write lock on a read-only fd)')
          : row('invalid-argument', false, 'bad file descriptor');
    case 'EOPNOTSUPP':
    case 'ENOTSUP':
    case 'ENOSYS':
      return row('unsupported', false, 'operation not supported here');
    case 'EBUSY':
      return row('contended', true, 'device or resource busy');
    case 'ETXTBSY':
      return row('contended', true, 'text file busy (being executed)');
    case 'EMFILE':
    case 'ENFILE':
      return row('io', true, 'too many open files');
    case 'ENOMEM':
      return row('io', true, 'out of memory');
    case 'ETIMEDOUT':
      return row('timeout', true, 'timed out waiting');
    case 'ECANCELED':
      return row('aborted', false, 'cancelled');
    case 'EOVERFLOW':
      return row('invalid-argument', false, 'value too large (range beyond the file offset limit)');
    default:
      return row('io', false, 'input/output error');
  }
}

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

export type LockKind = 'flock' | 'ofd' | 'posix';

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

/** Build a LockError from a failed syscall's errno. */
export function lockErrorFromErrno(
  syscall: string,
  errno: number,
  path: string | undefined,
  kind: LockKind | undefined,
  extra?: { message?: string; waitedMs?: number; cause?: unknown },
): LockError {
  const c = classifyErrno(syscall, errno);
  const message =
    extra?.message ?? `${c.code}: ${c.description}, ${syscall}${path === undefined ? '' : ` '${path}'`}`;
  return new LockError({
    code: c.code,
    errno,
    syscall,
    path,
    kind,
    reason: c.reason,
    retry: c.retry,
    message,
    waitedMs: extra?.waitedMs,
    cause: extra?.cause,
  });
}

/** Argument validation failure: code EINVAL, syscall = the public function's name. */
export function invalidArgument(fn: string, path: string | undefined, message: string, kind?: LockKind): LockError {
  return new LockError({
    code: 'EINVAL',
    errno: E.EINVAL ?? 22,
    syscall: fn,
    path,
    kind,
    reason: 'invalid-argument',
    message: `EINVAL: ${message}, ${fn}${path === undefined ? '' : ` '${path}'`}`,
  });
}

export function unsupportedPlatform(fn: string, path: string | undefined, what: string): LockError {
  return new LockError({
    code: 'ENOTSUP',
    errno: E.ENOTSUP ?? E.EOPNOTSUPP ?? 95,
    syscall: fn,
    path,
    kind: undefined,
    reason: 'unsupported',
    message: `ENOTSUP: ${what} is not supported on ${process.platform} yet, ${fn}${path === undefined ? '' : ` '${path}'`}`,
  });
}

// ---------------------------------------------------------------------------------------------
// Windows: Win32 error codes (GetLastError) from LockFileEx, CreateFileW, Restart Manager.
// `code` is the SDK name (ERROR_LOCK_VIOLATION), `errno` the Win32 number; `reason` is the same
// closed set as on POSIX, so callers branch on `reason` on every platform.

const WIN32_NAMES: Readonly<Record<number, string>> = {
  2: 'ERROR_FILE_NOT_FOUND',
  3: 'ERROR_PATH_NOT_FOUND',
  4: 'ERROR_TOO_MANY_OPEN_FILES',
  5: 'ERROR_ACCESS_DENIED',
  6: 'ERROR_INVALID_HANDLE',
  8: 'ERROR_NOT_ENOUGH_MEMORY',
  14: 'ERROR_OUTOFMEMORY',
  19: 'ERROR_WRITE_PROTECT',
  32: 'ERROR_SHARING_VIOLATION',
  33: 'ERROR_LOCK_VIOLATION',
  50: 'ERROR_NOT_SUPPORTED',
  87: 'ERROR_INVALID_PARAMETER',
  121: 'ERROR_SEM_TIMEOUT',
  123: 'ERROR_INVALID_NAME',
  158: 'ERROR_NOT_LOCKED',
  161: 'ERROR_BAD_PATHNAME',
  167: 'ERROR_LOCK_FAILED',
  206: 'ERROR_FILENAME_EXCED_RANGE',
  234: 'ERROR_MORE_DATA',
  258: 'WAIT_TIMEOUT',
  267: 'ERROR_DIRECTORY',
  303: 'ERROR_DELETE_PENDING',
  353: 'ERROR_MAX_SESSIONS_REACHED',
  995: 'ERROR_OPERATION_ABORTED',
  997: 'ERROR_IO_PENDING',
  1131: 'ERROR_POSSIBLE_DEADLOCK',
  1223: 'ERROR_CANCELLED',
  1460: 'ERROR_TIMEOUT',
};

/** Win32 error number -> SDK name, `WIN32_<n>` when unknown. */
export function win32ErrorCode(code: number): string {
  return WIN32_NAMES[code] ?? `WIN32_${code}`;
}

/**
 * The Windows counterpart of classifyErrno (docs/errors.md, docs/platforms.md). Choices:
 * - 33 (lock violation) and 32 (sharing violation) are contention: another handle holds it.
 * - 997 (I/O pending) is never surfaced: lockscope locks through synchronous handles with
 *   LOCKFILE_FAIL_IMMEDIATELY, which complete before returning; seeing it is a bug ('io').
 * - 5 (access denied) depends on the call. From LockFileEx it is contention: lockscope's handles
 *   always carry read access, so it is not a rights problem, and SMB redirectors answer a
 *   conflicting FAIL_IMMEDIATELY request this way. From CreateFileW it is 'permission' but
 *   retryable: a file another process deleted stays "delete pending" and answers 5 until its
 *   last handle closes, indistinguishable from a real denial at the Win32 layer; lock() retries
 *   it for a short grace before reporting it.
 */
export function classifyWin32Error(syscall: string, code: number): ErrnoClassification {
  const name = win32ErrorCode(code);
  return { code: name, errno: code, syscall, ...win32Row(syscall, code) };
}

function win32Row(syscall: string, code: number): Row {
  const isLock = LOCK_SYSCALLS.has(syscall);
  // UnlockFileEx of a range this handle did not lock: Windows says 158, Wine 8 says 33.
  if (syscall === 'UnlockFileEx' && (code === 33 || code === 158)) {
    return row('invalid-argument', false, 'the range is not locked by this handle');
  }
  switch (code) {
    case 33:
      return row('contended', true, 'another handle holds a conflicting lock on this byte range');
    case 32:
      return row('contended', true, 'another process opened the file without sharing it');
    case 5:
      return isLock
        ? row('contended', true, 'lock request refused (a conflicting lock, as network redirectors report it)')
        : row('permission', true, 'access denied (or the file is being deleted: delete-pending answers the same)');
    case 303:
      return row('io', true, 'the file is being deleted');
    case 167:
      return row('unsupported', false, 'unable to lock a region of the file (file system without lock support)');
    case 158:
      return row('invalid-argument', false, 'the range is not locked by this handle');
    case 997:
      return row('io', false, 'operation pending on an overlapped handle (never expected from lockscope)');
    case 2:
      return row('not-found', false, 'file not found');
    case 3:
      return row('not-found', false, 'path not found (missing parent directories are not created)');
    case 19:
      return row('permission', false, 'the medium is write-protected');
    case 6:
    case 87:
    case 123:
    case 161:
    case 206:
      return row('invalid-argument', false, 'invalid handle, parameter or file name');
    case 267:
      return row('invalid-argument', false, 'path is a directory');
    case 50:
      return row('unsupported', false, 'operation not supported here');
    case 4:
    case 8:
    case 14:
    case 353:
      return row('io', true, 'out of handles, memory or sessions');
    case 995:
    case 1223:
      return row('aborted', false, 'cancelled');
    case 121:
    case 258:
    case 1460:
      return row('timeout', true, 'timed out');
    case 1131:
      return row('deadlock', true, 'possible deadlock');
    default:
      return row('io', false, 'Windows error');
  }
}

/** Build a LockError from a Win32 error code. */
export function lockErrorFromWin32(
  syscall: string,
  code: number,
  path: string | undefined,
  kind: LockKind | undefined,
  extra?: { message?: string; waitedMs?: number; cause?: unknown },
): LockError {
  const c = classifyWin32Error(syscall, code);
  const message =
    extra?.message ?? `${c.code} (${code}): ${c.description}, ${syscall}${path === undefined ? '' : ` '${path}'`}`;
  return new LockError({
    code: c.code,
    errno: code,
    syscall,
    path,
    kind,
    reason: c.reason,
    retry: c.retry,
    message,
    waitedMs: extra?.waitedMs,
    cause: extra?.cause,
  });
}
