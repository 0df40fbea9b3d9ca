/**
 * The Linux probe: /proc/locks for the locks, /proc/PID/fdinfo for their true holders, a scan of
 * /proc/PID/fd for openers. See docs/probe.md for the algorithm and its costs.
 */
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { errnoNumber } from '../../errors.js';
import { probeErrors } from '../../errors/factories.js';
import {
  PF_KTHREAD,
  accessOf,
  errCode,
  isZombie,
  mapsToken,
  parseFdinfo,
  parseLocks,
  parseStat,
  parseStatusUid,
  procDev,
  procHidepid,
  programName,
  RUNTIME_THREAD_NAMES,
  readProc,
  startTimeMs,
  userName,
  type LockLine,
} from './probe-proc.js';
import { procfsNative } from './procfs.js';
import { scanMaps, startFdScan, type RawScan, type ScanSpec } from './probe-scan.js';
import { scanAllParallel, useThreads } from './probe-parallel.js';
import { statTarget } from '../../probe/shared.js';
import type { ProbeBackend, ProbeEngineOptions } from '../types.js';
import { applyRedaction } from '../../probe/redact.js';
import type {
  IncompleteReason,
  ListLocksResult,
  ProbeLockMode,
  ProbeHolder,
  ProbeLock,
  ProbeMap,
  ProbeOpener,
  ProbeProcess,
  ProbeResult,
  ProbeStats,
  ProbeUnreadable,
  ProbeWaiter,
  Redactor,
  UnreadableReason,
} from '../../probe/types.js';

interface LinuxTarget {
  path: string;
  dev: number;
  ino: number;
}

const KIND: Record<string, string> = { FLOCK: 'flock', POSIX: 'posix', OFDLCK: 'ofd', LEASE: 'lease', DELEG: 'delegation' };

function modeOf(raw: string): ProbeLockMode {
  return raw === 'READ' ? 'shared' : raw === 'WRITE' ? 'exclusive' : 'unlock';
}

function lineKey(l: LockLine): string {
  return `${l.kernelClass}|${l.rawMode}|${l.pid}|${l.device}:${l.ino}|${l.start}|${l.end ?? 'EOF'}`;
}

interface Entry {
  lock: ProbeLock;
  holders: Map<number, { fds: Set<number> | null; confirmed: boolean }>;
  waiterLines: LockLine[];
}

interface FoundFd {
  fd: number;
  key: string;
  accmode: number;
  locks: LockLine[];
}

interface PidScan {
  fds: FoundFd[];
  maps: Map<string, ProbeMap[]>;
}

// fcntl's syscall number, to recognise OFD waiters (PID column -1) in /proc/PID/task/TID/syscall.
const FCNTL_NR: Partial<Record<NodeJS.Architecture, number>> = { x64: 72, arm64: 25, riscv64: 25, loong64: 25, ppc64: 55, s390x: 55 };
const F_OFD_SETLKW = 38;

/** One probe or listLocks call: caches per-pid reads, slices work, tracks what it could not see. */
class Session {
  readonly t0 = performance.now();
  private sliceStart = this.t0;
  longestSlice = 0;
  readonly deadlineAt: number;
  deadlineHit = false;
  processesScanned = 0;
  fdsScanned = 0;
  readonly scanned = new Map<number, PidScan | null>();
  readonly unreadable = new Map<number, ProbeUnreadable>();
  private readonly devNames = new Map<number, string>();
  private readonly info = new Map<number, Promise<ProbeProcess>>();
  readonly uid = process.getuid?.() ?? -1;
  /** The koffi scan (procfs.ts) when it loads; node:fs otherwise. */
  readonly native = procfsNative();

  constructor(
    readonly opts: ProbeEngineOptions,
    /** `device:ino` keys of interest and their inodes (cheap prefilter). */
    readonly interest: Set<string>,
    readonly inos: Set<number>,
    /** The probed path, for error messages (undefined for listLocks). */
    readonly path?: string,
  ) {
    this.deadlineAt = opts.timeout > 0 && Number.isFinite(opts.timeout) ? this.t0 + opts.timeout : Infinity;
  }

