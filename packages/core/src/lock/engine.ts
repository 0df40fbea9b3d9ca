/**
 * The lock engine: one flow for every kind and platform.
 *   open (+ identity) -> in-process gate (table.ts) -> one non-blocking kernel attempt on the
 *   calling thread -> if busy: wait (in-process queue, or a backend wait off the main thread)
 *   -> held -> release (unlock, close or park the fd, let queued requests in).
 * The uncontended path is synchronous and allocates only the request, its handle and a key.
 *
 * Fast path: while the table holds no request at all (nothing of this process waits or holds
 * through it, and no POSIX lock is in flight), a flock/OFD request goes straight to the kernel
 * without an fstat. Nothing in this process can conflict with it except locks the kernel itself
 * reports (another open file description of this process), so a grant is correct without the
 * gate; the request is kept "unplaced" (identity unknown). The first request that needs the
 * table (kernel busy, POSIX, instrumented, or the table is non-empty) first fstats every unplaced
 * holder's fd and files it under its (dev, ino): the table is complete whenever it is consulted.
 */
import { errnoNumber, LockError, lockErrorFromErrno, unsupportedPlatform } from '../errors.js';
import { backend, unsupportedMessage, type FileId, type PlatformBackend } from '../platform/index.js';
import { abortError, deadlockError, timeoutError, waiterFailed } from './errors.js';
import * as events from './events.js';
import { LockHandle } from './handle.js';
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

/** attempt() outcomes besides a LockError. */
export const HELD = 0;
export const BUSY_IN_PROCESS = 1;
export const BUSY_KERNEL = 2;
type Outcome = typeof HELD | typeof BUSY_IN_PROCESS | typeof BUSY_KERNEL | LockError;

let ready: PlatformBackend | null = null;
const id: FileId = { dev: 0, ino: 0 };
/** Held requests granted on the fast path, not (yet) in the table. */
const unplaced = new Set<LockRequest>();
/** Requests in the table (given an entry, not yet detached). */
let placedCount = 0;

/** The backend, loaded once; 'unsupported' LockError where there is none or it cannot load. */
export function platformFor(req: LockRequest): PlatformBackend {
  let b = ready;
  if (b === null) {
    if (backend === null) throw unsupportedPlatform(req.api, req.path, unsupportedMessage);
    try {
      backend.init();
    } catch (cause) {
      const e = unsupportedPlatform(req.api, req.path, 'file locking (the native layer did not load)');
      throw new LockError({ ...e, kind: req.kind, message: `${e.message}: ${(cause as Error)?.message ?? cause}`, cause });
    }
    b = ready = backend;
  }
  if (!b.kinds.has(req.kind)) throw kindUnsupported(req, b);
  return b;
}

function kindUnsupported(req: LockRequest, b: PlatformBackend): LockError {
  const e = unsupportedPlatform(req.api, req.path, `lock kind '${req.kind}'`);
  const note = b.kindsNote?.[req.kind];
  if (note === undefined) return new LockError({ ...e, kind: req.kind });
  const at = `${req.api} '${req.path}'`;
  return new LockError({ ...e, kind: req.kind, message: `${e.code}: lock kind '${req.kind}' is not supported on ${b.name}: ${note}, ${at}` });
}

// ---------------------------------------------------------------- open and fds

function setIdentity(req: LockRequest): void {
  req.dev = id.dev;
  req.ino = id.ino;
  req.inode = inodeFor(id.dev, id.ino);
}

function openError(req: LockRequest, errno: number): LockError {
  const e = lockErrorFromErrno('open', errno, req.path, req.kind);
  if (errno === EACCES && req.kind !== 'flock' && req.exclusive) {
    return new LockError({ ...e, kind: req.kind, message: `${e.message} (an exclusive ${req.kind} lock needs write access)` });
  }
  return e;
}

/** Open read-write; read-only where that suffices (flock, shared fcntl) and read-write is refused. */
function openFd(req: LockRequest, b: PlatformBackend, identify = true): void {
  let fd = b.open(req.path, true, req.create, req.fileMode);
  let writable = true;
  if ((fd === -EACCES || fd === -EROFS) && (req.kind === 'flock' || !req.exclusive)) {
    const ro = b.open(req.path, false, req.create, req.fileMode);
    if (ro >= 0) {
      fd = ro;
      writable = false;
    }
  }
  if (fd < 0) throw openError(req, -fd);
  req.fd = fd;
  req.writable = writable;
  if (identify) identifyFd(req, b);
}

