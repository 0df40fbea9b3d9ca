import { createRequire } from 'node:module';
import { arch } from 'node:process';

/**
 * The only file that talks to koffi on Linux. Used by the main thread and by waiter threads.
 * Functions are declared once with fixed signatures (fcntl as a 3-argument alias taking a
 * preallocated buffer: building a JS struct per call costs ~1.4 µs, more than the syscall).
 * Layouts below are glibc's for x86_64 and aarch64, the only architectures accepted here.
 */

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const F_SETLK = 6;
export const F_SETLKW = 7;
export const F_OFD_SETLK = 37;
export const F_OFD_SETLKW = 38;
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_CLOEXEC = 0o2000000;
export const O_NONBLOCK = 0o4000;
export const O_NOCTTY = 0o400;
/** The flags above, for lockOpenFlags (platform/posix.ts). */
export const OPEN_FLAGS = { O_RDONLY, O_RDWR, O_CREAT, O_CLOEXEC, O_NONBLOCK, O_NOCTTY } as const;
export const SIGURG = 23;
export const SA_RESTART = 0x10000000;

/** sizeof(struct flock): l_type i16 @0, l_whence i16 @2, l_start i64 @8, l_len i64 @16, l_pid i32 @24. */
export const FLOCK_SIZE = 32;
/** sizeof(struct sigaction) in glibc (x86_64 and aarch64): handler @0, mask[128] @8, flags i32 @136. */
export const SIGACTION_SIZE = 152;
export const SIGACTION_FLAGS_OFFSET = 136;
/** sizeof(struct stat) is 144 (x86_64) / 128 (aarch64); st_dev u64 @0, st_ino u64 @8 on both. */
export const STAT_SIZE = 256;
/** st_mode u32: @24 on x86_64 (after the u64 st_nlink), @16 on aarch64 (before its u32 st_nlink). */
export const STAT_MODE_OFFSET = arch === 'arm64' ? 16 : 24;

export const SUPPORTED_ARCHS: ReadonlySet<string> = new Set(['x64', 'arm64']);

type IntFn = (...args: unknown[]) => number;

export interface Libc {
  open: (path: string, flags: number, mode: number) => number;
  close: (fd: number) => number;
  flock: (fd: number, op: number) => number;
  fcntl: (fd: number, cmd: number, arg: Buffer) => number;
  /** null when glibc < 2.33 lacks the symbol: callers fall back to node:fs. */
  fstat: ((fd: number, buf: Buffer) => number) | null;
  stat: ((path: string, buf: Buffer) => number) | null;
  gettid: () => number;
  tgkill: (pid: number, tid: number, sig: number) => number;
  sigaction: (sig: number, act: Buffer | null, oact: Buffer | null) => number;
  /** inotify and read(2), for waitIdle (inotify.ts); null when the symbols are missing. */
  inotify: {
    init1: (flags: number) => number;
    addWatch: (fd: number, path: string, mask: number) => number;
    rmWatch: (fd: number, wd: number) => number;
    read: (fd: number, buf: Buffer, n: number) => number | bigint;
    /** fcntl with an int argument (F_SETLEASE). */
    fcntlInt: (fd: number, cmd: number, arg: number) => number;
  } | null;
  errno: () => number;
}

let cached: Libc | undefined;
// Boxed: what was thrown may be any value, falsy included.
let loadError: { thrown: unknown } | undefined;

/** Load libc through koffi once per thread. Throws (with the cause) when that is impossible. */
export function libc(): Libc {
  if (cached) return cached;
  if (loadError) throw loadError.thrown;
  try {
    if (!SUPPORTED_ARCHS.has(arch)) throw new Error(`architecture ${arch} (struct layouts verified on x64 and arm64 only)`);
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const optional = (decl: string): IntFn | null => {
      try {
        return lib.func(decl) as IntFn;
      } catch {
        return null;
      }
    };
    // glibc < 2.30 lacks gettid/tgkill wrappers: use the raw syscall numbers instead.
    const syscall = optional('long syscall(long number, ...)');
    const nr = arch === 'x64' ? { gettid: 186, tgkill: 234 } : { gettid: 178, tgkill: 131 };
    const gettid = optional('int gettid(void)') ?? (syscall ? () => Number(syscall(nr.gettid)) : null);
    const tgkill =
      optional('int tgkill(int tgid, int tid, int sig)') ??
      (syscall
        ? (((pid: number, tid: number, sig: number) => Number(syscall(nr.tgkill, 'int', pid, 'int', tid, 'int', sig))) as IntFn)
        : null);
    if (!gettid || !tgkill) throw new Error('libc lacks gettid/tgkill');
    const inotify = {
      init1: optional('int inotify_init1(int flags)'),
      addWatch: optional('int inotify_add_watch(int fd, const char *path, uint32_t mask)'),
      rmWatch: optional('int inotify_rm_watch(int fd, int wd)'),
      read: optional('long read(int fd, void *buf, size_t n)'),
      fcntlInt: optional('int fcntl(int fd, int cmd, int arg)'),
    };
    cached = {
      open: lib.func('int open(const char *path, int flags, int mode)') as IntFn,
      close: lib.func('int close(int fd)') as IntFn,
      flock: lib.func('int flock(int fd, int op)') as IntFn,
      fcntl: lib.func('int fcntl(int fd, int cmd, void *arg)') as IntFn,
      fstat: optional('int fstat(int fd, void *buf)'),
      stat: optional('int stat(const char *path, void *buf)'),
      gettid,
      tgkill,
      sigaction: lib.func('int sigaction(int sig, void *act, void *oact)') as IntFn,
      inotify: Object.values(inotify).every((f) => f !== null) ? (inotify as NonNullable<Libc['inotify']>) : null,
      errno: () => koffi.errno(),
    };
    return cached;
  } catch (err) {
    loadError = { thrown: err };
    throw err;
  }
}

/** Fill a preallocated `struct flock` (whence SEEK_SET, l_pid 0 as OFD requires). */
export function fillFlock(buf: Buffer, type: number, start: number, length: number): void {
  buf.writeInt16LE(type, 0);
  buf.writeInt16LE(0, 2);
  writeU64(buf, 8, start);
  writeU64(buf, 16, length);
  buf.writeInt32LE(0, 24);
}

/** Safe-integer number into a little-endian 64-bit slot without allocating a BigInt. */
function writeU64(buf: Buffer, offset: number, n: number): void {
  buf.writeUInt32LE(n % 4294967296, offset);
  buf.writeUInt32LE(Math.floor(n / 4294967296), offset + 4);
}