  checkAbort(path: string | undefined): void {
    const s = this.opts.signal;
    if (s?.aborted) {
      const message = `ECANCELED: probe aborted${path === undefined ? '' : `, probe '${path}'`}`;
      throw probeErrors.fromErrno('probe', errnoNumber('ECANCELED') ?? 125, path, undefined, { message, cause: s.reason });
    }
  }

  /** Yields to the event loop once the current synchronous stretch reaches sliceMs. */
  async slice(path: string | undefined): Promise<void> {
    const now = performance.now();
    if (now - this.sliceStart < this.opts.sliceMs) return;
    this.endSlice(now);
    await yieldNow();
    this.sliceStart = performance.now();
    this.checkAbort(path);
  }

  /** What is left of the current slice (ms), at least a little so that every call progresses. */
  sliceLeft(): number {
    return Math.max(0.5, this.opts.sliceMs - (performance.now() - this.sliceStart));
  }

  /** Awaits `p` outside any slice (waiting for the scan worker is not a stall). */
  async idle<R>(p: Promise<R>): Promise<R> {
    this.endSlice();
    try {
      return await p;
    } finally {
      this.sliceStart = performance.now();
    }
  }

  endSlice(now = performance.now()): void {
    this.longestSlice = Math.max(this.longestSlice, now - this.sliceStart);
  }

  expired(): boolean {
    if (performance.now() < this.deadlineAt) return false;
    this.deadlineHit = true;
    return true;
  }

  devName(dev: number): string {
    let s = this.devNames.get(dev);
    if (s === undefined) {
      s = procDev(dev);
      this.devNames.set(dev, s);
    }
    return s;
  }

  private markUnreadable(pid: number, reason: UnreadableReason, code: string): void {
    if (this.unreadable.has(pid)) return;
    let command: string | null = null;
    let uid: number | null = null;
    try {
      const st = parseStat(readProc(`/proc/${pid}/stat`));
      // Kernel threads have no files: an unreadable one hides nothing.
      if (st && (st.flags & PF_KTHREAD) !== 0) return;
      command = st?.command ?? null;
      // No exe here: only a runtime's thread name is replaced, from argv[0] (programName).
      if (st && RUNTIME_THREAD_NAMES.has(st.command)) command = programName(st.command, null, st.state === 'D' ? null : cmdlineNow(pid));
      uid = parseStatusUid(readProc(`/proc/${pid}/status`));
    } catch {
      // gone or hidden as well: keep what we have
    }
    this.unreadable.set(pid, { pid, reason, code, command, uid, user: userName(uid) });
  }

  /** Interest keys as maps search tokens, built once per call. */
  private tokens: [string, Buffer][] | undefined;
  mapsTokens(): [string, Buffer][] {
    return (this.tokens ??= [...this.interest].map((k) => {
      const c = k.lastIndexOf(':');
      return [k, mapsToken(k.slice(0, c), Number(k.slice(c + 1)))];
    }));
  }

  /** A failed listing of /proc/PID/fd: exited, hidden, or not ours to read. */
  private listFailed(pid: number, code: string, listed: boolean): null {
    if (code === 'ENOENT' || code === 'ESRCH') {
      // A PID listed in /proc a moment ago that is gone now exited mid-scan; a PID that only
      // /proc/locks names is the usual dead flock PID (or hidden by hidepid).
      if (listed) this.markUnreadable(pid, 'exited', code);
      else if (procHidepid() !== null && this.uid !== 0) this.markUnreadable(pid, 'hidden', code);
    } else if ((code === 'EACCES' || code === 'EPERM') && isZombie(pid)) {
      // Exited, not yet reaped: nothing of it is hidden (a dead flock PID in /proc/locks, often).
    } else {
      this.markUnreadable(pid, code === 'EACCES' || code === 'EPERM' ? 'permission' : 'exited', code);
    }
    return null;
  }

