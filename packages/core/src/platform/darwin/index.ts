/**
 * macOS backend: flock, POSIX fcntl and OFD fcntl (F_OFD_SETLK 90) locks through libSystem, the
 * same shape as the Linux backend with macOS constants and the 24-byte struct flock. On macOS
 * flock and fcntl locks interact (unlike Linux). Waits poll with non-blocking attempts
 * (platform/poll-wait.ts): the Linux waiter-thread design interrupts a blocked call with tgkill,
 * which macOS lacks. NOT RUN ON A MAC: only encoders and decoders are tested (docs/platforms.md).
 */
import { fstatSync, statSync } from 'node:fs';
import type { PendingWait, PlatformBackend } from '../types.js';
import { PollWait } from '../poll-wait.js';
import { POSIX_KINDS, lockOpenFlags, nodeStatId, posixLockSyscall } from '../posix.js';
import {
  EACCES,
  EAGAIN,
  ECANCELED,
  EINTR,
  F_OFD_SETLK,
  F_RDLCK,
  F_SETLK,
  F_UNLCK,
  F_WRLCK,
  FLOCK,
  LOCK_EX,
  LOCK_NB,
  LOCK_SH,
  LOCK_UN,
  OPEN_FLAGS,
} from './constants.js';
import { encodeFlock } from './flock.js';
import { fcntlLock, libc, openFile } from './libc.js';

const flockBuf = Buffer.alloc(FLOCK.size);
const BUSY: ReadonlySet<number> = new Set([-EAGAIN, -EACCES]);
export const POLL_MAX_MS = 4;

/** Retry on EINTR; what the call returned (>= 0: an fd, or 0), or -errno. */
function retryResult(call: () => number): number {
  const c = libc();
  for (;;) {
    const rc = call();
    if (rc !== -1) return rc;
    const errno = c.errno();
    if (errno !== EINTR) return -errno;
  }
}

/** Retry on EINTR; 0 or -errno. */
function retry(call: () => number): number {
  const rc = retryResult(call);
  return rc < 0 ? rc : 0;
}

export const darwinBackend: PlatformBackend = {
  name: 'darwin',
  kinds: POSIX_KINDS,

  init() {
    libc();
  },

  lockSyscall: posixLockSyscall,

  open(path, write, create, fileMode) {
    const c = libc();
    return retryResult(() => openFile(c, path, lockOpenFlags(OPEN_FLAGS, write, create), fileMode));
  },

  close(fd) {
    const c = libc();
    return c.close(fd) === 0 ? 0 : c.errno() === EINTR ? 0 : -c.errno();
  },

  fileId(fd, out) {
    return nodeStatId(() => fstatSync(fd, { bigint: true }), out);
  },

  pathId(path, out) {
    return nodeStatId(() => statSync(path, { bigint: true }), out);
  },

  tryLock(fd, kind, exclusive, start, length) {
    const c = libc();
    if (kind === 'flock') return retry(() => c.flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB));
    encodeFlock(flockBuf, exclusive ? F_WRLCK : F_RDLCK, start, length);
    return retry(() => fcntlLock(c, fd, kind === 'posix' ? F_SETLK : F_OFD_SETLK, flockBuf));
  },

  unlock(fd, kind, start, length) {
    const c = libc();
    if (kind === 'flock') return retry(() => c.flock(fd, LOCK_UN));
    encodeFlock(flockBuf, F_UNLCK, start, length);
    return retry(() => fcntlLock(c, fd, kind === 'posix' ? F_SETLK : F_OFD_SETLK, flockBuf));
  },

  wait(fd, kind, exclusive, start, length, done): PendingWait {
    const attempt = () => darwinBackend.tryLock(fd, kind, exclusive, start, length);
    return new PollWait(attempt, BUSY, ECANCELED, done, POLL_MAX_MS);
  },
};