/** Learn the identity of the request's open fd; on failure the fd is given up and a LockError thrown. */
function identifyFd(req: LockRequest, b: PlatformBackend): void {
  const rc = b.fileId(req.fd, id);
  if (rc !== 0) {
    b.close(req.fd);
    req.fd = -1;
    throw lockErrorFromErrno('fstat', -rc, req.path, req.kind);
  }
  setIdentity(req);
}

/** Put a request into its table entry (active). */
function place(req: LockRequest): TableEntry {
  const e = entryFor(req, req.inode!);
  req.entry = e;
  req.placed = true;
  placedCount++;
  return e;
}

/** File every fast-path holder under its identity, so the table is complete before it is consulted. */
function placeUnplaced(b: PlatformBackend): void {
  for (const u of unplaced) {
    // fstat of an open fd does not fail in practice; if it did, that holder stays unplaced.
    if (b.fileId(u.fd, id) !== 0) continue;
    unplaced.delete(u);
    setIdentity(u);
    place(u).active.push(u);
  }
}

/**
 * Give `req` an fd on its file and learn the file's identity. POSIX requests share one fd per
 * inode (table.ts: PosixInode); any request reuses a parked fd of an inode with POSIX locks
 * rather than opening (and later parking) yet another.
 */
function openFile(req: LockRequest, b: PlatformBackend): void {
  if (posixInodeCount > 0 && b.pathId(req.path, id) === 0) {
    const pi = findInode(id.dev, id.ino)?.posix;
    if (pi != null) {
      if (req.kind === 'posix') {
        if (pi.writable || !req.exclusive) {
          pi.users++;
          req.fd = pi.fd;
          req.writable = pi.writable;
          setIdentity(req);
          return;
        }
      } else {
        const i = req.exclusive && req.kind === 'ofd' ? pi.spare.findIndex((s) => s.writable) : pi.spare.length - 1;
        if (i >= 0) {
          const s = pi.spare.splice(i, 1)[0]!;
          removeFrom(pi.fds, s.fd);
          req.fd = s.fd;
          req.writable = s.writable;
          setIdentity(req);
          return;
        }
      }
    }
  }
  openFd(req, b);
  if (req.kind !== 'posix') return;
  const inode = req.inode!;
  const pi = inode.posix;
  if (pi === null) {
    setPosix(inode, { fd: req.fd, writable: req.writable, users: 1, fds: [req.fd], spare: [] });
  } else {
    // Another path to a file this process already POSIX-locks: this fd may not be closed early either.
    pi.users++;
    pi.fds.push(req.fd);
    if (req.writable && !pi.writable) {
      pi.fd = req.fd;
      pi.writable = true;
    }
  }
}

/** Close the request's fd, or park it while this process has POSIX locks on the inode. */
function releaseFd(req: LockRequest, b: PlatformBackend): void {
  const fd = req.fd;
  if (fd < 0) return;
  req.fd = -1;
  const inode = req.inode;
  if (inode === null) {
    // Fast path (unplaced): no POSIX request was in flight, or it would have placed this one.
    b.close(fd);
    return;
  }
  const pi = inode.posix;
  if (req.kind === 'posix') {
    if (pi === null || --pi.users > 0) return;
    setPosix(inode, null);
    for (const f of pi.fds) b.close(f);
    return;
  }
  if (pi === null) b.close(fd);
  else {
    // Closing it now would silently drop this process's POSIX locks on the file.
    pi.fds.push(fd);
    pi.spare.push({ fd, writable: req.writable });
  }
}

// ---------------------------------------------------------------- gate, kernel, lifecycle

const timeOrigin = performance.timeOrigin;

function markHeld(req: LockRequest): void {
  const now = performance.now();
  req.state = 'held';
  req.acquiredAt = timeOrigin + now;
  req.waitedMs = now - req.startedAt;
}

function kernelTry(req: LockRequest, b: PlatformBackend): Outcome {
  req.state = 'trying';
  let rc = b.tryLock(req.fd, req.kind, req.exclusive, req.start, req.length);
  if (rc === -EBADF && req.kind === 'flock' && !req.writable) rc = reopenWritable(req, b, rc);
  if (rc === 0) {
    markHeld(req);
    return HELD;
  }
  if (rc === -EAGAIN || rc === -EACCES) return BUSY_KERNEL;
  return lockErrorFromErrno(b.lockSyscall(req.kind), -rc, req.path, req.kind, { waitedMs: performance.now() - req.startedAt });
}

