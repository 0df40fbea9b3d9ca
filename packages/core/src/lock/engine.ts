/**
 * The lock engine: one flow for every kind and platform.
 *   open (+ identity) -> in-process gate (table.ts) -> one non-blocking kernel attempt on the
 *   calling thread -> if busy: wait (in-process queue, or a backend wait off the main thread)
 *   -> held -> release (unlock, close or park the fd, let queued requests in).
 * The uncontended path is synchronous and allocates only the request, its handle and a key.
 *
 * Every opened fd is fstat-ed before any lock call: only a regular file is a lock file.
 *
 * Fast path: while the table holds no request at all (nothing of this process waits or holds
 * through it, and no POSIX lock is in flight), a flock/OFD request goes straight to the kernel
 * without the table. Nothing in this process can conflict with it except locks the kernel itself
 * reports (another open file description of this process), so a grant is correct without the
 * gate; the request is kept "unplaced" (not filed under its identity). The first request that needs the
 * table (kernel busy, POSIX, or the table is non-empty) first fstats every unplaced
 * holder's fd and files it under its (dev, ino): the table is complete whenever it is consulted.
 */
import { performance } from 'node:perf_hooks';
import { errnoNumber, invalidArgument, LockError, lockErrorFromErrno, unsupportedPlatform } from '../errors.js';
import { backend, unsupportedMessage, type FileId, type PlatformBackend } from '../platform/index.js';
import { S_IFREG } from '../platform/types.js';
import { watchAbort } from './abort.js';
import { abortError, deadlockError, notALockFile, timeoutError, waiterFailed } from './errors.js';
import * as events from './events.js';
import { IndexedList } from '../indexed-list.js';
import { LockHandle, watchLeak } from './handle.js';
import type { LockRequest } from './request.js';
import {
  allEntries,
  allInodes,
  blockerOf,
  entryFor,
  findInode,
  inodeFor,
  maybeDrop,
  posixInodeCount,
  removeFrom,
  setPosix,
  uncoveredRanges,
  type TableEntry,
} from './table.js';

const EAGAIN = errnoNumber('EAGAIN') ?? 11;
const EACCES = errnoNumber('EACCES') ?? 13;
const EROFS = errnoNumber('EROFS') ?? 30;
const EBADF = errnoNumber('EBADF') ?? 9;
const ENXIO = errnoNumber('ENXIO') ?? 6;

/** attempt() outcomes besides a LockError. */
export const HELD = 0;
export const BUSY_IN_PROCESS = 1;
export const BUSY_KERNEL = 2;
type Outcome = typeof HELD | typeof BUSY_IN_PROCESS | typeof BUSY_KERNEL | LockError;

let ready: PlatformBackend | null = null;
const id: FileId = { dev: 0, ino: 0, type: 0 };
/** Held requests granted on the fast path, not (yet) in the table. */
const unplaced = new IndexedList<LockRequest>();
/** Requests in the table (given an entry, not yet detached). */
let placedCount = 0;

/** The backend, loaded once; 'unsupported' LockError where there is none or it cannot load. */
export function platformFor(req: LockRequest): PlatformBackend {
  let platform = ready;
  if (platform === null) {
    if (backend === null) throw unsupportedPlatform(req.api, req.path, unsupportedMessage);
    try {
      backend.init();
    } catch (cause) {
      const err = unsupportedPlatform(req.api, req.path, 'file locking (the native layer did not load)');
      throw new LockError({ ...err, kind: req.kind, message: `${err.message}: ${(cause as Error)?.message ?? cause}`, cause });
    }
    platform = ready = backend;
  }
  if (!platform.kinds.has(req.kind)) throw kindUnsupported(req, platform);
  return platform;
}

function kindUnsupported(req: LockRequest, platform: PlatformBackend): LockError {
  const err = unsupportedPlatform(req.api, req.path, `lock kind '${req.kind}'`);
  const note = platform.kindsNote?.[req.kind];
  if (note === undefined) return new LockError({ ...err, kind: req.kind });
  const at = `${req.api} '${req.path}'`;
  return new LockError({
    ...err,
    kind: req.kind,
    message: `${err.code}: lock kind '${req.kind}' is not supported on ${platform.name}: ${note}, ${at}`,
  });
}

// ---------------------------------------------------------------- open and fds

function setIdentity(req: LockRequest): void {
  req.dev = id.dev;
  req.ino = id.ino;
  req.inode = inodeFor(id.dev, id.ino);
}

