/**
 * What the two POSIX lock backends (linux/index.ts, darwin/index.ts) share: the kinds, the
 * syscall names their errors report, the open(2) flags of a lock file, and Node's stat read as a
 * FileId. Each OS supplies its own flag values and native calls.
 */
import type { LockKind } from '../vocabulary.js';
import { S_IFMT, type FileId } from './types.js';

/** flock(2), POSIX fcntl and OFD fcntl locks. */
export const POSIX_KINDS: ReadonlySet<LockKind> = new Set<LockKind>(['flock', 'posix', 'ofd']);

export function posixLockSyscall(kind: LockKind): string {
  return kind === 'flock' ? 'flock' : 'fcntl';
}

/** One OS's values of the open(2) flags a lock file is opened with. */
export interface OpenFlagValues {
  O_RDONLY: number;
  O_RDWR: number;
  O_CREAT: number;
  O_CLOEXEC: number;
  O_NONBLOCK: number;
  O_NOCTTY: number;
}

/**
 * Close-on-exec, never a controlling terminal, and O_NONBLOCK: a read-only open of a FIFO would
 * wait for a writer (the engine then refuses it: not a regular file). O_NONBLOCK changes neither
 * locking nor I/O on a regular file, the only kind the engine keeps.
 */
export function lockOpenFlags(f: OpenFlagValues, write: boolean, create: boolean): number {
  return (write ? f.O_RDWR : f.O_RDONLY) | (create ? f.O_CREAT : 0) | f.O_CLOEXEC | f.O_NONBLOCK | f.O_NOCTTY;
}

/** A Node stat (fstatSync/statSync, bigint or not) into `out`. Returns 0 or -errno. */
export function nodeStatId(fn: () => { dev: number | bigint; ino: number | bigint; mode: number | bigint }, out: FileId): number {
  try {
    const st = fn();
    out.dev = Number(st.dev);
    out.ino = Number(st.ino);
    out.type = Number(st.mode) & S_IFMT;
    return 0;
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).errno;
    return typeof errno === 'number' ? -Math.abs(errno) : -5;
  }
}
