import { LOCK_SYSCALLS, row, type ErrnoClassification, type Row } from './errno.js';

/**
 * Windows: Win32 error codes (GetLastError) from LockFileEx, CreateFileW, Restart Manager.
 * `code` is the SDK name (ERROR_LOCK_VIOLATION), `errno` the Win32 number; `reason` is the same
 * closed set as on POSIX, so callers branch on `reason` on every platform.
 */

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