  /** An fd of interest with its fdinfo (access mode, `lock:` lines). */
  private found(pid: number, fd: number, key: string): FoundFd {
    let accmode = -1;
    let locks: LockLine[] = [];
    try {
      const fi = parseFdinfo(readProc(`/proc/${pid}/fdinfo/${fd}`));
      accmode = fi.accmode;
      locks = fi.locks;
    } catch {
      // closed between stat and fdinfo: keep the fd with unknown access
    }
    return { fd, key, accmode, locks };
  }

  /**
   * The fds of `pid` that point at an inode of interest, with their fdinfo (access mode, `lock:`
   * lines), and its maps of those inodes. null when the process could not be read.
   */
  async scanPid(pid: number, wantMaps: boolean, listed: boolean): Promise<PidScan | null> {
    // One read per pid per call (depth 'full' scans with maps from the start, 'holders' never maps).
    const cached = this.scanned.get(pid);
    if (cached !== undefined) return cached;
    const spec = this.spec(wantMaps);
    // A process with thousands of fds is scanned across several slices, not in one stall.
    const fds = startFdScan(pid, spec, this.sliceLeft());
    try {
      while (fds.pending) {
        await this.slice(this.path);
        if (this.expired()) break; // what was found so far stands; the result says 'deadline'
        fds.pending.resume(this.sliceLeft());
      }
    } finally {
      fds.pending?.cancel();
    }
    return this.apply({ pid, fds, maps: scanMaps(pid, fds, spec) }, listed);
  }

  spec(maps: boolean): ScanSpec {
    return { inos: this.inos, tokens: maps ? this.mapsTokens() : [], maps, native: this.native };
  }

  /** Turns a raw scan into the session's view of the process (fdinfo of the hits, unreadable marks). */
  apply(raw: RawScan, listed: boolean): PidScan | null {
    const { pid, fds: f } = raw;
    this.processesScanned++;
    if (f.error !== null) {
      this.listFailed(pid, f.error, listed);
      this.scanned.set(pid, null);
      return null;
    }
    this.fdsScanned += f.scanned;
    const fds: FoundFd[] = [];
    for (const h of f.hits) {
      const key = `${this.devName(h.dev)}:${h.ino}`;
      if (this.interest.has(key)) fds.push(this.found(pid, h.fd, key));
    }
    if (f.denied !== null) this.markUnreadable(pid, 'permission', f.denied);
    const maps = new Map<string, ProbeMap[]>();
    if (typeof raw.maps === 'string') {
      if (raw.maps === 'EACCES' || raw.maps === 'EPERM') this.markUnreadable(pid, 'permission', raw.maps);
    } else if (raw.maps !== null) {
      for (const [key, lines] of raw.maps) maps.set(key, lines);
    }
    const r = f.denied !== null && fds.length === 0 ? null : { fds, maps };
    this.scanned.set(pid, r);
    return r;
  }

  /** Processes the scan worker found nothing of interest in (their fds all counted in `fds`). */
  applyEmpty(pids: number[], fds: number): void {
    this.processesScanned += pids.length;
    this.fdsScanned += fds;
    for (const pid of pids) this.scanned.set(pid, { fds: [], maps: new Map() });
  }

  /** pid, ppid, uid, user, command, argv (redacted), exe, startTime. Memoized per call. */
  process(pid: number): Promise<ProbeProcess> {
    let p = this.info.get(pid);
    if (p === undefined) {
      p = readProcess(pid, this.opts.redact);
      this.info.set(pid, p);
    }
    return p;
  }

  stats(fastPath: boolean): ProbeStats {
    this.endSlice();
    return {
      durationMs: performance.now() - this.t0,
      fastPath,
      processesScanned: this.processesScanned,
      fdsScanned: this.fdsScanned,
      longestSliceMs: this.longestSlice,
    };
  }
}

