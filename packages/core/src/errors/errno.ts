/** POSIX errno names and the table behind `reason` for POSIX system calls (docs/errors.md). */
import { constants as osConstants } from 'node:os';
import type { ErrorReason } from '../vocabulary.js';

/** Syscalls whose failure means "someone else holds it" rather than "you may not". */
export const LOCK_SYSCALLS = new Set(['flock', 'fcntl', 'lockf', 'LockFileEx', 'UnlockFileEx']);

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

export type Row = { reason: ErrorReason; retry: boolean; description: string };

export function row(reason: ErrorReason, retry: boolean, description: string): Row {
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
      return isLock ? row('contended', true, 'another holder has a conflicting lock') : row('io', true, 'resource temporarily unavailable');
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
