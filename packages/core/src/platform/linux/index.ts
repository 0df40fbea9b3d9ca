/** Linux backend: flock, POSIX fcntl and OFD fcntl locks through glibc (koffi), waits on waiter threads. */
import { fstatSync, statSync } from 'node:fs';
import type { LockKind } from '../../errors.js';
import { S_IFMT, type FileId, type PendingWait, type PlatformBackend, type WaitDone } from '../types.js';
import { POSIX_KINDS, lockOpenFlags, nodeStatId, posixLockSyscall } from '../posix.js';
import {
  libc,
  fillFlock,
  FLOCK_SIZE,
  STAT_SIZE,
  LOCK_SH,
  LOCK_EX,
  LOCK_NB,
  LOCK_UN,
  F_SETLK,
  F_OFD_SETLK,
  F_RDLCK,
  F_WRLCK,
  F_UNLCK,
  OPEN_FLAGS,
  STAT_MODE_OFFSET,
} from './libc.js';
import { pauseWaits, startWait, waiterStats } from './waiters.js';

const EINTR = 4;
const flockBuf = Buffer.alloc(FLOCK_SIZE);
const statBuf = Buffer.alloc(STAT_SIZE);
// Read as native-endian 32-bit words (x64 and arm64 are little-endian, libc.ts): cheaper than
// Buffer's checked readers on every lock call.
const statWords = new Uint32Array(statBuf.buffer, statBuf.byteOffset, STAT_SIZE / 4);
const MODE_WORD = STAT_MODE_OFFSET / 4;

function setlkCmd(kind: LockKind): number {
  return kind === 'posix' ? F_SETLK : F_OFD_SETLK;
}

/** st_dev and st_ino out of statBuf after an fstat/stat call that returned `rc`. */
function identity(rc: number, out: FileId): number {
  if (rc !== 0) return -libc().errno();
  out.dev = statWords[1]! * 4294967296 + statWords[0]!;
  out.ino = statWords[3]! * 4294967296 + statWords[2]!;
  out.type = statWords[MODE_WORD]! & S_IFMT;
  return 0;
}

export const linuxBackend: PlatformBackend = {
  name: 'linux',
  kinds: POSIX_KINDS,
  lockBeforeIdentify: true,

  init() {
    libc();
  },

  lockSyscall: posixLockSyscall,

  open(path, write, create, fileMode) {
    const c = libc();
    const flags = lockOpenFlags(OPEN_FLAGS, write, create);
    for (;;) {
      const fd = c.open(path, flags, fileMode);
      if (fd >= 0) return fd;
      const errno = c.errno();
      if (errno !== EINTR) return -errno;
    }
  },

  close(fd) {
    const c = libc();
    // On Linux the fd is gone even when close() reports EINTR: never retry (it could close a reused fd).
    if (c.close(fd) === 0) return 0;
    const errno = c.errno();
    return errno === EINTR ? 0 : -errno;
  },

  fileId(fd, out) {
    const c = libc();
    if (!c.fstat) return nodeStatId(() => fstatSync(fd), out); // glibc < 2.33 exports no fstat/stat symbol
    return identity(c.fstat(fd, statBuf), out);
  },

  pathId(path, out) {
    const c = libc();
    if (!c.stat) return nodeStatId(() => statSync(path), out);
    return identity(c.stat(path, statBuf), out);
  },

  tryLock(fd, kind, exclusive, start, length) {
    const c = libc();
    for (;;) {
      let rc: number;
      if (kind === 'flock') rc = c.flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
      else {
        fillFlock(flockBuf, exclusive ? F_WRLCK : F_RDLCK, start, length);
        rc = c.fcntl(fd, setlkCmd(kind), flockBuf);
      }
      if (rc === 0) return 0;
      const errno = c.errno();
      if (errno !== EINTR) return -errno;
    }
  },

  unlock(fd, kind, start, length) {
    const c = libc();
    for (;;) {
      let rc: number;
      if (kind === 'flock') rc = c.flock(fd, LOCK_UN);
      else {
        fillFlock(flockBuf, F_UNLCK, start, length);
        rc = c.fcntl(fd, setlkCmd(kind), flockBuf);
      }
      if (rc === 0) return 0;
      const errno = c.errno();
      if (errno !== EINTR) return -errno;
    }
  },

  wait(fd, kind, exclusive, start, length, done: WaitDone): PendingWait {
    return startWait(fd, kind, exclusive, start, length, done);
  },

  waiterStats,
  pauseWaits,
};
