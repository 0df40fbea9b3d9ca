import { fstatSync, statSync } from 'node:fs';
import { arch } from 'node:process';
import { libc, STAT_SIZE, type Libc } from './libc.js';

/**
 * What waitIdle() and `lockscope watch` need from the kernel (koffi, glibc): a nonblocking inotify
 * instance, O_PATH fds (they name an inode without opening it for I/O: no open of a FIFO or device
 * can block, and they never count as a reader or writer), and stat/fstat into a preallocated
 * buffer. Everything here returns at once: read() on the IN_NONBLOCK fd answers EAGAIN when no
 * event is queued, so callers poll it from a timer on the main thread (no thread, no libuv
 * threadpool). The symbols are declared in libc.ts with the lock engine's.
 */

export const IN_MODIFY = 0x2;
export const IN_ATTRIB = 0x4;
export const IN_CLOSE_WRITE = 0x8;
export const IN_CLOSE_NOWRITE = 0x10;
export const IN_OPEN = 0x20;
export const IN_MOVED_FROM = 0x40;
export const IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100;
export const IN_DELETE = 0x200;
export const IN_DELETE_SELF = 0x400;
export const IN_MOVE_SELF = 0x800;
export const IN_Q_OVERFLOW = 0x4000;
export const IN_IGNORED = 0x8000;
export const IN_ONLYDIR = 0x1000000;

const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;
const EINTR = 4;
const EAGAIN = 11;
export const ENOSYS = 38;
/** struct inotify_event: wd i32, mask u32, cookie u32, len u32, then `len` bytes of name. */
const EVENT_HEADER = 16;
const S_IFMT = 0o170000;

export interface InotifyEvent {
  wd: number;
  mask: number;
  /** File name inside a watched directory ('' for events on the watched inode itself). */
  name: string;
}

/** The fields of struct stat a change detector compares. Times in ns since the epoch (bigint-free: ms + ns parts). */
export interface FileStat {
  dev: number;
  ino: number;
  nlink: number;
  mode: number;
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
}

let cached: { c: Libc; i: NonNullable<Libc['inotify']> } | null | undefined;
let loadError: unknown;

function load(): { c: Libc; i: NonNullable<Libc['inotify']> } | null {
  if (cached !== undefined) return cached;
  try {
    const c = libc();
    if (!c.inotify) throw new Error('libc lacks inotify_init1/inotify_add_watch/read');
    cached = { c, i: c.inotify };
  } catch (e) {
    loadError = e;
    cached = null;
  }
  return cached;
}

/** Why inotify is unavailable (for messages), or null when it can be used. */
export function inotifyUnavailable(): unknown {
  if (process.env.LOCKSCOPE_INOTIFY === '0') return new Error('LOCKSCOPE_INOTIFY=0');
  return load() === null ? loadError : null;
}

function lib(): { c: Libc; i: NonNullable<Libc['inotify']> } {
  const n = load();
  if (n === null) throw new Error('native layer unavailable', { cause: loadError });
  return n;
}

/** Load the native layer (libc through koffi); throws with the cause when impossible. */
export function loadNative(): void {
  libc();
}

function retry(call: () => number): number {
  const c = libc();
  for (;;) {
    const rc = call();
    if (rc >= 0) return rc;
    const e = c.errno();
    if (e !== EINTR) return -e;
  }
}

/**
 * One inotify instance. `read()` drains every queued event without blocking. `close()` removes
 * all its watches (the kernel drops them with the fd) and is idempotent.
 */
export class Inotify {
  private readonly buf = Buffer.alloc(64 * 1024);
  private constructor(private fd: number) {}