function splitCmdline(s: string): string[] {
  if (s.length === 0) return [];
  const parts = s.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * Reading another process's cmdline takes its mmap lock, which a process stuck in uninterruptible
 * sleep (state D, e.g. a page fault on a dead NFS server) can hold indefinitely: ps hangs there.
 * Such a process is read on the thread pool, where a hang costs a pool thread, not the event loop;
 * any other is read synchronously (a thread-pool round trip would triple the fast path's cost).
 */
async function readCmdline(pid: number, state: string | undefined): Promise<string[] | null> {
  if (state !== 'D') return cmdlineNow(pid);
  try {
    return splitCmdline((await readFile(`/proc/${pid}/cmdline`)).toString('utf8'));
  } catch {
    return null;
  }
}

/** argv read synchronously: never for a process in state D (see readCmdline). */
function cmdlineNow(pid: number): string[] | null {
  try {
    return splitCmdline(readProc(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return null;
  }
}

async function readProcess(pid: number, redact: boolean | Redactor): Promise<ProbeProcess> {
  let st: ReturnType<typeof parseStat> = null;
  let uid: number | null = null;
  let exe: string | null = null;
  try {
    st = parseStat(readProc(`/proc/${pid}/stat`));
  } catch {
    // exited or hidden
  }
  try {
    uid = parseStatusUid(readProc(`/proc/${pid}/status`));
  } catch {
    // idem
  }
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // other users' processes without privilege; kernel threads
  }
  const argv = await readCmdline(pid, st?.state);
  return {
    pid,
    ppid: st ? st.ppid : null,
    uid,
    user: userName(uid),
    command: st ? programName(st.command, exe, argv) : null,
    argv: argv === null ? null : applyRedaction(argv, redact),
    exe,
    startTime: st ? startTimeMs(st.startTicks) : null,
  };
}

function readLocksTable(): string {
  try {
    return readProc('/proc/locks');
  } catch (e) {
    const code = errCode(e);
    const reason = code === 'ENOENT' ? 'unsupported' : code === 'EACCES' ? 'permission' : 'io';
    const message = `${code}: cannot read /proc/locks (is /proc mounted?)`;
    throw probeErrors.fromErrno('open', errnoNumber(code) ?? 5, '/proc/locks', undefined, { reason, message, cause: e });
  }
}

function buildEntries(lines: LockLine[], pathOf: (l: LockLine) => string | null): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const byN = new Map<number, Entry>();
  for (const l of lines) {
    if (l.waiter) {
      const blocker = byN.get(l.n);
      if (blocker) blocker.waiterLines.push(l);
      continue;
    }
    const key = lineKey(l);
    let e = entries.get(key);
    if (e) {
      e.lock.count++;
    } else {
      e = {
        lock: {
          kernelClass: l.kernelClass,
          kind: KIND[l.kernelClass] ?? l.kernelClass.toLowerCase(),
          type: l.type,
          mode: modeOf(l.rawMode),
          range: { start: l.start, end: l.end },
          device: l.device,
          ino: l.ino,
          path: pathOf(l),
          pidColumn: l.pid,
          count: 1,
          holders: [],
          holdersComplete: false,
          waiters: [],
        },
        holders: new Map(),
        waiterLines: [],
      };
      entries.set(key, e);
    }
    byN.set(l.n, e);
  }
  return entries;
}

/** Credits the `lock:` lines seen in pid's fdinfo to the entries they match. */
function credit(entries: Map<string, Entry>, pid: number, scan: PidScan): void {
  for (const f of scan.fds) {
    for (const l of f.locks) {
      const e = entries.get(lineKey(l));
      if (!e) continue;
      let h = e.holders.get(pid);
      if (!h) {
        h = { fds: new Set(), confirmed: true };
        e.holders.set(pid, h);
      }
      h.confirmed = true;
      (h.fds ??= new Set()).add(f.fd);
    }
  }
}

function listPids(): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(n));
  }
  return out;
}

