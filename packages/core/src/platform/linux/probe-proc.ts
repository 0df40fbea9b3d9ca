/**
 * Linux /proc readers and parsers for the probe. Plain fs calls, no FFI. Synchronous on purpose:
 * /proc reads never touch a disk, and one sync read costs a few µs where an async one costs a
 * thread-pool round trip (3-4x slower in a full scan here). The engine slices them (probe.ts).
 */
import { closeSync, openSync, readSync, readFileSync, statSync } from 'node:fs';
import { workerFdSlot } from './probe-worker-fd.js';

let buf = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads a whole /proc file into a shared buffer (read() until 0: a seq_file hands out at most a
 * buffer per read). The returned view is valid until the next call.
 */
export function readProcBuffer(path: string): Buffer {
  const slot = workerFdSlot;
  const fd = openSync(path, 'r');
  if (slot !== null) slot[0] = fd;
  try {
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
    }
    return buf.subarray(0, total);
  } finally {
    closeSync(fd);
    if (slot !== null) slot[0] = -1;
  }
}

/** Reads a whole /proc file as a string. */
export function readProc(path: string, encoding: BufferEncoding = 'latin1'): string {
  return readProcBuffer(path).toString(encoding);
}

/** Errno code of a Node fs error ('EACCES', 'ENOENT', ...), 'EIO' when it has none. */
export function errCode(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : 'EIO';
}

// ---------------------------------------------------------------------------------------------
// Devices. /proc/locks and /proc/PID/maps print the superblock's dev as `%02x:%02x` (major, minor
// in hex, may be longer); stat() returns glibc's dev_t encoding of the same number.

/** stat().dev -> [major, minor] (glibc gnu_dev_major/minor, large minors included). */
export function devParts(dev: number | bigint): [number, number] {
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n));
  const minor = Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n));
  return [major, minor];
}

/** [major, minor] -> stat().dev number. */
export function makeDev(major: number, minor: number): number {
  const M = BigInt(major);
  const m = BigInt(minor);
  return Number((m & 0xffn) | ((M & 0xfffn) << 8n) | ((m & 0xffffff00n) << 12n) | ((M & 0xfffff000n) << 32n));
}

/** stat().dev -> the /proc/locks spelling, e.g. 65024 -> 'fe:00'. */
export function procDev(dev: number | bigint): string {
  const [M, m] = devParts(dev);
  return `${M.toString(16).padStart(2, '0')}:${m.toString(16).padStart(2, '0')}`;
}

/** 'fe:00' -> stat().dev number. */
export function devFromProc(s: string): number {
  const i = s.indexOf(':');
  return makeDev(parseInt(s.slice(0, i), 16), parseInt(s.slice(i + 1), 16));
}

// ---------------------------------------------------------------------------------------------
// /proc/locks

export interface LockLine {
  /** Position N in this read; waiters repeat their blocker's N. */
  n: number;
  waiter: boolean;
  kernelClass: string;
  type: string;
  /** READ, WRITE, UNLCK */
  rawMode: string;
  pid: number;
  device: string;
  ino: number;
  start: number;
  end: number | null;
}

/**
 * Parses /proc/locks lines: `1: POSIX  ADVISORY  WRITE 3969 fe:00:2146471 10 29` and waiters
 * `1: -> FLOCK  ADVISORY  WRITE 12237 fe:00:2146934 0 EOF`. When `token` is given only lines
 * containing it (` fe:00:2146471 `) are parsed: the probe's way to skip a big table cheaply.
 */
export function parseLocks(text: string, token?: string): LockLine[] {
  const out: LockLine[] = [];
  if (token !== undefined) {
    let at = text.indexOf(token);
    while (at !== -1) {
      const s = text.lastIndexOf('\n', at) + 1;
      let e = text.indexOf('\n', at);
      if (e === -1) e = text.length;
      const l = parseLockLine(text.slice(s, e));
      if (l) out.push(l);
      at = text.indexOf(token, e);
    }
    return out;
  }
  let s = 0;
  while (s < text.length) {
    let e = text.indexOf('\n', s);
    if (e === -1) e = text.length;
    const l = parseLockLine(text.slice(s, e));
    if (l) out.push(l);
    s = e + 1;
  }
  return out;
}