/** NFSv4 refuses flock on a read-only fd (EBADF): reopen read-write and retry once, as gofrs/flock does. */
function reopenWritable(req: LockRequest, b: PlatformBackend, rc: number): number {
  const fd = b.open(req.path, true, false, req.fileMode);
  if (fd < 0) return rc;
  releaseFd(req, b);
  req.fd = fd;
  req.writable = true;
  return b.tryLock(fd, req.kind, req.exclusive, req.start, req.length);
}

/**
 * First part of every acquire, synchronous: open, pass the in-process gate, one kernel try.
 * Throws (open errors) or returns a LockError (lock call errors); the caller then calls finish().
 */
export function attempt(req: LockRequest, b: PlatformBackend): Outcome {
  let kernelBusy = false;
  if (b.lockBeforeIdentify === true && placedCount === 0 && posixInodeCount === 0 && req.kind !== 'posix' && req.diag === undefined) {
    openFd(req, b, false);
    const out = kernelTry(req, b);
    if (out === HELD) {
      unplaced.add(req);
      return HELD;
    }
    if (out !== BUSY_KERNEL) return out;
    // Busy, maybe behind a lock of this very process: take the full path, without a second
    // kernel try (the kernel just said busy).
    identifyFd(req, b);
    kernelBusy = true;
  }
  placeUnplaced(b);
  if (!kernelBusy) openFile(req, b);
  const e = place(req);
  const blocker = blockerOf(req, e);
  if (blocker !== null) {
    req.blocker = blocker;
    return BUSY_IN_PROCESS;
  }
  e.active.push(req);
  return kernelBusy ? BUSY_KERNEL : kernelTry(req, b);
}

/** Give up a request that is not held (busy tryLock, failed attempt) and clean up after it. */
export function abandon(req: LockRequest, b: PlatformBackend): void {
  req.state = 'failed';
  finish(req, b);
}

/** attempt(), but any failure is cleaned up and thrown: returns HELD or a BUSY_* outcome. */
export function attemptOrThrow(req: LockRequest, b: PlatformBackend): typeof HELD | typeof BUSY_IN_PROCESS | typeof BUSY_KERNEL {
  let out: Outcome;
  try {
    out = attempt(req, b);
  } catch (err) {
    abandon(req, b);
    throw err;
  }
  if (typeof out === 'number') return out;
  abandon(req, b);
  throw out;
}

/** Drop the lock in the kernel: for POSIX only the bytes no other in-process POSIX holder covers. */
function unlockKernel(req: LockRequest, b: PlatformBackend): number {
  const e = req.entry!;
  if (req.kind !== 'posix' || e.active.length === 1) return b.unlock(req.fd, req.kind, req.start, req.length);
  let rc = 0;
  for (const [s, t] of uncoveredRanges(req, e)) {
    const r = b.unlock(req.fd, 'posix', s, t === Infinity ? 0 : t - s);
    if (r !== 0) rc = r;
  }
  return rc;
}

/** Leave the table and give up the fd, without letting others in (see finish). */
function detach(req: LockRequest, b: PlatformBackend): void {
  const e = req.entry;
  if (e === null) unplaced.delete(req);
  else if (!removeFrom(e.active, req)) removeFrom(e.queue, req);
  if (req.placed) {
    req.placed = false;
    placedCount--;
  }
  releaseFd(req, b);
  if (req.inode !== null) maybeDrop(req.inode);
}

/** The single point where a request leaves the engine; queued requests it blocked move on. */
export function finish(req: LockRequest, b: PlatformBackend): void {
  detach(req, b);
  if (req.entry !== null) pump(req.entry, b);
}

/** Let in every queued request that no longer conflicts (FIFO: nobody overtakes a conflicting earlier one). */
function pump(e: TableEntry, b: PlatformBackend): void {
  for (let i = 0; i < e.queue.length; ) {
    const q = e.queue[i]!;
    const blocker = blockerOf(q, e);
    if (blocker !== null) {
      q.blocker = blocker;
      i++;
      continue;
    }
    e.queue.splice(i, 1);
    e.active.push(q);
    q.blocker = null;
    const out = kernelTry(q, b);
    if (out === HELD) settle(q, undefined);
    else if (out === BUSY_KERNEL) kernelWait(q, b);
    else {
      q.state = 'failed';
      detach(q, b);
      settle(q, out as LockError);
    }
  }
}

