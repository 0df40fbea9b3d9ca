/** Public shapes of the probe. Platform-neutral: the Linux probe fills all of it; other platforms less. */

/**
 * How deep the probe looks.
 * - `'holders'`: the cheap route. Lock holders only: each lock's PID column is confirmed through
 *   that process's fdinfo; all processes are scanned only when a lock cannot be confirmed that way
 *   (OFD locks, flock locks whose PID is dead or reused). Other processes sharing a confirmed
 *   flock/OFD description are not searched (`ProbeLock.holdersComplete: false`).
 * - `'full'` (default for `probe`): every process is scanned: all holders including every process
 *   sharing a flock/OFD description, every opener with its fds and (unless `maps: false`) maps.
 */
export type { ProbeDepth } from '../vocabulary.js';
import type { LockMode, ProbeDepth } from '../vocabulary.js';

/** Replaces secrets in a process's argv. Gets a copy; returns the argv to report. */
export type Redactor = (argv: string[]) => string[];

export interface ProbeOptions {
  /** Default `'full'` for probe(), `'holders'` for listLocks(). */
  depth?: ProbeDepth;
  /** Read /proc/PID/maps to find memory maps of the file (depth 'full' only). Default true. */
  maps?: boolean;
  /**
   * Time budget in ms. When it runs out the probe returns what it found with `complete: false`
   * and `incomplete` containing `'deadline'`. Default: none.
   */
  timeout?: number;
  /** Aborts the probe: it rejects with a ProbeError (reason 'aborted'). */
  signal?: AbortSignal;
  /** `true` (default): built-in redactor; `false`: argv as is; a function: your redactor. */
  redact?: boolean | Redactor;
  /**
   * Longest stretch (ms) of synchronous /proc reading before the probe yields to the event loop.
   * Default 4. Lower keeps the loop smoother, costs a little more in total.
   */
  sliceMs?: number;
  /**
   * Threads of a depth-`'full'` scan of every process (Linux). `'auto'` (default): two (this one
   * and a worker thread, kept warm a few seconds for the next probe) when the machine has more
   * than one core and more than 200 processes to scan; `1`: this thread only; `2`: always two.
   * The answer is the same either way; depth `'holders'` always uses one.
   */
  threads?: 1 | 2 | 'auto';
}

/** A process as the probe saw it. Fields it could not read are null. */
export interface ProbeProcess {
  pid: number;
  ppid: number | null;
  /** Effective uid. */
  uid: number | null;
  /** From /etc/passwd; null when the uid is not there (e.g. users from LDAP). */
  user: string | null;
  /** The program's name: comm (at most 15 bytes) unless that is a thread name, then exe's base name (docs/probe.md). */
  command: string | null;
  /** argv, redacted unless `redact: false`. Null when unreadable; [] for kernel threads. */
  argv: string[] | null;
  /** Executable path (null when not readable: other users' processes unless root). */
  exe: string | null;
  /**
   * Start time, ms since the epoch (boot time + clock ticks). Stable across calls, so pid plus
   * startTime identifies a process across PID reuse.
   */
  startTime: number | null;
}

export type ProbeLockMode = LockMode | 'unlock';

export interface ProbeRange {
  start: number;
  /** Inclusive last byte; null = to end of file (however it grows). */
  end: number | null;
}

/** A process holding a lock. */
export interface ProbeHolder extends ProbeProcess {
  /** fds of this process through which it holds the lock; null when they could not be read. */
  fds: number[] | null;
  /**
   * true when the lock was seen in this process's own /proc/PID/fdinfo, or is a POSIX lock (which
   * belongs to the PID /proc/locks names). false: taken from the /proc/locks PID column because the
   * process could not be read; it may have handed the lock to a process we cannot see.
   */
  confirmed: boolean;
}

/** A process blocked waiting for a lock. */
export interface ProbeWaiter extends ProbeProcess {
  mode: ProbeLockMode;
  range: ProbeRange;
}

export interface ProbeLock {
  /** The kernel's class as /proc/locks prints it: FLOCK, POSIX, OFDLCK, LEASE, DELEG, ACCESS. */
  kernelClass: string;
  /** 'flock' | 'posix' | 'ofd' (same names as the lock API), 'lease', or the class lower-cased. */
  kind: string;
  /** ADVISORY, MANDATORY (old kernels), or a lease state (ACTIVE, BREAKING, BREAKER). */
  type: string;
  mode: ProbeLockMode;
  range: ProbeRange;
  /** Device as /proc/locks prints it (hex major:minor of the superblock), e.g. `fe:00`. */
  device: string;
  ino: number;
  /** A path of the file (listLocks; for probe the path probed). Null when no reader could tell. */
  path: string | null;
  /** The /proc/locks PID column: a candidate, not an answer (-1 for OFD, may be dead for flock). */
  pidColumn: number;
  /** Identical kernel lock records merged into this entry (e.g. two OFD read locks). */
  count: number;
  holders: ProbeHolder[];
  /** false when other holders may exist unseen (depth 'holders' for flock/OFD, unreadable processes). */
  holdersComplete: boolean;
  waiters: ProbeWaiter[];
}

export type ProbeAccess = 'r' | 'w' | 'rw';

export interface ProbeOpenFd {
  fd: number;
  access: ProbeAccess | null;
}

export interface ProbeMap {
  /** Address range, hex as in /proc/PID/maps. */
  start: string;
  end: string;
  perms: string;
  offset: number;
}

/** A process that has the file open (fds) or mapped (maps). */
export interface ProbeOpener extends ProbeProcess {
  fds: ProbeOpenFd[];
  maps: ProbeMap[];
}

export type UnreadableReason = 'permission' | 'exited' | 'hidden';

/** A process the probe could not inspect: it may hold or have the file open unseen. */
export interface ProbeUnreadable {
  pid: number;
  reason: UnreadableReason;
  /** errno code behind the reason (EACCES, ENOENT, EPERM...). */
  code: string;
  /** What could still be read (cmdline and status stay readable for other users). */
  command: string | null;
  uid: number | null;
  user: string | null;
}

/** Why a result is not complete. */
export type IncompleteReason =
  | 'unreadable' // some processes could not be inspected (see `unreadable`)
  | 'deadline' // the timeout cut the scan short
  | 'hidepid' // /proc is mounted with hidepid: other users' processes are invisible
  | 'unresolved' // a lock's holder could not be found (e.g. it sits in an unreadable process)
  | 'no-lock-owner-api'; // Windows and macOS: no OS interface names the owner of a lock

export interface ProbeStats {
  durationMs: number;
  /** true when the answer came from /proc/locks plus the candidates' fdinfo, without a scan. */
  fastPath: boolean;
  processesScanned: number;
  fdsScanned: number;
  /** Longest synchronous stretch between yields to the event loop (ms). */
  longestSliceMs: number;
}

/** What probe() and listLocks() results share. */
export interface ListLocksResult {
  depth: ProbeDepth;
  locks: ProbeLock[];
  complete: boolean;
  incomplete: IncompleteReason[];
  unreadable: ProbeUnreadable[];
  /** The uid the probe ran as: root sees everything but what namespaces hide. */
  uid: number;
  platform: NodeJS.Platform;
  stats: ProbeStats;
}

export interface ProbeResult extends ListLocksResult {
  /** Absolute path probed. */
  path: string;
  /** stat().dev and stat().ino of the path. */
  dev: number;
  ino: number;
  /** Device as /proc/locks prints it (hex major:minor). */
  device: string;
  /** Every process with the file open or mapped; null for depth 'holders'. */
  openers: ProbeOpener[] | null;
}