/**
 * Scans every process (fds, and maps when asked), in `order`. `visit` sees each readable process
 * and returns true to stop early. Returns true only when every process was visited.
 */
async function scanAll(
  s: Session,
  wantMaps: boolean,
  path: string | undefined,
  visit: (pid: number, scan: PidScan) => boolean,
  order?: (pids: number[]) => number[],
): Promise<boolean> {
  const pids = order ? order(listPids()) : listPids();
  // Two threads only for a whole scan (depth 'full'), never for the cheap route's early-stopping one.
  if (order === undefined && s.opts.depth === 'full' && useThreads(s.opts.threads, pids.length)) {
    const done = await scanAllParallel(s, wantMaps, path, pids, visit);
    if (done !== null) return done;
  }
  for (const pid of pids) {
    if (s.expired()) return false;
    const scan = await s.scanPid(pid, wantMaps, true);
    if (scan && visit(pid, scan)) return false;
    await s.slice(path);
  }
  return true;
}

/**
 * Where an unconfirmed holder most likely is: this process (lockscope holding its own lock), then
 * PIDs from the lowest dead flock PID upwards (children forked after the lock was taken get
 * higher PIDs), then the rest, newest first.
 */
function likelyFirst(entries: Map<string, Entry>): (pids: number[]) => number[] {
  return (pids) => {
    let from = Infinity;
    for (const e of entries.values()) if (e.holders.size === 0 && e.lock.pidColumn > 0) from = Math.min(from, e.lock.pidColumn);
    const self = process.pid;
    const up = pids.filter((p) => p >= from && p !== self).sort((a, b) => a - b);
    const rest = pids.filter((p) => p < from && p !== self).sort((a, b) => b - a);
    return [self, ...up, ...rest];
  };
}

/** Tasks of the openers blocked in fcntl(fd, F_OFD_SETLKW) on an fd of the file: OFD waiters. */
function ofdWaiters(s: Session, key: string): number[] {
  const nr = FCNTL_NR[process.arch];
  if (nr === undefined) return [];
  const pids: number[] = [];
  for (const [pid, scan] of s.scanned) {
    if (!scan) continue;
    const fds = new Set(scan.fds.filter((f) => f.key === key).map((f) => f.fd));
    if (fds.size === 0) continue;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const f = readProc(`/proc/${pid}/task/${tid}/syscall`).trim().split(' ');
        if (Number(f[0]) === nr && Number(f[2]) === F_OFD_SETLKW && fds.has(Number(f[1]))) pids.push(pid);
      } catch {
        // no ptrace access, or the task exited
      }
    }
  }
  return pids;
}

