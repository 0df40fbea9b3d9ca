/**
 * One watched file for waitIdle() and `lockscope watch`: an O_PATH fd on the inode, an inotify
 * watch on exactly that inode (added through /proc/self/fd, so a replace between open and watch
 * cannot put the watch on another file) and optionally on its directory (creates and renames of
 * the name). Without inotify every sense() compares a fresh stat instead.
 */
import { basename, dirname } from 'node:path';
import * as N from '../platform/linux/inotify.js';
import type { FileStat } from '../platform/linux/inotify.js';

const EISDIR = 21;
const FILE_MASK = N.IN_MODIFY | N.IN_ATTRIB | N.IN_CLOSE_WRITE | N.IN_CLOSE_NOWRITE | N.IN_OPEN | N.IN_MOVE_SELF | N.IN_DELETE_SELF;
const DIR_MASK = N.IN_CREATE | N.IN_MOVED_TO | N.IN_MOVED_FROM | N.IN_DELETE | N.IN_ONLYDIR;

/** An idle shared instance is closed after this long (closing one costs a kernel grace period). */
const RETIRE_MS = 2000;

/**
 * One inotify instance for the whole process, shared by every WatchedFile: closing an inotify fd
 * waits for the kernel's SRCU grace period (7-17 ms measured here, synchronously), while removing
 * a watch costs microseconds. Each file adds and removes its own watches (reference-counted: the
 * kernel gives two watches of one inode the same wd) and reads its own events; the instance is
 * closed from an unref'd timer once nobody has used it for RETIRE_MS.
 */
class SharedInotify {
  private instance: N.Inotify | null = null;
  private users = 0;
  private retireTimer: NodeJS.Timeout | null = null;
  private readonly wds = new Map<number, Set<WatchedFile>>();
  private readonly queues = new Map<WatchedFile, N.InotifyEvent[]>();

  /** The instance for a new user, or null when inotify cannot be had (stat polling then). */
  acquire(owner: WatchedFile): boolean {
    if (N.inotifyUnavailable() !== null) return false;
    if (!this.instance) {
      const i = N.Inotify.open();
      if (typeof i === 'number') return false;
      this.instance = i;
    }
    if (this.retireTimer) clearTimeout(this.retireTimer);
    this.retireTimer = null;
    this.users++;
    this.queues.set(owner, []);
    return true;
  }

  release(owner: WatchedFile): void {
    if (!this.queues.delete(owner)) return;
    for (const [wd, owners] of this.wds) if (owners.has(owner)) this.remove(owner, wd);
    if (--this.users > 0 || !this.instance) return;
    this.retireTimer = setTimeout(() => {
      this.retireTimer = null;
      if (this.users > 0) return;
      this.instance?.close();
      this.instance = null;
    }, RETIRE_MS);
    this.retireTimer.unref();
  }

  add(owner: WatchedFile, path: string, mask: number): number {
    const wd = this.instance!.add(path, mask);
    if (wd < 0) return wd;
    let owners = this.wds.get(wd);
    if (!owners) this.wds.set(wd, (owners = new Set()));
    owners.add(owner);
    return wd;
  }

  remove(owner: WatchedFile, wd: number): void {
    const owners = this.wds.get(wd);
    if (!owners?.delete(owner)) return;
    if (owners.size > 0) return;
    this.wds.delete(wd);
    this.instance?.remove(wd);
  }

  /** Everything queued for `owner`: its watches' events, and queue overflows (which concern everyone). */
  take(owner: WatchedFile): N.InotifyEvent[] {
    if (this.instance) {
      for (const ev of this.instance.read()) {
        const to = ev.mask & N.IN_Q_OVERFLOW ? this.queues.keys() : (this.wds.get(ev.wd) ?? []);
        for (const o of to) this.queues.get(o)?.push(ev);
        if (ev.mask & N.IN_IGNORED) this.wds.delete(ev.wd); // the kernel dropped that watch
      }
    }
    const q = this.queues.get(owner);
    return q ? q.splice(0) : [];
  }
}

const shared = new SharedInotify();

/** What happened since the previous sense(). */
export interface Sensed {
  /** Content or metadata changed (a write, a truncate, a chmod, a close after writing). */
  changed: boolean;
  /** The path may name another file now, or none (rename, delete, create in the directory). */
  structural: boolean;
  /** Someone opened the file (maybe a new writer). */
  opened: boolean;
  /** Someone closed it (maybe the last writer, or a lock holder). */
  closed: boolean;
  /** The kernel's queue overflowed: events were lost. */
  overflow: boolean;
  /** It got smaller. */
  truncated: boolean;
  /** Its last link went away. */
  deleted: boolean;
}

export class WatchedFile {
  private inotify = false;
  private fileWd = -1;
  private dirWd = -1;
  private pfd = -1;
  /** The watched file's stat as of the last sense() or target(). */
  readonly cur: FileStat = N.emptyStat();
  private readonly scratch: FileStat = N.emptyStat();
  private readonly name: string;
  /** Events read early (around openForWrite), handed to the next sense(). */
  private readonly pending: N.InotifyEvent[] = [];