export function parseLockLine(line: string): LockLine | null {
  const f = line.trim().split(/\s+/);
  if (f.length < 8) return null;
  let i = 0;
  const n = parseInt(f[i++]!, 10);
  let waiter = false;
  if (f[i] === '->') {
    waiter = true;
    i++;
  }
  // Kernels before 4.x printed `FLOCK  ADVISORY  WRITE pid maj:min:ino`; always dev:ino triple.
  const kernelClass = f[i++]!;
  const type = f[i++]!;
  const rawMode = f[i++]!;
  const pid = parseInt(f[i++]!, 10);
  const id = f[i++]!;
  const startS = f[i++];
  const endS = f[i];
  const c2 = id.lastIndexOf(':');
  if (c2 < 0 || startS === undefined || endS === undefined || Number.isNaN(n) || Number.isNaN(pid)) return null;
  return {
    n,
    waiter,
    kernelClass,
    type,
    rawMode,
    pid,
    device: id.slice(0, c2),
    ino: Number(id.slice(c2 + 1)),
    start: Number(startS),
    end: endS === 'EOF' ? null : Number(endS),
  };
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/maps: `start-end perms offset maj:min inode   path`, device spelled as in /proc/locks
// (`%02x:%02x` of the superblock's dev, kernel show_vma_header_prefix), inode in decimal, always
// followed by a space (padding before the path, or before the newline of an anonymous map).

export interface MapsLine {
  start: string;
  end: string;
  perms: string;
  offset: number;
}

/** The search token for one (device, inode): ` fe:00 2146471 `. */
export function mapsToken(device: string, ino: number): Buffer {
  return Buffer.from(` ${device} ${ino} `, 'latin1');
}

const SP = 0x20;
const NL = 0x0a;

/**
 * The maps lines of `text` whose device and inode fields are exactly the token's. A byte search
 * (memmem) instead of a parse: most processes have no match and cost one scan of their text.
 * A hit counts only where the token's leading space is the line's third space (after the range,
 * the perms and the offset), so a path containing the token, or a longer device or inode that
 * ends with it, does not match.
 */
export function findMaps(text: Buffer, token: Buffer): MapsLine[] {
  const out: MapsLine[] = [];
  let at = text.indexOf(token);
  while (at !== -1) {
    const ls = text.lastIndexOf(NL, at) + 1;
    const sp1 = text.indexOf(SP, ls);
    const sp2 = sp1 === -1 ? -1 : text.indexOf(SP, sp1 + 1);
    const sp3 = sp2 === -1 ? -1 : text.indexOf(SP, sp2 + 1);
    if (sp3 === at) {
      const dash = text.indexOf(0x2d, ls);
      out.push({
        start: text.toString('latin1', ls, dash),
        end: text.toString('latin1', dash + 1, sp1),
        perms: text.toString('latin1', sp1 + 1, sp2),
        offset: parseInt(text.toString('latin1', sp2 + 1, sp3), 16),
      });
    }
    // Next line: one map per line, and a token never spans lines.
    const e = text.indexOf(NL, at);
    if (e === -1) break;
    at = text.indexOf(token, e);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/fdinfo/FD

export interface FdInfo {
  /** flags & 3: 0 read, 1 write, 2 read/write. */
  accmode: number;
  /** `lock:` lines, parsed like /proc/locks lines (their N is local to the fd). */
  locks: LockLine[];
}

export function parseFdinfo(text: string): FdInfo {
  let accmode = -1;
  const locks: LockLine[] = [];
  let s = 0;
  while (s < text.length) {
    let e = text.indexOf('\n', s);
    if (e === -1) e = text.length;
    if (text.startsWith('flags:', s)) {
      accmode = parseInt(text.slice(s + 6, e).trim(), 8) & 3;
    } else if (text.startsWith('lock:', s)) {
      const l = parseLockLine(text.slice(s + 5, e));
      if (l) locks.push(l);
    }
    s = e + 1;
  }
  return { accmode, locks };
}

export function accessOf(accmode: number): 'r' | 'w' | 'rw' | null {
  return accmode === 0 ? 'r' : accmode === 1 ? 'w' : accmode === 2 ? 'rw' : null;
}

// ---------------------------------------------------------------------------------------------
// Process identity

export interface StatInfo {
  command: string;
  ppid: number;
  /** task flags (field 9): PF_KTHREAD = 0x00200000. */
  flags: number;
  startTicks: number;
  state: string;
}

export const PF_KTHREAD = 0x00200000;

/**
 * Whether `pid` is a zombie (state Z; X while being reaped): it has exited and closed every fd, so
 * it holds and opens nothing, though its /proc entry stays (fds unreadable to other users) until
 * its parent reaps it.
 */
export function isZombie(pid: number): boolean {
  try {
    const state = parseStat(readProc(`/proc/${pid}/stat`))?.state;
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/** /proc/PID/stat: `pid (comm) S ppid ...`; comm may contain spaces and parentheses. */
export function parseStat(text: string): StatInfo | null {
  const o = text.indexOf('(');
  const c = text.lastIndexOf(')');
  if (o < 0 || c < o) return null;
  const f = text.slice(c + 2).split(' ');
  // f[0] = field 3 (state), so field k is f[k - 3].
  return {
    command: text.slice(o + 1, c),
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    flags: Number(f[6]),
    startTicks: Number(f[19]),
  };
}

/**
 * The program's name (docs/probe.md, "command"). comm is what exec set, the base name of the
 * executed path cut to 15 bytes, until the program renames its main thread (prctl PR_SET_NAME):
 * Node 24 calls it "MainThread", Node 26 "node-MainThread", and any program can. comm still
 * reads as exec's name when it is the base name of exe, of argv[0] or of argv[1] (a script its
 * interpreter runs); otherwise it is a thread name, and exe, which the program cannot change,
 * names the program. Without exe (another user's process) argv is all that is left and programs
 * rewrite it (postgres: "postgres: checkpointer"), so comm is kept unless it is a known runtime
 * thread name; then argv[0] names the program, or nothing does (null).
 */
export function programName(comm: string, exe: string | null, argv: readonly string[] | null): string | null {
  const exeName = exe === null ? null : baseName(exe.endsWith(DELETED) ? exe.slice(0, -DELETED.length) : exe);
  const candidates = [exeName, argv?.[0], argv?.[1]];
  for (const c of candidates) if (c && commOf(baseName(c)) === comm) return comm;
  if (exeName) return exeName;
  if (!RUNTIME_THREAD_NAMES.has(comm)) return comm;
  return (argv?.[0] && baseName(argv[0])) || null;
}

/** Main-thread names runtimes give themselves (Node 24, Node 26). */
export const RUNTIME_THREAD_NAMES: ReadonlySet<string> = new Set(['MainThread', 'node-MainThread']);
/** readlink of /proc/PID/exe after the file was replaced or removed. */
const DELETED = ' (deleted)';
/** TASK_COMM_LEN - 1: the kernel keeps 15 bytes of a name. */
const COMM_BYTES = 15;

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** A name as comm spells it: its first 15 bytes, as /proc/PID/stat (read as latin1) shows them. */
function commOf(name: string): string {
  return Buffer.from(name, 'utf8').toString('latin1').slice(0, COMM_BYTES);
}

/** Effective uid from /proc/PID/status (`Uid: real effective saved fs`). */
export function parseStatusUid(text: string): number | null {
  const i = text.indexOf('\nUid:');
  if (i < 0) return null;
  const e = text.indexOf('\n', i + 1);
  const f = text
    .slice(i + 5, e < 0 ? undefined : e)
    .trim()
    .split(/\s+/);
  const v = Number(f[1] ?? f[0]);
  return Number.isFinite(v) ? v : null;
}

/** USER_HZ: 100 on every architecture Node runs on (x86, arm, arm64, ppc, s390, riscv, loong). */
export const CLK_TCK = 100;

let btimeMs: number | null = null;

/** Boot time (ms since epoch) from /proc/stat `btime`; constant for the boot, so read once. */
export function bootTimeMs(): number | null {
  if (btimeMs !== null) return btimeMs;
  try {
    const m = /^btime (\d+)$/m.exec(readProc('/proc/stat'));
    if (m) btimeMs = Number(m[1]) * 1000;
  } catch {
    // leave null: startTime will be null rather than wrong
  }
  return btimeMs;
}

export function startTimeMs(ticks: number): number | null {
  const b = bootTimeMs();
  if (b === null || !Number.isFinite(ticks)) return null;
  return b + Math.round((ticks * 1000) / CLK_TCK);
}

// ---------------------------------------------------------------------------------------------
// Users: /etc/passwd, re-read when it changes. NSS sources (LDAP, sssd) are not consulted: asking
// them could block on the network inside a production process.

let passwd: { mtimeMs: number; byUid: Map<number, string> } | null = null;

export function userName(uid: number | null): string | null {
  if (uid === null) return null;
  try {
    const st = statSync('/etc/passwd');
    if (passwd === null || passwd.mtimeMs !== st.mtimeMs) {
      const byUid = new Map<number, string>();
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length >= 3 && f[0]) {
          const u = Number(f[2]);
          if (!byUid.has(u)) byUid.set(u, f[0]);
        }
      }
      passwd = { mtimeMs: st.mtimeMs, byUid };
    }
  } catch {
    return null;
  }
  return passwd.byUid.get(uid) ?? null;
}

// ---------------------------------------------------------------------------------------------
// hidepid: with it, other users' processes are missing from /proc (invisible) or unreadable.

let hidepidCache: { value: string | null; at: number } | null = null;

/** The hidepid mount option of this process's /proc ('invisible', '2', ...), null when off. */
export function procHidepid(): string | null {
  const now = Date.now();
  if (hidepidCache && now - hidepidCache.at < 10_000) return hidepidCache.value;
  let value: string | null = null;
  try {
    for (const line of readProc('/proc/self/mountinfo').split('\n')) {
      const f = line.split(' ');
      if (f[4] !== '/proc') continue;
      const dash = f.indexOf('-');
      if (dash < 0 || f[dash + 1] !== 'proc') continue;
      const m = /(?:^|,)hidepid=([^,]+)/.exec(f[dash + 3] ?? '');
      value = m && m[1] !== '0' && m[1] !== 'off' ? m[1]! : null;
    }
  } catch {
    value = null;
  }
  hidepidCache = { value, at: now };
  return value;
}
