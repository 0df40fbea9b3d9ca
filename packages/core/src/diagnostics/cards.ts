import fs from 'node:fs';
import { join } from 'node:path';
import { liveConfig } from '../config.js';
import type { RecordHolderCard, RecordLockKind, RecordLockMode } from '../record/index.js';

/**
 * Holder cards: a lockscope process that holds a lock for a while leaves a small file that says
 * where it acquired the lock, since when, and its label. A waiter in another process reads it
 * without asking the holder. File name `<dev>-<ino>-<pid>-<starttime>-<seq>.card`: the pid and
 * its start time (field 22 of /proc/PID/stat) let a reader drop cards of dead or reused PIDs by
 * name alone. Content: label, acquiredAt, stack (file paths and line numbers), kind, mode. Never
 * the environment, argv or the lock's data.
 *
 * Default directory `/tmp/lockscope-<uid>` rather than $XDG_RUNTIME_DIR: XDG_RUNTIME_DIR differs
 * between a login shell, a cron job and a service of the same user, and a waiter must find the
 * holder's card without knowing the holder's environment. The directory must be ours, a real
 * directory and mode 0700, or cards are off (a squatted /tmp path is never used).
 */

const SUFFIX = '.card';
const MAX_CARD_BYTES = 16 * 1024;

export interface CardInput {
  dev: number;
  ino: number;
  kind: RecordLockKind;
  mode: RecordLockMode;
  label: string | null;
  acquiredAt: number;
  stack: string | null;
}

export function defaultCardDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return `/tmp/lockscope-${uid}`;
}

export function cardDir(): string {
  return liveConfig().cardDir ?? defaultCardDir();
}

let checkedDir: string | null = null;
let checkedOk = false;
let seq = 0;
const own = new Set<string>();
let exitHook = false;

/** Start time of a process in clock ticks since boot (/proc/PID/stat field 22), or null. */
export function processStartTicks(pid: number): string | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm (field 2) may contain spaces and ')': fields after the last ')' start at field 3.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const v = rest[19];
    return v !== undefined && /^\d+$/.test(v) ? v : null;
  } catch {
    return null;
  }
}

let selfTicks: string | null | undefined;
function ownTicks(): string | null {
  if (selfTicks === undefined) selfTicks = processStartTicks(process.pid);
  return selfTicks;
}

/** Creates (0700) and checks the card directory once per configured path. */
export function ensureCardDir(): string | null {
  const dir = cardDir();
  if (checkedDir === dir) return checkedOk ? dir : null;
  checkedDir = dir;
  checkedOk = false;
  if (process.platform !== 'linux') return null;
  try {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return null;
    }
    const st = fs.lstatSync(dir);
    const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return null;
    checkedOk = true;
    sweepStale(dir);
    return dir;
  } catch {
    return null;
  }
}

interface ParsedName {
  dev: string;
  ino: string;
  pid: number;
  ticks: string;
}

function parseName(name: string): ParsedName | null {
  if (!name.endsWith(SUFFIX)) return null;
  const parts = name.slice(0, -SUFFIX.length).split('-');
  if (parts.length !== 5 || !parts.every((p) => /^\d+$/.test(p))) return null;
  return { dev: parts[0]!, ino: parts[1]!, pid: Number(parts[2]), ticks: parts[3]! };
}

function live(p: ParsedName, cache: Map<number, string | null>): boolean {
  let t = cache.get(p.pid);
  if (t === undefined) {
    t = processStartTicks(p.pid);
    cache.set(p.pid, t);
  }
  return t !== null && t === p.ticks;
}

function unlinkQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone, or not ours to remove
  }
}

/** Removes cards whose process is gone or whose PID now belongs to another process. */
export function sweepStale(dir: string = cardDir()): number {
  let removed = 0;
  const cache = new Map<number, string | null>();
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = parseName(n);
    if (p && !live(p, cache)) {
      unlinkQuiet(join(dir, n));
      removed++;
    }
  }
  return removed;
}

/** Writes this process's card for a held lock; returns the file to pass to removeCard, or null. */
export function writeCard(c: CardInput): string | null {
  const dir = ensureCardDir();
  const ticks = ownTicks();
  if (dir === null || ticks === null) return null;
  const file = join(dir, `${c.dev}-${c.ino}-${process.pid}-${ticks}-${++seq}${SUFFIX}`);
  const body = JSON.stringify({
    v: 1,
    pid: process.pid,
    startTicks: ticks,
    acquiredAt: c.acquiredAt,
    kind: c.kind,
    mode: c.mode,
    label: c.label,
    stack: c.stack,
  });
  try {
    // 'wx' = O_CREAT|O_EXCL: never follows a planted symlink, never overwrites.
    fs.writeFileSync(file, body, { mode: 0o600, flag: 'wx' });
  } catch {
    return null;
  }
  own.add(file);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', removeOwnCards);
  }
  return file;
}

export function removeCard(file: string | null): void {
  if (file === null) return;
  own.delete(file);
  unlinkQuiet(file);
}

function removeOwnCards(): void {
  for (const f of own) unlinkQuiet(f);
  own.clear();
}

/**
 * Cards of live lockscope holders of (dev, ino), by pid. Cards of dead or reused PIDs are
 * ignored and removed. Only this user's directory is read.
 */
export function readCards(dev: number, ino: number, pids?: ReadonlySet<number>): Map<number, RecordHolderCard> {
  const out = new Map<number, RecordHolderCard>();
  const dir = ensureCardDir();
  if (dir === null) return out;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out;
  }
  const prefix = `${dev}-${ino}-`;
  const cache = new Map<number, string | null>();
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const p = parseName(n);
    if (p === null) continue;
    if (!live(p, cache)) {
      unlinkQuiet(join(dir, n));
      continue;
    }
    if (pids && !pids.has(p.pid)) continue;
    const card = readOne(join(dir, n), p);
    if (card === null) continue;
    const prev = out.get(p.pid);
    if (prev === undefined || card.acquiredAt < prev.acquiredAt) out.set(p.pid, card);
  }
  return out;
}

/** Opens a card without following a symlink and without ever blocking (a FIFO would wait for a writer). */
const CARD_OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW;

function readOne(file: string, p: ParsedName): RecordHolderCard | null {
  let fd = -1;
  try {
    fd = fs.openSync(file, CARD_OPEN_FLAGS);
    // fstat of what was opened: no window between the check and the read.
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > MAX_CARD_BYTES) return null;
    const j = JSON.parse(fs.readFileSync(fd, 'utf8')) as Record<string, unknown>;
    if (j.v !== 1 || j.pid !== p.pid || j.startTicks !== p.ticks || typeof j.acquiredAt !== 'number') return null;
    return {
      label: typeof j.label === 'string' ? j.label : null,
      acquiredAt: j.acquiredAt,
      stack: typeof j.stack === 'string' ? j.stack : null,
    };
  } catch {
    return null; // being written or removed right now
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}