function openError(req: LockRequest, platform: PlatformBackend, errno: number): LockError {
  // open() of a Unix socket (or a device without a driver) says ENXIO: name what is there.
  if (errno === ENXIO && platform.pathId(req.path, id) === 0 && id.type !== S_IFREG) return notALockFile(req, id.type);
  const err = lockErrorFromErrno('open', errno, req.path, req.kind);
  if (errno === EACCES && req.kind !== 'flock' && req.exclusive) {
    return new LockError({ ...err, kind: req.kind, message: `${err.message} (an exclusive ${req.kind} lock needs write access)` });
  }
  return err;
}

/** Open read-write; read-only where that suffices (flock, shared fcntl) and read-write is refused. */
function openFd(req: LockRequest, platform: PlatformBackend, identify = true): void {
  let fd = platform.open(req.path, true, req.create, req.fileMode);
  let writable = true;
  if ((fd === -EACCES || fd === -EROFS) && (req.kind === 'flock' || !req.exclusive)) {
    const ro = platform.open(req.path, false, req.create, req.fileMode);
    if (ro >= 0) {
      fd = ro;
      writable = false;
    }
  }
  if (fd < 0) throw openError(req, platform, -fd);
  // Into `id` (read by setIdentity): what was opened must be a regular file.
  const rc = platform.fileId(fd, id);
  if (rc !== 0 || id.type !== S_IFREG) {
    platform.close(fd);
    throw rc !== 0 ? lockErrorFromErrno('fstat', -rc, req.path, req.kind) : notALockFile(req, id.type);
  }
  req.fd = fd;
  req.writable = writable;
  if (identify) setIdentity(req);
}

/** Put a request into its table entry (active). */
function place(req: LockRequest): TableEntry {
  const entry = entryFor(req, req.inode!);
  req.entry = entry;
  req.placed = true;
  placedCount++;
  return entry;
}

/** File every fast-path holder under its identity, so the table is complete before it is consulted. */
function placeUnplaced(platform: PlatformBackend): void {
  if (unplaced.size === 0) return;
  for (const u of unplaced.items.slice()) {
    // fstat of an open fd does not fail in practice; if it did, that holder stays unplaced.
    if (platform.fileId(u.fd, id) !== 0) continue;
    unplaced.remove(u);
    setIdentity(u);
    place(u).active.push(u);
  }
}

/**
 * Give `req` an fd on its file and learn the file's identity. POSIX requests share one fd per
 * inode (table.ts: PosixInode); any request reuses a parked fd of an inode with POSIX locks
 * rather than opening (and later parking) yet another.
 */
function openFile(req: LockRequest, platform: PlatformBackend): void {
  if (posixInodeCount > 0 && platform.pathId(req.path, id) === 0) {
    const posix = findInode(id.dev, id.ino)?.posix;
    if (posix != null) {
      if (req.kind === 'posix') {
        if (posix.writable || !req.exclusive) {
          posix.users++;
          req.fd = posix.fd;
          req.writable = posix.writable;
          setIdentity(req);
          return;
        }
      } else {
        const i = req.exclusive && req.kind === 'ofd' ? posix.spare.findIndex((s) => s.writable) : posix.spare.length - 1;
        if (i >= 0) {
          const s = posix.spare.splice(i, 1)[0]!;
          removeFrom(posix.fds, s.fd);
          req.fd = s.fd;
          req.writable = s.writable;
          setIdentity(req);
          return;
        }
      }
    }
  }
  openFd(req, platform);
  if (req.kind !== 'posix') return;
  const inode = req.inode!;
  const posix = inode.posix;
  if (posix === null) {
    setPosix(inode, { fd: req.fd, writable: req.writable, users: 1, fds: [req.fd], spare: [] });
  } else {
    // Another path to a file this process already POSIX-locks: this fd may not be closed early either.
    posix.users++;
    posix.fds.push(req.fd);
    if (req.writable && !posix.writable) {
      posix.fd = req.fd;
      posix.writable = true;
    }
  }
}

/** Close the request's fd, or park it while this process has POSIX locks on the inode. */
function releaseFd(req: LockRequest, platform: PlatformBackend): void {
  const fd = req.fd;
  if (fd < 0) return;
  req.fd = -1;
  const inode = req.inode;
  if (inode === null) {
    // Fast path (unplaced): no POSIX request was in flight, or it would have placed this one.
    platform.close(fd);
    return;
  }
  const posix = inode.posix;
  if (req.kind === 'posix') {
    if (posix === null || --posix.users > 0) return;
    setPosix(inode, null);
    for (const f of posix.fds) platform.close(f);
    return;
  }
  if (posix === null) platform.close(fd);
  else {
    // Closing it now would silently drop this process's POSIX locks on the file.
    posix.fds.push(fd);
    posix.spare.push({ fd, writable: req.writable });
  }
}