/** Shared by probe and listLocks: candidates first, a scan when needed, then process details. */
async function resolve(
  s: Session,
  entries: Map<string, Entry>,
  path: string | undefined,
): Promise<{ fastPath: boolean; complete: boolean }> {
  const { depth, maps } = s.opts;
  let scannedAll = false;
  let fastPath = false;
  const pending = (): boolean => [...entries.values()].some((e) => e.holders.size === 0 && e.lock.kernelClass !== 'POSIX');
  if (depth === 'full') {
    scannedAll = await scanAll(s, maps, path, (pid, scan) => (credit(entries, pid, scan), false));
  } else {
    // The cheap route: the PID column is a candidate; its own fdinfo confirms it.
    const candidates = new Set<number>();
    for (const e of entries.values()) if (e.lock.pidColumn > 0) candidates.add(e.lock.pidColumn);
    for (const pid of candidates) {
      if (s.expired()) break;
      const scan = await s.scanPid(pid, false, false);
      if (scan) credit(entries, pid, scan);
      await s.slice(path);
    }
    const unresolved = pending();
    if (unresolved && !s.expired()) {
      // Only until every lock has one confirmed holder: co-holders are depth 'full's job.
      scannedAll = await scanAll(s, false, path, (pid, scan) => (credit(entries, pid, scan), !pending()), likelyFirst(entries));
    } else {
      fastPath = !unresolved && !s.deadlineHit;
    }
  }

  const unresolvedKeys: string[] = [];
  for (const [k, e] of entries) {
    const pc = e.lock.pidColumn;
    if (e.lock.kernelClass === 'POSIX' && pc > 0 && e.holders.size === 0) {
      // A POSIX lock belongs to the process /proc/locks names: exact even when its fds are hidden.
      const scan = s.scanned.get(pc);
      if (scan || s.unreadable.has(pc) || existsSync(`/proc/${pc}`)) {
        const fds = scan ? new Set(scan.fds.filter((f) => f.key === `${e.lock.device}:${e.lock.ino}`).map((f) => f.fd)) : null;
        e.holders.set(pc, { fds, confirmed: true });
      }
    } else if (e.holders.size === 0 && pc > 0 && s.unreadable.get(pc)?.reason === 'permission') {
      // Alive but unreadable: most likely the holder, though it may have passed the lock on.
      e.holders.set(pc, { fds: null, confirmed: false });
    }
    if (e.holders.size === 0) unresolvedKeys.push(k);
    const exact = e.lock.kernelClass === 'POSIX' && e.holders.size > 0;
    e.lock.holdersComplete = exact || (scannedAll && s.unreadable.size === 0 && e.holders.size > 0);
  }
  let unresolvedLeft = false;
  if (unresolvedKeys.length > 0 && !s.deadlineHit) {
    // Locks released while we scanned have no holder left to find: drop those that are gone now.
    const now = new Set<string>();
    for (const l of parseLocks(readLocksTable())) if (!l.waiter) now.add(lineKey(l));
    for (const k of unresolvedKeys) {
      if (now.has(k)) unresolvedLeft = true;
      else entries.delete(k);
    }
  } else if (unresolvedKeys.length > 0) {
    unresolvedLeft = true;
  }
  const complete = !s.deadlineHit && s.unreadable.size === 0 && !unresolvedLeft && procHidepidOk(s);
  return { fastPath, complete };
}

function procHidepidOk(s: Session): boolean {
  return s.uid === 0 || procHidepid() === null;
}

async function finishLocks(s: Session, entries: Map<string, Entry>): Promise<ProbeLock[]> {
  const locks: ProbeLock[] = [];
  for (const e of entries.values()) {
    const holders: ProbeHolder[] = [];
    for (const [pid, h] of e.holders) {
      const p = await s.process(pid);
      holders.push({ ...p, fds: h.fds === null ? null : [...h.fds].sort((a, b) => a - b), confirmed: h.confirmed });
    }
    holders.sort((a, b) => a.pid - b.pid);
    e.lock.holders = holders;
    const key = `${e.lock.device}:${e.lock.ino}`;
    let ofd: number[] | null = null;
    const waiters: ProbeWaiter[] = [];
    for (const w of e.waiterLines) {
      let pid = w.pid;
      if (pid <= 0) {
        ofd ??= ofdWaiters(s, key);
        pid = ofd.shift() ?? -1;
      }
      const p: ProbeProcess =
        pid > 0
          ? await s.process(pid)
          : { pid: -1, ppid: null, uid: null, user: null, command: null, argv: null, exe: null, startTime: null };
      waiters.push({ ...p, mode: modeOf(w.rawMode), range: { start: w.start, end: w.end } });
    }
    e.lock.waiters = waiters;
    locks.push(e.lock);
  }
  return locks;
}

function incompleteReasons(s: Session, complete: boolean, unresolved: boolean): IncompleteReason[] {
  if (complete) return [];
  const r: IncompleteReason[] = [];
  if (s.unreadable.size > 0) r.push('unreadable');
  if (s.deadlineHit) r.push('deadline');
  if (!procHidepidOk(s)) r.push('hidepid');
  if (unresolved) r.push('unresolved');
  return r;
}

