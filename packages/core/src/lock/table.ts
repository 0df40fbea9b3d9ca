/**
 * In-process view of every lock this process holds or waits for, per file identity (dev, ino)
 * and lock family. The kernel cannot protect a process from itself: POSIX locks of one process
 * never conflict with each other (a second grant would silently succeed), and a flock/OFD wait on
 * a description this process holds would block on itself. So requests of this process are
 * ordered here first (FIFO, shared may share, ranges matter for fcntl kinds) and only those with
 * no in-process conflict go to the kernel.
 *
 * Families: flock locks and fcntl locks (POSIX and OFD, which conflict with each other in the
 * kernel) do not interact on local Linux file systems.
 *
 * Keyed by numbers in nested maps (no key strings on the hot path); empty inode entries are kept
 * for reuse up to RETAIN, so a lock/release loop on one file allocates no table state.
 */
import type { LockRequest } from './request.js';

const RETAIN = 256;

export class TableEntry {
  /** Requests past the in-process gate: trying, waiting in the kernel, cancelling, or held. */
  readonly active: LockRequest[] = [];
  /** Requests waiting behind a conflicting in-process request, in arrival order. */
  readonly queue: LockRequest[] = [];
  constructor(readonly inode: InodeEntry) {}
}

/**
 * fds this process opened on an inode while it has POSIX locks there. Closing ANY fd of an inode
 * drops ALL of the process's POSIX locks on it, so while `users` > 0 (POSIX requests in flight)
 * no lockscope fd of that inode is closed: they are parked in `fds` and closed together when the
 * last POSIX request ends. POSIX requests share `fd` instead of opening one each.
 */
export interface PosixInode {
  /** fd POSIX requests lock through (read-write when any needed it). */
  fd: number;
  writable: boolean;
  users: number;
  /** Every fd to close when `users` drops to 0 (includes `fd`). */
  fds: number[];
  /** Parked fds of released flock/OFD requests (subset of `fds`), reused by the next ones. */
  spare: Array<{ fd: number; writable: boolean }>;
}

export class InodeEntry {
  readonly flock: TableEntry = new TableEntry(this);
  readonly fcntl: TableEntry = new TableEntry(this);
  posix: PosixInode | null = null;
  constructor(
    readonly dev: number,
    readonly ino: number,
  ) {}

  get empty(): boolean {
    return (
      this.posix === null &&
      this.flock.active.length === 0 &&
      this.flock.queue.length === 0 &&
      this.fcntl.active.length === 0 &&
      this.fcntl.queue.length === 0
    );
  }
}

const byDev = new Map<number, Map<number, InodeEntry>>();
let inodeCount = 0;
/** Inodes with POSIX requests in flight: when 0, nobody needs a path lookup before open. */
export let posixInodeCount = 0;

export function inodeFor(dev: number, ino: number): InodeEntry {
  let m = byDev.get(dev);
  if (m === undefined) byDev.set(dev, (m = new Map<number, InodeEntry>()));
  let e = m.get(ino);
  if (e === undefined) {
    m.set(ino, (e = new InodeEntry(dev, ino)));
    inodeCount++;
  }
  return e;
}

export function findInode(dev: number, ino: number): InodeEntry | undefined {
  return byDev.get(dev)?.get(ino);
}

export function setPosix(e: InodeEntry, p: PosixInode | null): void {
  if ((e.posix === null) !== (p === null)) posixInodeCount += p === null ? -1 : 1;
  e.posix = p;
}

/** Forget an unused inode entry, unless few enough are kept for reuse. */
export function maybeDrop(e: InodeEntry): void {
  if (inodeCount <= RETAIN || !e.empty) return;
  const m = byDev.get(e.dev);
  if (m?.get(e.ino) !== e) return;
  m.delete(e.ino);
  inodeCount--;
  if (m.size === 0) byDev.delete(e.dev);
}

export function* allEntries(): Generator<TableEntry> {
  for (const m of byDev.values()) {
    for (const e of m.values()) {
      yield e.flock;
      yield e.fcntl;
    }
  }
}

export function* allInodes(): Generator<InodeEntry> {
  for (const m of byDev.values()) yield* m.values();
}

export function entryFor(req: LockRequest, inode: InodeEntry): TableEntry {
  return req.kind === 'flock' ? inode.flock : inode.fcntl;
}

function end(r: LockRequest): number {
  return r.length === 0 ? Infinity : r.start + r.length;
}

export function conflicts(a: LockRequest, b: LockRequest): boolean {
  if (!a.exclusive && !b.exclusive) return false;
  if (a.kind === 'flock') return true;
  return a.start < end(b) && b.start < end(a);
}

/**
 * The in-process request `req` must wait behind, or null. Checks active requests and, for FIFO
 * fairness, queued requests that arrived before it (a shared request does not overtake a queued
 * exclusive one).
 */
export function blockerOf(req: LockRequest, e: TableEntry): LockRequest | null {
  for (const a of e.active) if (a !== req && conflicts(req, a)) return a;
  for (const q of e.queue) {
    if (q === req) break;
    if (conflicts(req, q)) return q;
  }
  return null;
}

export function removeFrom<T>(list: T[], item: T): boolean {
  const i = list.indexOf(item);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

/**
 * Byte ranges of `req` that no other held POSIX lock of this process covers: the only ones that
 * may be unlocked (POSIX locks are per process, so unlocking a byte drops it for every holder).
 */
export function uncoveredRanges(req: LockRequest, e: TableEntry): Array<[number, number]> {
  let pieces: Array<[number, number]> = [[req.start, end(req)]];
  for (const o of e.active) {
    if (o === req || o.kind !== 'posix' || o.state !== 'held') continue;
    const os = o.start;
    const oe = end(o);
    const next: Array<[number, number]> = [];
    for (const [s, t] of pieces) {
      if (oe <= s || os >= t) next.push([s, t]);
      else {
        if (s < os) next.push([s, os]);
        if (oe < t) next.push([oe, t]);
      }
    }
    pieces = next;
    if (pieces.length === 0) break;
  }
  return pieces;
}