// ---------------------------------------------------------------- waiting

/** Park an async request: in the in-process queue or in a kernel wait. Arms timeout and abort. */
export function startWaiting(req: LockRequest, b: PlatformBackend, out: typeof BUSY_IN_PROCESS | typeof BUSY_KERNEL): void {
  if (req.timeout !== Infinity) {
    // Unref'd: the wait itself keeps the process alive (a ref'd waiter thread); an in-process
    // queue with nothing else alive is a self-deadlock, reported at 'beforeExit'.
    req.timer = setTimeout(onTimeout, Math.max(0, req.timeout - (performance.now() - req.startedAt)), req);
    req.timer.unref();
  }
  const signal = req.signal;
  if (signal !== undefined) {
    req.onAbort = () => cancel(req, abortError(req, performance.now() - req.startedAt, signal));
    signal.addEventListener('abort', req.onAbort, { once: true });
  }
  if (out === BUSY_IN_PROCESS) {
    req.state = 'queued';
    req.waitedOn = 'in-process';
    req.entry!.queue.push(req);
    watchDeadlocks();
  } else kernelWait(req, b);
  events.waitStart(req);
}

function kernelWait(req: LockRequest, b: PlatformBackend): void {
  req.state = 'waiting';
  req.waitedOn = 'kernel';
  req.pending = b.wait(req.fd, req.kind, req.exclusive, req.start, req.length, (errno, cancelled, cause) =>
    onKernelDone(req, b, errno, cancelled, cause),
  );
}

function onKernelDone(req: LockRequest, b: PlatformBackend, errno: number, cancelled: boolean, cause: unknown): void {
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
        : lockErrorFromErrno(b.lockSyscall(req.kind), errno, req.path, req.kind, { waitedMs: waited });
    req.state = 'failed';
    finish(req, b);
    settle(req, err);
  } else if (req.state === 'cancelling') {
    // The kernel granted it just as the cancel arrived: the caller was told "timeout"/"aborted",
    // so nothing may stay locked.
    if (cause === undefined && errno === 0 && !cancelled) {
      unlockKernel(req, b);
      lateGrantsUndone++;
    }
    req.state = 'failed';
    finish(req, b);
  }
}

function onTimeout(req: LockRequest): void {
  req.timer = null;
  cancel(req, timeoutError(req, performance.now() - req.startedAt));
}

/** Timeout or abort: reject now; a kernel wait is interrupted and cleaned up in the background. */
function cancel(req: LockRequest, err: LockError): void {
  const b = ready!;
  if (req.state === 'queued') {
    req.state = 'failed';
    finish(req, b);
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
  if (req.onAbort !== null) {
    req.signal!.removeEventListener('abort', req.onAbort);
    req.onAbort = null;
  }
  const { resolve, reject } = req;
  req.resolve = req.reject = null;
  events.acquireEnd(req, err);
  if (err === undefined) resolve?.(new LockHandle(req));
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
  const b = ready;
  if (b === null) return;
  const stuck: LockRequest[] = [];
  for (const e of allEntries()) for (const q of e.queue) stuck.push(q);
  for (const q of stuck) {
    if (q.state !== 'queued') continue; // let in by an earlier victim's removal
    const err = deadlockError(q, performance.now() - q.startedAt);
    q.state = 'failed';
    finish(q, b);
    settle(q, err);
  }
}

// ---------------------------------------------------------------- release

/** Release a held request. Returns the unlock error, if any (the fd is given up regardless). */
export function releaseRequest(req: LockRequest, leaked: boolean): LockError | undefined {
  if (req.state !== 'held') return undefined;
  const b = ready!;
  req.state = 'released';
  const rc = unlockKernel(req, b);
  finish(req, b);
  events.released(req, leaked);
  return rc === 0 ? undefined : lockErrorFromErrno(b.lockSyscall(req.kind), -rc, req.path, req.kind);
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
  for (const e of allEntries()) {
    queued += e.queue.length;
    for (const a of e.active) {
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