/** The fields probe and listLocks results share. */
function outcome(s: Session, locks: ProbeLock[], complete: boolean, fastPath: boolean): ListLocksResult {
  // An OFD waiter no task could be matched to (PID -1, as /proc/locks prints it) is a process not named.
  const unresolved = locks.some((l) => l.holders.length === 0 || l.waiters.some((w) => w.pid <= 0));
  complete &&= !unresolved;
  return {
    depth: s.opts.depth,
    locks,
    complete,
    incomplete: incompleteReasons(s, complete, unresolved),
    unreadable: [...s.unreadable.values()].sort((a, b) => a.pid - b.pid),
    uid: s.uid,
    platform: process.platform,
    stats: s.stats(fastPath),
  };
}

async function probeLinux(t: LinuxTarget, opts: ProbeEngineOptions): Promise<ProbeResult> {
  const device = procDev(t.dev);
  const key = `${device}:${t.ino}`;
  const s = new Session(opts, new Set([key]), new Set([t.ino]), t.path);
  s.checkAbort(t.path);
  const lines = parseLocks(readLocksTable(), ` ${key} `);
  const entries = buildEntries(lines, () => t.path);
  const { fastPath, complete } = await resolve(s, entries, t.path);
  const locks = await finishLocks(s, entries);

  let openers: ProbeOpener[] | null = null;
  if (opts.depth === 'full') {
    openers = [];
    for (const [pid, scan] of s.scanned) {
      if (!scan) continue;
      const fds = scan.fds
        .filter((f) => f.key === key)
        .map((f) => ({ fd: f.fd, access: accessOf(f.accmode) }))
        .sort((a, b) => a.fd - b.fd);
      const maps = scan.maps.get(key) ?? [];
      if (fds.length === 0 && maps.length === 0) continue;
      openers.push({ ...(await s.process(pid)), fds, maps });
    }
    openers.sort((a, b) => a.pid - b.pid);
  }
  return {
    path: t.path,
    dev: t.dev,
    ino: t.ino,
    device,
    openers,
    ...outcome(s, locks, complete, fastPath),
  };
}

async function listLocksLinux(opts: ProbeEngineOptions): Promise<ListLocksResult> {
  const lines = parseLocks(readLocksTable());
  const interest = new Set<string>();
  const inos = new Set<number>();
  for (const l of lines) {
    interest.add(`${l.device}:${l.ino}`);
    inos.add(l.ino);
  }
  const s = new Session({ ...opts, maps: false }, interest, inos);
  s.checkAbort(undefined);
  const entries = buildEntries(lines, () => null);
  const { fastPath, complete } = await resolve(s, entries, undefined);
  // A path for each lock: readlink of an fd some reader has on that inode.
  const pathByKey = new Map<string, string>();
  for (const [pid, scan] of s.scanned) {
    if (!scan) continue;
    for (const f of scan.fds) {
      if (pathByKey.has(f.key)) continue;
      try {
        pathByKey.set(f.key, readlinkSync(`/proc/${pid}/fd/${f.fd}`));
      } catch {
        // closed meanwhile
      }
    }
  }
  for (const e of entries.values()) e.lock.path = pathByKey.get(`${e.lock.device}:${e.lock.ino}`) ?? null;
  const locks = await finishLocks(s, entries);
  return outcome(s, locks, complete, fastPath);
}

/** The Linux probe: /proc/locks for lock owners, /proc/PID/fd and maps for who has the file. */
export const linuxProbe: ProbeBackend = {
  name: 'linux',
  namesLockHolders: true,
  async probe(t, opts) {
    const id = t.dev !== null && t.ino !== null ? { dev: t.dev, ino: t.ino } : await statTarget(t.api, t.path);
    return probeLinux({ path: t.path, ...id }, opts);
  },
  listLocks: listLocksLinux,
};