// ---------------------------------------------------------------- gate, kernel, lifecycle

function markHeld(req: LockRequest): void {
  req.state = 'held';
  // The wall clock, as records and holder cards use: timeOrigin + performance.now() falls behind it
  // after a suspend or a clock step.
  req.acquiredAt = Date.now();
  req.waitedMs = performance.now() - req.startedAt;
}

function kernelTry(req: LockRequest, platform: PlatformBackend): Outcome {
  req.state = 'trying';
  let rc = platform.tryLock(req.fd, req.kind, req.exclusive, req.start, req.length);
  if (rc === -EBADF && req.kind === 'flock' && !req.writable) rc = reopenWritable(req, platform, rc);
  if (rc === 0) {
    markHeld(req);
    return HELD;
  }
  if (rc === -EAGAIN || rc === -EACCES) {
    if (req.diag !== undefined) events.refused(req, platform.lockSyscall(req.kind), -rc);
    return BUSY_KERNEL;
  }
  return lockErrorFromErrno(platform.lockSyscall(req.kind), -rc, req.path, req.kind, { waitedMs: performance.now() - req.startedAt });
}

/** NFSv4 refuses flock on a read-only fd (EBADF): reopen read-write and retry once, as gofrs/flock does. */
function reopenWritable(req: LockRequest, platform: PlatformBackend, rc: number): number {
  const fd = platform.open(req.path, true, false, req.fileMode);
  if (fd < 0) return rc;
  releaseFd(req, platform);
  req.fd = fd;
  req.writable = true;
  return platform.tryLock(fd, req.kind, req.exclusive, req.start, req.length);
}

/**
 * First part of every acquire, synchronous: open, pass the in-process gate, one kernel try.
 * Throws (open errors) or returns a LockError (lock call errors); the caller then calls finish().
 */
export function attempt(req: LockRequest, platform: PlatformBackend): Outcome {
  let kernelBusy = false;
  if (platform.lockBeforeIdentify === true && placedCount === 0 && posixInodeCount === 0 && req.kind !== 'posix') {
    openFd(req, platform, false);
    // The identity without a table entry: a tracked call's records name the file.
    req.dev = id.dev;
    req.ino = id.ino;
    const out = kernelTry(req, platform);
    if (out === HELD) {
      unplaced.add(req);
      return HELD;
    }
    if (out !== BUSY_KERNEL) return out;
    // Busy, maybe behind a lock of this very process: take the full path, without a second
    // kernel try (the kernel just said busy). `id` still holds this fd's identity (openFd).
    setIdentity(req);
    kernelBusy = true;
  }
  placeUnplaced(platform);
  if (!kernelBusy) openFile(req, platform);
  const entry = place(req);
  const blocker = blockerOf(req, entry);
  if (blocker !== null) {
    req.blocker = blocker;
    if (req.diag !== undefined) events.refused(req, null, 0);
    return BUSY_IN_PROCESS;
  }
  entry.active.push(req);
  return kernelBusy ? BUSY_KERNEL : kernelTry(req, platform);
}

/** Give up a request that is not held (busy tryLock, failed attempt) and clean up after it. */
export function abandon(req: LockRequest, platform: PlatformBackend): void {
  req.state = 'failed';
  finish(req, platform);
}

/** attempt(), but any failure is cleaned up and thrown: returns HELD or a BUSY_* outcome. */
export function attemptOrThrow(req: LockRequest, platform: PlatformBackend): typeof HELD | typeof BUSY_IN_PROCESS | typeof BUSY_KERNEL {
  let out: Outcome;
  try {
    out = attempt(req, platform);
  } catch (err) {
    abandon(req, platform);
    throw err;
  }
  if (typeof out === 'number') return out;
  abandon(req, platform);
  throw out;
}

/** Drop the lock in the kernel: for POSIX only the bytes no other in-process POSIX holder covers. */
function unlockKernel(req: LockRequest, platform: PlatformBackend): number {
  const entry = req.entry!;
  if (req.kind !== 'posix' || entry.active.length === 1) return platform.unlock(req.fd, req.kind, req.start, req.length);
  let rc = 0;
  for (const [s, t] of uncoveredRanges(req, entry)) {
    const r = platform.unlock(req.fd, 'posix', s, t === Infinity ? 0 : t - s);
    if (r !== 0) rc = r;
  }
  return rc;
}