  /** A new instance, or -errno (EMFILE when the per-user instance limit is reached). */
  static open(): Inotify | number {
    if (process.env.LOCKSCOPE_INOTIFY === '0') return -38; // ENOSYS: the stat-polling fallback, on request
    const fd = retry(() => lib().i.init1(IN_NONBLOCK | IN_CLOEXEC));
    return fd < 0 ? fd : new Inotify(fd);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /** Watch descriptor, or -errno (ENOSPC: the watch limit is reached). */
  add(path: string, mask: number): number {
    return retry(() => lib().i.addWatch(this.fd, path, mask >>> 0));
  }

  remove(wd: number): void {
    if (this.fd >= 0 && wd >= 0) lib().i.rmWatch(this.fd, wd);
  }

  /** Every event queued now (possibly none). Throws only for a broken fd (never EAGAIN). */
  read(): InotifyEvent[] {
    const out: InotifyEvent[] = [];
    const { c, i } = lib();
    while (this.fd >= 0) {
      const rc = Number(i.read(this.fd, this.buf, this.buf.length));
      if (rc < 0) {
        const e = c.errno();
        if (e === EINTR) continue;
        if (e === EAGAIN) break;
        throw new Error(`inotify read failed: errno ${e}`);
      }
      if (rc === 0) break;
      for (let off = 0; off + EVENT_HEADER <= rc;) {
        const wd = this.buf.readInt32LE(off);
        const mask = this.buf.readUInt32LE(off + 4);
        const len = this.buf.readUInt32LE(off + 12);
        let name = '';
        if (len > 0) {
          const end = this.buf.indexOf(0, off + EVENT_HEADER);
          name = this.buf.toString('utf8', off + EVENT_HEADER, end < 0 || end > off + EVENT_HEADER + len ? off + EVENT_HEADER + len : end);
        }
        out.push({ wd, mask, name });
        off += EVENT_HEADER + len;
      }
    }
    return out;
  }

  close(): void {
    if (this.fd < 0) return;
    libc().close(this.fd);
    this.fd = -1;
  }
}

/** open(path, O_PATH | O_CLOEXEC): an fd naming the inode, never opened for I/O. fd or -errno. */
export function openPath(path: string): number {
  return retry(() => libc().open(path, O_PATH | O_CLOEXEC, 0));
}

const F_SETLEASE = 1024;
const F_RDLCK = 0;
const F_UNLCK = 2;
const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_NOCTTY = 0o400;

/**
 * What the kernel says about writers of the inode behind `pfd`, this instant, from a read-only
 * reopen (through /proc/self/fd: the same inode; O_NONBLOCK: an open that would wait for another
 * process's lease break fails instead):
 * F_SETLEASE F_RDLCK is refused with EAGAIN exactly when the inode is open for writing anywhere
 * (any user, any PID namespace; a writable shared map keeps such an open alive); it is dropped at
 * once. That covers POSIX and OFD write locks too (they need an fd open for writing, and live as
 * long as it does); only flock can be exclusive through a read-only fd: /proc/locks tells those.
 * 0: nobody; 1: open for writing (this process included); -errno: cannot tell (EACCES: not the
 * file's owner and no CAP_LEASE; EINVAL: leases off, or not on this file system).
 */
export function openForWrite(pfd: number): number {
  const n = load();
  if (n === null) return -ENOSYS;
  const { i } = n;
  const fd = retry(() => libc().open(`/proc/self/fd/${pfd}`, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0));
  if (fd < 0) return fd;
  try {
    const rc = retry(() => i.fcntlInt(fd, F_SETLEASE, F_RDLCK));
    if (rc !== 0) return rc === -EAGAIN ? 1 : rc;
    i.fcntlInt(fd, F_SETLEASE, F_UNLCK);
    return 0;
  } finally {
    libc().close(fd);
  }
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd); // never retried on EINTR: on Linux the fd is gone regardless
}

const statBuf = Buffer.alloc(STAT_SIZE);
const LAYOUT =
  arch === 'arm64'
    ? { nlink: 20, nlink64: false, mode: 16 } // generic (asm-generic/stat.h): mode u32 @16, nlink u32 @20
    : { nlink: 16, nlink64: true, mode: 24 }; // x86_64: nlink u64 @16, mode u32 @24
// Both: st_size i64 @48, st_mtim @88 (sec i64, nsec i64), st_ctim @104.

function u64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off + 4) * 4294967296 + buf.readUInt32LE(off);
}

function decode(out: FileStat): void {
  out.dev = u64(statBuf, 0);
  out.ino = u64(statBuf, 8);
  out.nlink = LAYOUT.nlink64 ? u64(statBuf, LAYOUT.nlink) : statBuf.readUInt32LE(LAYOUT.nlink);
  out.mode = statBuf.readUInt32LE(LAYOUT.mode);
  out.size = u64(statBuf, 48);
  out.mtimeSec = u64(statBuf, 88);
  out.mtimeNsec = u64(statBuf, 96);
  out.ctimeSec = u64(statBuf, 104);
  out.ctimeNsec = u64(statBuf, 112);
}

export function emptyStat(): FileStat {
  return { dev: 0, ino: 0, nlink: 0, mode: 0, size: 0, mtimeSec: 0, mtimeNsec: 0, ctimeSec: 0, ctimeNsec: 0 };
}

/**
 * fstat(fd) (an O_PATH fd works) or stat(path) into `out`: 0 or -errno. A stat of a local file is
 * a few µs on the calling thread and waits for no other process; the fallback where glibc lacks
 * the symbols is node:fs's statSync, the same syscall.
 */
export function statInto(target: number | string, out: FileStat): number {
  const c = libc();
  const fn = typeof target === 'number' ? c.fstat : c.stat;
  if (fn === null) return nodeStat(target, out);
  const rc = retry(() => (fn as (t: number | string, b: Buffer) => number)(target, statBuf));
  if (rc < 0) return rc;
  decode(out);
  return 0;
}

function nodeStat(target: number | string, out: FileStat): number {
  try {
    const s = typeof target === 'number' ? fstatSync(target, { bigint: true }) : statSync(target, { bigint: true });
    out.dev = Number(s.dev);
    out.ino = Number(s.ino);
    out.nlink = Number(s.nlink);
    out.mode = Number(s.mode);
    out.size = Number(s.size);
    out.mtimeSec = Number(s.mtimeNs / 1_000_000_000n);
    out.mtimeNsec = Number(s.mtimeNs % 1_000_000_000n);
    out.ctimeSec = Number(s.ctimeNs / 1_000_000_000n);
    out.ctimeNsec = Number(s.ctimeNs % 1_000_000_000n);
    return 0;
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).errno;
    return typeof errno === 'number' ? -Math.abs(errno) : -5;
  }
}

export function isDirectory(s: FileStat): boolean {
  return (s.mode & S_IFMT) === 0o040000;
}

/** Whether two stats describe the same content and metadata of the same file. */
export function sameStat(a: FileStat, b: FileStat): boolean {
  return (
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeSec === b.mtimeSec &&
    a.mtimeNsec === b.mtimeNsec &&
    a.ctimeSec === b.ctimeSec &&
    a.ctimeNsec === b.ctimeNsec
  );
}
