import type { LockKind } from '../vocabulary.js';
import type { ListLocksResult, ProbeDepth, ProbeOptions, ProbeResult, Redactor } from '../probe/types.js';

/**
 * The whole contract between the lock engine (src/lock) and an OS backend. One small file set per
 * platform implements it (platform/linux, platform/darwin, platform/win32), in the spirit of
 * gofrs/flock: the engine owns queueing, identity, timeouts and handles; a backend only
 * knows how to open a file, name its identity, and take, drop or wait for a lock on it.
 *
 * Conventions, chosen so the uncontended path allocates nothing:
 * - failures are returned, not thrown: a negative OS errno (`-EAGAIN`), success is 0 (or the fd);
 * - byte ranges are `start`/`length` in bytes, `length` 0 meaning "to end of file, however it
 *   grows"; `flock` ignores them (whole file);
 * - `fd` is whatever small integer the platform locks through (a POSIX fd; a CRT fd on Windows).
 */
export interface PlatformBackend {
  /** Short name for messages: 'linux', 'darwin', 'win32'. */
  readonly name: string;
  /** Lock kinds this backend implements; the engine rejects others with reason 'unsupported'. */
  readonly kinds: ReadonlySet<LockKind>;
  /** Why a kind is missing here, when that is by design (not "not yet"). */
  readonly kindsNote?: Partial<Record<LockKind, string>>;
  /**
   * The engine may grant an uncontended flock/OFD request without filing it in its in-process
   * table (the fast path, engine.ts); it still fstats the fd first (regular files only).
   */
  readonly lockBeforeIdentify?: boolean;
  /**
   * Load the native layer (koffi, libc symbols). Throws with the cause when that is impossible;
   * the engine calls it once and turns a failure into reason 'unsupported'.
   */
  init(): void;
  /** The syscall name a kind's lock errors report (`flock`, `fcntl`, `LockFileEx`): classifyErrno keys on it. */
  lockSyscall(kind: LockKind): string;

  /**
   * Open `path` close-on-exec for locking. `write`: read-write, else read-only. `create`: create a
   * missing file with permission bits `fileMode` (never parent directories). Never blocks: a FIFO
   * or device at the path must not hold the calling thread (O_NONBLOCK, O_NOCTTY on POSIX); the
   * engine refuses anything but a regular file once fileId() says what it opened.
   * Returns the fd, or -errno.
   */
  open(path: string, write: boolean, create: boolean, fileMode: number): number;
  /** Close an fd. Returns 0 or -errno. */
  close(fd: number): number;
  /** (device, inode, file type) of an open fd into `out`. Returns 0 or -errno. */
  fileId(fd: number, out: FileId): number;
  /** (device, inode) of a path, following symlinks, into `out`. Returns 0 or -errno. */
  pathId(path: string, out: FileId): number;

  /** One non-blocking attempt. Returns 0 (held) or -errno (-EAGAIN/-EACCES: someone else has it). */
  tryLock(fd: number, kind: LockKind, exclusive: boolean, start: number, length: number): number;
  /** Drop a lock (or, for fcntl kinds, the part of it in the range). Returns 0 or -errno. */
  unlock(fd: number, kind: LockKind, start: number, length: number): number;
  /**
   * Block until the kernel grants the lock, off the main thread and off the libuv threadpool.
   * `done` is called exactly once, asynchronously, and only once the backend will never touch
   * `fd` again (so the engine may close it). A grant that races a cancel is still reported as
   * granted (`errno` 0): the engine then unlocks it.
   */
  wait(fd: number, kind: LockKind, exclusive: boolean, start: number, length: number, done: WaitDone): PendingWait;
  /** Optional: threads (or other resources) the wait machinery has now, and how many are waiting. */
  waiterStats?(): { threads: number; busy: number };
  /**
   * Optional, for backends whose waits block threads in the kernel: bring every wait out of its
   * system call for a moment, synchronously, for at most `maxMs` (process.report.getReport()
   * waits for every worker thread to run JS). Returns the function that lets the waits go on, or
   * null when one did not step out in time (then nothing stays paused).
   */
  pauseWaits?(maxMs: number): (() => void) | null;
}

/** Identity of a file: same (dev, ino) means the same file through any path, symlink or hard link. */
export interface FileId {
  dev: number;
  ino: number;
  /** `st_mode & S_IFMT` (S_IFREG for a regular file; the same values on every platform, libuv's on Windows). */
  type: number;
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;

/**
 * `errno`: 0 granted, else the positive errno of the failed wait.
 * `cancelled`: the wait stopped because of `cancel()` without a grant.
 * `cause`: set when the wait machinery itself failed (e.g. a waiter thread died).
 */
export type WaitDone = (errno: number, cancelled: boolean, cause?: unknown) => void;

export interface PendingWait {
  /** Ask the wait to stop; `done` still follows (promptly). Idempotent. */
  cancel(): void;
}

/** Probe options as the front (probe/index.ts) validated them, defaults filled in. */
export interface ProbeEngineOptions {
  depth: ProbeDepth;
  maps: boolean;
  /** ms; Infinity = no deadline. */
  timeout: number;
  signal: AbortSignal | undefined;
  redact: boolean | Redactor;
  sliceMs: number;
  /** Threads of a depth-'full' scan (Linux: platform/linux/probe-parallel.ts). */
  threads: NonNullable<ProbeOptions['threads']>;
}

/** A file the probe looks at: absolute path, and its identity when already known (a held lock's). */
export interface ProbeTarget {
  /** The public function probing it, for messages: 'probe', 'probeHolderResolver'. */
  api: string;
  path: string;
  dev: number | null;
  ino: number | null;
}

/**
 * The contract between the portable probe (probe/index.ts: validation, tracing, record mapping)
 * and one OS's probe, which lives beside that OS's locks (platform/<os>/probe.ts). The front
 * imports a platform's probe only when first asked, so no other platform's native layer loads.
 * Failures are thrown as ProbeErrors (errors/factories.ts).
 */
export interface ProbeBackend {
  /** Short name for messages: 'linux', 'darwin', 'win32'. */
  readonly name: string;
  /** Who holds a lock on the target and who has it open. */
  probe(target: ProbeTarget, options: ProbeEngineOptions): Promise<ProbeResult>;
  /** Every lock on the host; null where no OS interface lists lock owners. */
  readonly listLocks: ((options: ProbeEngineOptions) => Promise<ListLocksResult>) | null;
  /** Whether probe() can name lock holders (not only openers): the instrumentation asks only then. */
  readonly namesLockHolders: boolean;
}

/**
 * What a platform says about this process for records (record/identity.ts): pid alone repeats
 * after a reboot and on every host. Both read once per process; null when the OS cannot say.
 */
export interface IdentityBackend {
  /** An id of this boot of the host (Linux: /proc/sys/kernel/random/boot_id). */
  bootId(): string | null;
  /** This process's start time, ms since the epoch, on the clock of the probe's holders[].startTime. */
  startTime(): number | null;
}
