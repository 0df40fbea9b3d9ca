// The only place the macOS backend touches koffi. `fcntl` and `open` are variadic in C: on Apple
// arm64 variadic arguments go on the stack, so a fixed 3-argument alias would pass the struct
// pointer in the wrong place. They are declared variadic and called with explicit types.
import { koffi } from '../koffi.js';

// Every symbol bound here returns a C int, uint32_t or intptr_t: a number in JavaScript.
type Fn = (...args: unknown[]) => number;
export interface DarwinLibc {
  open: Fn;
  close: Fn;
  flock: Fn;
  fcntl: Fn;
  errno: () => number;
  proc_listallpids: Fn;
  proc_pidinfo: Fn;
  proc_pidfdinfo: Fn;
}

let cached: DarwinLibc | undefined;

/** Bind the symbols from `path` (libSystem on macOS; tests bind glibc, which has the libc part). */
export function bindLibc(path: string, withLibproc = true): DarwinLibc {
  const k = koffi();
  const lib = k.load(path);
  const missing: Fn = () => {
    throw new Error(`libproc is not available in ${path}`);
  };
  return {
    open: lib.func('int open(const char *path, int flags, ...)'),
    close: lib.func('int close(int fd)'),
    flock: lib.func('int flock(int fd, int op)'),
    fcntl: lib.func('int fcntl(int fd, int cmd, ...)'),
    errno: () => k.errno(),
    proc_listallpids: withLibproc ? lib.func('int proc_listallpids(void *buffer, int size)') : missing,
    proc_pidinfo: withLibproc ? lib.func('int proc_pidinfo(int pid, int flavor, uint64_t arg, void *buffer, int size)') : missing,
    proc_pidfdinfo: withLibproc ? lib.func('int proc_pidfdinfo(int pid, int fd, int flavor, void *buffer, int size)') : missing,
  };
}

export function libc(): DarwinLibc {
  cached ??= bindLibc('/usr/lib/libSystem.B.dylib');
  return cached;
}

/** fcntl(fd, cmd, struct flock *) through the variadic declaration. */
export function fcntlLock(c: DarwinLibc, fd: number, cmd: number, flock: Buffer): number {
  return c.fcntl(fd, cmd, 'void *', flock);
}

/** open(path, flags, mode) through the variadic declaration (mode is promoted to int). */
export function openFile(c: DarwinLibc, path: string, flags: number, mode: number): number {
  return c.open(path, flags, 'int', mode);
}