/** Leave the table and give up the fd, without letting others in (see finish). */
function detach(req: LockRequest, platform: PlatformBackend): void {
  const entry = req.entry;
  if (entry === null) unplaced.remove(req);
  else if (!removeFrom(entry.active, req)) removeFrom(entry.queue, req);
  if (req.placed) {
    req.placed = false;
    placedCount--;
  }
  releaseFd(req, platform);
  if (req.inode !== null) maybeDrop(req.inode);
}

/** The single point where a request leaves the engine; queued requests it blocked move on. */
export function finish(req: LockRequest, platform: PlatformBackend): void {
  detach(req, platform);
  if (req.entry !== null) pump(req.entry, platform);
}

/** Let in every queued request that no longer conflicts (FIFO: nobody overtakes a conflicting earlier one). */
function pump(entry: TableEntry, platform: PlatformBackend): void {
  for (let i = 0; i < entry.queue.length;) {
    const q = entry.queue[i]!;
    const blocker = blockerOf(q, entry);
    if (blocker !== null) {
      const changed = q.blocker !== blocker;
      q.blocker = blocker;
      if (changed && q.diag !== undefined) events.refused(q, null, 0);
      i++;
      continue;
    }
    entry.queue.splice(i, 1);
    entry.active.push(q);
    q.blocker = null;
    // Its signal fired while an earlier wait on it was being cancelled: it never gets the lock.
    const out = q.signal?.aborted === true ? abortError(q, performance.now() - q.startedAt, q.signal) : kernelTry(q, platform);
    if (out === HELD) settle(q, undefined);
    else if (out === BUSY_KERNEL) {
      try {
        kernelWait(q, platform);
      } catch (cause) {
        q.state = 'failed';
        detach(q, platform);
        settle(q, waiterFailed(q, performance.now() - q.startedAt, cause));
      }
    } else {
      q.state = 'failed';
      detach(q, platform);
      settle(q, out as LockError);
    }
  }
}

// ---------------------------------------------------------------- waiting

/** Park an async request: in the in-process queue or in a kernel wait. Arms timeout and abort. */
export function startWaiting(req: LockRequest, platform: PlatformBackend, out: typeof BUSY_IN_PROCESS | typeof BUSY_KERNEL): void {
  try {
    if (req.timeout !== Infinity) {
      // Unref'd: the wait itself keeps the process alive (a ref'd waiter thread); an in-process
      // queue with nothing else alive is a self-deadlock, reported at 'beforeExit'.
      req.timer = setTimeout(onTimeout, Math.max(0, req.timeout - (performance.now() - req.startedAt)), req);
      req.timer.unref();
    }
    if (req.signal !== undefined) watchSignal(req, req.signal);
    if (out === BUSY_IN_PROCESS) {
      req.state = 'queued';
      req.waitedOn = 'in-process';
      req.entry!.queue.push(req);
      watchDeadlocks();
    } else kernelWait(req, platform);
  } catch (cause) {
    // The request is in the table with an open fd: it must leave the engine, or every later
    // request on the file would queue behind it forever.
    req.state = 'failed';
    finish(req, platform);
    settle(req, cause instanceof LockError ? cause : waiterFailed(req, performance.now() - req.startedAt, cause));
    return;
  }
  events.waitStart(req);
}

function watchSignal(req: LockRequest, signal: AbortSignal): void {
  try {
    req.unwatchAbort = watchAbort(signal, () => cancel(req, abortError(req, performance.now() - req.startedAt, signal)));
  } catch (cause) {
    const err = invalidArgument(
      req.api,
      req.path,
      `signal: listening for 'abort' failed: ${String((cause as Error)?.message ?? cause)}`,
      req.kind,
    );
    throw new LockError({ ...err, message: err.message, cause });
  }
}

function kernelWait(req: LockRequest, platform: PlatformBackend): void {
  req.state = 'waiting';
  req.waitedOn = 'kernel';
  req.pending = platform.wait(req.fd, req.kind, req.exclusive, req.start, req.length, (errno, cancelled, cause) =>
    onKernelDone(req, platform, errno, cancelled, cause),
  );
}

