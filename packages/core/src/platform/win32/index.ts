/**
 * Windows backend: LockFileEx byte-range locks on the HANDLE behind a Node fd.
 *
 * Kinds: 'flock' and 'ofd' become LockFileEx locks, which belong to the handle (like OFD locks)
 * and drop when it closes or the process dies; 'posix' is 'unsupported' (see `kinds`). 'flock'
 * locks every byte (offset 0, length 2^64-1, as Go's cmd/go lockedfile does), so it conflicts with any LockFileEx lock on the
 * file, including gofrs/flock's and Python filelock's one-byte locks at offset 0. Windows locks
 * are mandatory: other handles cannot read or write a byte range locked exclusively (use a
 * separate lock file, as everyone does on Windows). Locks never upgrade, split or merge: an
 * unlock must name exactly the locked range, which the engine always does.
 *
 * Waiting: LOCKFILE_FAIL_IMMEDIATELY attempts on a timer the main thread controls, not a blocking
 * LockFileEx. A blocked LockFileEx would need a thread per waiter and CancelSynchronousIo to
 * cancel it, which Wine (our only Windows test bed) does not honour for lock waits, so it could
 * not be tested; an overlapped LockFileEx is "not implemented, might deadlock" in Wine. Polling
 * never touches the libuv threadpool, cancels instantly (nothing is in flight between attempts),
 * and cannot hold up process exit. The price: hand-off latency is the poll period (1 ms at first,
 * backing off to POLL_MAX_MS), and there is no kernel FIFO between processes (a newcomer can
 * take the lock before an older waiter's next poll). Measured by scripts/wine/test.mjs.
 */