  constructor(
    readonly path: string,
    private readonly watchDir: boolean,
  ) {
    this.name = basename(path);
    this.inotify = shared.acquire(this);
  }

  get detection(): 'inotify' | 'stat' {
    return this.inotify ? 'inotify' : 'stat';
  }

  /** (Re)open the path and watch that inode. 0 or -errno (-EISDIR for a directory); on failure the old target stays. */
  target(): number {
    const fd = N.openPath(this.path);
    if (fd < 0) return fd;
    const rc = N.statInto(fd, this.scratch);
    if (rc < 0 || N.isDirectory(this.scratch)) {
      N.closeFd(fd);
      return rc < 0 ? rc : -EISDIR;
    }
    if (this.inotify && this.fileWd >= 0) shared.remove(this, this.fileWd);
    this.fileWd = -1;
    N.closeFd(this.pfd);
    this.pfd = fd;
    Object.assign(this.cur, this.scratch);
    if (this.inotify) {
      const wd = shared.add(this, `/proc/self/fd/${fd}`, FILE_MASK);
      // ENOSPC (max_user_watches) and the like: stat polling from now on.
      if (wd < 0) this.dropInotify();
      else this.fileWd = wd;
    }
    if (this.inotify && this.watchDir && this.dirWd < 0) {
      const wd = shared.add(this, dirname(this.path), DIR_MASK);
      this.dirWd = wd < 0 ? -1 : wd;
    }
    return 0;
  }

  private dropInotify(): void {
    if (this.inotify) shared.release(this);
    this.inotify = false;
    this.fileWd = this.dirWd = -1;
  }

  /** Drain the events (never blocks) and refresh `cur`. */
  sense(): Sensed {
    const s: Sensed = {
      changed: false,
      structural: false,
      opened: false,
      closed: false,
      overflow: false,
      truncated: false,
      deleted: false,
    };
    if (this.inotify) {
      for (const ev of [...this.pending.splice(0), ...shared.take(this)]) {
        if (ev.mask & N.IN_Q_OVERFLOW) s.overflow = s.changed = s.structural = true;
        else if (ev.wd === this.fileWd) {
          if (ev.mask & (N.IN_MODIFY | N.IN_ATTRIB | N.IN_CLOSE_WRITE)) s.changed = true;
          if (ev.mask & (N.IN_ATTRIB | N.IN_MOVE_SELF | N.IN_DELETE_SELF | N.IN_IGNORED)) s.structural = true;
          if (ev.mask & N.IN_OPEN) s.opened = true;
          if (ev.mask & (N.IN_CLOSE_WRITE | N.IN_CLOSE_NOWRITE)) s.closed = true;
        } else if (ev.wd === this.dirWd && ev.name === this.name) s.structural = true;
      }
      if (this.watchDir && this.dirWd < 0) s.structural = true;
    } else s.structural = true;
    if (s.changed || s.structural || !this.inotify) {
      const size = this.cur.size;
      const nlink = this.cur.nlink;
      if (N.statInto(this.pfd, this.scratch) === 0) {
        if (!N.sameStat(this.scratch, this.cur)) s.changed = true;
        Object.assign(this.cur, this.scratch);
        s.truncated = this.cur.size < size;
        s.deleted = this.cur.nlink === 0 && nlink !== 0;
      }
    }
    return s;
  }

  /** A fresh fstat of the watched inode into `out`: 0 or -errno. */
  statNow(out: FileStat): number {
    return N.statInto(this.pfd, out);
  }

  /**
   * Whether anyone has the watched inode open for writing (N.openForWrite): 0 no, 1 yes, -errno
   * cannot tell. The check reopens the file: the IN_OPEN and IN_CLOSE_NOWRITE that makes are
   * taken out of the queue, so this process's own look is not taken for a newcomer.
   */
  openForWrite(): number {
    if (this.inotify) this.pending.push(...shared.take(this));
    const rc = N.openForWrite(this.pfd);
    if (this.inotify && rc !== -N.ENOSYS) {
      const after = shared.take(this);
      for (const mask of [N.IN_OPEN, N.IN_CLOSE_NOWRITE]) {
        const i = after.findIndex((e) => e.wd === this.fileWd && e.mask === mask);
        if (i >= 0) after.splice(i, 1);
      }
      this.pending.push(...after);
    }
    return rc;
  }

  /** Whether the path still names the watched file, names none, or names another one. */
  pathState(): 'same' | 'missing' | 'other' {
    const rc = N.statInto(this.path, this.scratch);
    if (rc < 0 || N.isDirectory(this.scratch)) return 'missing';
    return this.scratch.dev === this.cur.dev && this.scratch.ino === this.cur.ino ? 'same' : 'other';
  }

  /** Removes its watches (the shared instance retires on its own) and closes the O_PATH fd. Idempotent. */
  close(): void {
    this.dropInotify();
    N.closeFd(this.pfd);
    this.pfd = -1;
  }
}