function onKernelDone(req: LockRequest, platform: PlatformBackend, errno: number, cancelled: boolean, cause: unknown): void {
  req.pending = null;
  if (req.state === 'waiting') {
    if (cause === undefined && errno === 0) {
      markHeld(req);
      settle(req, undefined);
      return;
    }
    const waited = performance.now() - req.startedAt;
    const err =
      cause !== undefined
        ? waiterFailed(req, waited, cause)
        : lockErrorFromErrno(platform.lockSyscall(req.kind), errno, req.path, req.kind, { waitedMs: waited });
    req.state = 'failed';
    finish(req, platform);
    settle(req, err);
  } else if (req.state === 'cancelling') {
    // The kernel granted it just as the cancel arrived: the caller was told "timeout"/"aborted",
    // so nothing may stay locked.
    if (cause === undefined && errno === 0 && !cancelled) {
      unlockKernel(req, platform);
      lateGrantsUndone++;
    }
    req.state = 'failed';
    finish(req, platform);
  }
}

function onTimeout(req: LockRequest): void {
  req.timer = null;
  cancel(req, timeoutError(req, performance.now() - req.startedAt));
}

/** Timeout or abort: reject now; a kernel wait is interrupted and cleaned up in the background. */
function cancel(req: LockRequest, err: LockError): void {
  const platform = ready!;
  if (req.state === 'queued') {
    req.state = 'failed';
    finish(req, platform);
    settle(req, err);
  } else if (req.state === 'waiting') {
    req.state = 'cancelling';
    settle(req, err);
    req.pending?.cancel();
  }
}

/** The single point where an async acquire ends: resolve with a new handle, or reject. */
function settle(req: LockRequest, err: LockError | undefined): void {
  if (req.timer !== null) {
    clearTimeout(req.timer);
    req.timer = null;
  }
  if (req.unwatchAbort !== null) {
    req.unwatchAbort();
    req.unwatchAbort = null;
  }
  const { resolve, reject } = req;
  req.resolve = req.reject = null;
  events.acquireEnd(req, err);
  if (err === undefined) newHandle(req, resolve);
  else reject?.(err);
}

let watching = false;
/** Grants that arrived after a timeout/abort and were unlocked again (a diagnostic counter). */
let lateGrantsUndone = 0;

function watchDeadlocks(): void {
  if (watching) return;
  watching = true;
  process.on('beforeExit', onBeforeExit);
}

/**
 * The event loop ran dry while requests wait behind locks this same process holds: nothing can
 * release those any more (a kernel wait would keep the loop alive), so each would wait forever.
 * Fail them loudly instead of letting the process exit with a silently unsettled promise.
 */
function onBeforeExit(): void {
  const platform = ready;
  if (platform === null) return;
  const stuck: LockRequest[] = [];
  for (const entry of allEntries()) for (const q of entry.queue) stuck.push(q);
  for (const q of stuck) {
    if (q.state !== 'queued') continue; // let in by an earlier victim's removal
    const err = deadlockError(q, performance.now() - q.startedAt);
    q.state = 'failed';
    finish(q, platform);
    settle(q, err);
  }
}

// ---------------------------------------------------------------- release

/** Release a held request. Returns the unlock error, if any (the fd is given up regardless). */
export function releaseRequest(req: LockRequest, leaked: boolean): LockError | undefined {
  if (req.state !== 'held') return undefined;
  const platform = ready!;
  req.state = 'released';
  const rc = unlockKernel(req, platform);
  finish(req, platform);
  events.released(req, leaked);
  return rc === 0 ? undefined : lockErrorFromErrno(platform.lockSyscall(req.kind), -rc, req.path, req.kind);
}

/**
 * The handle of a granted request, handed to `deliver` (a waiting caller's resolve) before it is
 * queued for leak detection, so the caller's continuation is queued first: the only place handles are made.
 */
export function newHandle(req: LockRequest, deliver?: ((h: LockHandle) => void) | null): LockHandle {
  const h = new LockHandle(req, releaseRequest);
  deliver?.(h);
  watchLeak(h);
  return h;
}

/** Counts for tests and diagnostics: in-process requests by state, parked POSIX fds. */
export function engineStats(): {
  held: number;
  waiting: number;
  queued: number;
  cancelling: number;
  posixInodes: number;
  parkedFds: number;
  lateGrantsUndone: number;
} {
  let held = unplaced.size;
  let waiting = 0;
  let queued = 0;
  let cancelling = 0;
  for (const entry of allEntries()) {
    queued += entry.queue.length;
    for (const a of entry.active) {
      if (a.state === 'held') held++;
      else if (a.state === 'cancelling') cancelling++;
      else waiting++;
    }
  }
  let parkedFds = 0;
  let posixInodes = 0;
  for (const i of allInodes()) {
    if (i.posix === null) continue;
    posixInodes++;
    parkedFds += i.posix.fds.length;
  }
  return { held, waiting, queued, cancelling, posixInodes, parkedFds, lateGrantsUndone };
}