import { closeSync, fstatSync, openSync, statSync, constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { LockKind } from '../../errors.js';
import { S_IFMT, type FileId, type PendingWait, type PlatformBackend } from '../types.js';
import { PollWait } from '../poll-wait.js';
import { hasOsfHandle, lockFileEx, osfHandle, unlockFileEx } from './native.js';
import { MAX_LOCK_LENGTH } from './constants.js';

const E = osConstants.errno as Record<string, number>;
const err = (name: string, fallback: number): number => E[name] ?? fallback;
// Node's Windows errno numbers (MSVC CRT): EAGAIN 11, EACCES 13, EINVAL 22, EIO 5...
const EAGAIN = err('EAGAIN', 11);
const EACCES = err('EACCES', 13);
const EINVAL = err('EINVAL', 22);
const EIO = err('EIO', 5);
const ENOLCK = err('ENOLCK', 39);
const EISDIR = err('EISDIR', 21);
const EMFILE = err('EMFILE', 24);
const ENOMEM = err('ENOMEM', 12);
const ENOTSUP = err('ENOTSUP', 129);
const ECANCELED = err('ECANCELED', 105);

/** Results that mean "someone else holds it": keep polling. */
const BUSY: ReadonlySet<number> = new Set([-EAGAIN, -EACCES]);

/** First retry after 1 ms, doubling up to this: the worst-case hand-off latency of a long wait. */
export const POLL_MAX_MS = 4;

/**
 * Win32 error from LockFileEx/UnlockFileEx -> the positive errno the engine classifies with
 * classifyErrno('LockFileEx', errno); classifyWin32Error documents the same choices.
 */
export function win32ToErrno(code: number, syscall: 'LockFileEx' | 'UnlockFileEx'): number {
  switch (code) {
    case 33: // ERROR_LOCK_VIOLATION
      return syscall === 'UnlockFileEx' ? EINVAL : EAGAIN;
    case 32: // ERROR_SHARING_VIOLATION
      return EAGAIN;
    case 5: // ERROR_ACCESS_DENIED: contention for a lock call (see classifyWin32Error)
      return EACCES;
    case 158: // ERROR_NOT_LOCKED
    case 87: // ERROR_INVALID_PARAMETER
    case 6: // ERROR_INVALID_HANDLE
      return EINVAL;
    case 167: // ERROR_LOCK_FAILED
      return ENOLCK;
    case 50: // ERROR_NOT_SUPPORTED
      return ENOTSUP;
    case 4: // ERROR_TOO_MANY_OPEN_FILES
      return EMFILE;
    case 8:
    case 14:
      return ENOMEM;
    case 995:
    case 1223:
      return ECANCELED;
    default:
      return EIO;
  }
}

/** LockFileEx range for a request: flock = every byte; length 0 = from start to the end of the 64-bit space. */
function range(kind: LockKind, start: number, length: number): [bigint, bigint] {
  if (kind === 'flock') return [0n, MAX_LOCK_LENGTH];
  const s = BigInt(start);
  return [s, length === 0 ? MAX_LOCK_LENGTH - s : BigInt(length)];
}

function nodeErrno(e: unknown): number {
  const code = (e as NodeJS.ErrnoException)?.code;
  return (code && E[code]) || EIO;
}

/** 53-bit number from a 64-bit id: (dev, ino) compares as numbers in the engine. */
function fold(v: bigint): number {
  return Number(BigInt.asUintN(53, v ^ (v >> 53n)));
}

function statInto(fn: () => { dev: bigint; ino: bigint; mode: bigint; isDirectory(): boolean }, out: FileId): number {
  try {
    const st = fn();
    // Node opens directories on Windows (libuv uses FILE_FLAG_BACKUP_SEMANTICS), and LockFileEx on
    // one may answer ERROR_ACCESS_DENIED, which would read as contention: refuse it here, where
    // the engine stats every fd it opens anyway.
    if (st.isDirectory()) return -EISDIR;
    out.dev = fold(st.dev);
    out.ino = fold(st.ino);
    out.type = Number(st.mode) & S_IFMT; // libuv: S_IFCHR for a console or NUL, S_IFIFO for a pipe
    return 0;
  } catch (e) {
    return -nodeErrno(e);
  }
}

export const win32Backend: PlatformBackend = {
  name: 'win32',
  // No 'posix': POSIX record locks belong to the process and split/merge on partial unlock;
  // LockFileEx locks belong to a handle and unlock only as locked. 'ofd' is the byte-range kind.
  kinds: new Set<LockKind>(['flock', 'ofd']),
  kindsNote: {
    posix:
      "Windows has no process-owned POSIX record locks, so 'posix' is not offered there by design; " +
      "use 'ofd' for byte ranges (a LockFileEx lock owned by the handle) or 'flock' for the whole file",
  },

  init() {
    if (!hasOsfHandle()) throw new Error('this Node binary does not export uv_get_osfhandle');
  },

  lockSyscall() {
    return 'LockFileEx';
  },

  open(path, write, create, fileMode) {
    // libuv opens with FILE_SHARE_READ|WRITE|DELETE and a non-inheritable, synchronous handle.
    const flags = (write ? fsConstants.O_RDWR : fsConstants.O_RDONLY) | (create ? fsConstants.O_CREAT : 0);
    try {
      return openSync(path, flags, fileMode);
    } catch (e) {
      const errno = nodeErrno(e);
      // libuv reports ERROR_ACCESS_DENIED (a read-only file, an ACL) as EPERM; the engine retries
      // read-only on EACCES, and a LockFileEx lock only needs read access.
      return errno === E.EPERM ? -EACCES : -errno;
    }
  },

  close(fd) {
    try {
      closeSync(fd);
      return 0;
    } catch (e) {
      return -nodeErrno(e);
    }
  },

  fileId(fd, out) {
    return statInto(() => fstatSync(fd, { bigint: true }), out);
  },

  pathId(path, out) {
    return statInto(() => statSync(path, { bigint: true }), out);
  },

  tryLock(fd, kind, exclusive, start, length) {
    const h = osfHandle(fd);
    if (h === -1) return -EINVAL; // fd not open (or not a file)
    const [s, l] = range(kind, start, length);
    const rc = lockFileEx(h, exclusive, false, s, l);
    return rc === 0 ? 0 : -win32ToErrno(rc, 'LockFileEx');
  },

  unlock(fd, kind, start, length) {
    const h = osfHandle(fd);
    if (h === -1) return -EINVAL; // fd not open (or not a file)
    const [s, l] = range(kind, start, length);
    const rc = unlockFileEx(h, s, l);
    return rc === 0 ? 0 : -win32ToErrno(rc, 'UnlockFileEx');
  },

  wait(fd, kind, exclusive, start, length, done): PendingWait {
    const attempt = () => win32Backend.tryLock(fd, kind, exclusive, start, length);
    return new PollWait(attempt, BUSY, ECANCELED, done, POLL_MAX_MS);
  },
};
