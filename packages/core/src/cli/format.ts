/** Human output of the `lockscope` command: lslocks-style tables, a footer about what was not visible. */
import type { ListLocksResult, ProbeLock, ProbeOpener, ProbeProcess, ProbeResult, ProbeUnreadable } from '../probe/types.js';
import { jsonRows, renderTable, selectColumns, type Column, type TableOptions } from './columns.js';
import { commandLine } from './quote.js';

/** One line of a lock table: a holder or a waiter of one lock. */
export interface LockRow {
  role: 'holder' | 'holder?' | 'waiter';
  lock: ProbeLock;
  proc: ProbeProcess | null;
  fds: string;
  mode: ProbeLock['mode'];
  /** Waiters: the pids holding the lock they wait for. */
  blocker: string | null;
}

/** The words lslocks and /proc/locks use; JSON (`--json` without -o) keeps the lock API's `exclusive`/`shared`. */
export const MODE_WORD = { exclusive: 'WRITE', shared: 'READ', unlock: 'UNLCK' } as const;

function who(p: ProbeProcess): string {
  return p.user ?? (p.uid === null ? '?' : String(p.uid));
}

function cmd(p: ProbeProcess | null): string {
  return p ? (commandLine(p.argv, p.command) ?? '?') : '(not found)';
}

function started(p: ProbeProcess | null): string {
  return !p || p.startTime === null ? '?' : new Date(p.startTime).toISOString().replace('.000Z', 'Z');
}

/** /proc/locks prints the device in hex (fe:00); lslocks's MAJ:MIN is decimal (254:0). */
function majMin(device: string): string {
  const [a, b] = device.split(':');
  return `${parseInt(a ?? '0', 16)}:${parseInt(b ?? '0', 16)}`;
}

export const LOCK_COLUMNS: readonly Column<LockRow>[] = [
  { name: 'ROLE', help: 'holder, holder? (unconfirmed: process not readable) or waiter', get: (r) => r.role },
  { name: 'COMMAND', help: 'command line of the process (arguments quoted as in a shell)', get: (r) => cmd(r.proc), trunc: true },
  { name: 'PID', help: 'PID of the process', get: (r) => (r.proc && r.proc.pid > 0 ? r.proc.pid : null), right: true },
  { name: 'TYPE', help: 'kind of lock (FLOCK, POSIX, OFDLCK, LEASE)', get: (r) => r.lock.kernelClass },
  {
    name: 'SIZE',
    help: 'bytes locked (empty: to end of file)',
    get: (r) => (r.lock.range.end === null ? null : r.lock.range.end - r.lock.range.start + 1),
    right: true,
  },
  { name: 'INODE', help: 'inode number', get: (r) => r.lock.ino, right: true },
  { name: 'MAJ:MIN', help: 'major:minor device number', get: (r) => majMin(r.lock.device) },
  { name: 'MODE', help: 'lock access mode: WRITE, READ (waiters: the mode asked for)', get: (r) => MODE_WORD[r.mode] },
  {
    name: 'M',
    help: 'mandatory state of the lock: 0 (none), 1 (set)',
    get: (r) => (r.lock.type === 'MANDATORY' ? 1 : 0),
    json: (r) => r.lock.type === 'MANDATORY',
  },
  { name: 'START', help: 'relative byte offset of the lock', get: (r) => r.lock.range.start, right: true },
  {
    name: 'END',
    help: 'ending offset of the lock (EOF: to end of file)',
    get: (r) => r.lock.range.end ?? 'EOF',
    json: (r) => r.lock.range.end,
    right: true,
  },
  {
    name: 'PATH',
    help: 'path of the locked file',
    get: (r) => r.lock.path ?? `(unknown: dev ${r.lock.device} inode ${r.lock.ino})`,
    trunc: true,
  },
  { name: 'BLOCKER', help: 'waiters: PID(s) holding the lock', get: (r) => r.blocker },
  { name: 'USER', help: 'user of the process', get: (r) => (r.proc ? who(r.proc) : '?') },
  { name: 'STARTED', help: 'process start time', get: (r) => started(r.proc) },
  { name: 'FD', help: 'file descriptors through which the lock is held', get: (r) => r.fds },
];

export const HOLDERS_DEFAULT = ['ROLE', 'TYPE', 'MODE', 'START', 'END', 'PID', 'USER', 'STARTED', 'FD', 'COMMAND'];
export const LOCKS_DEFAULT = [...HOLDERS_DEFAULT, 'PATH'];

const OPENER_COLUMNS: readonly Column<ProbeOpener>[] = [
  { name: 'PID', help: '', get: (o) => o.pid },
  { name: 'USER', help: '', get: (o) => who(o) },
  { name: 'STARTED', help: '', get: (o) => started(o) },
  { name: 'FDS', help: '', get: (o) => (o.fds.length === 0 ? '-' : o.fds.map((f) => `${f.fd}${f.access ?? ''}`).join(',')) },
  { name: 'MAPS', help: '', get: (o) => (o.maps.length === 0 ? '-' : String(o.maps.length)) },
  { name: 'COMMAND', help: '', get: (o) => cmd(o), trunc: true },
];

export function lockRows(locks: readonly ProbeLock[], pid?: number): LockRow[] {
  const rows: LockRow[] = [];
  for (const l of locks) {
    const holders = l.holders.map((h) => h.pid).filter((p) => p > 0);
    if (l.holders.length === 0) rows.push({ role: 'holder', lock: l, proc: null, fds: '-', mode: l.mode, blocker: null });
    for (const h of l.holders)
      rows.push({
        role: h.confirmed ? 'holder' : 'holder?',
        lock: l,
        proc: h,
        fds: h.fds === null ? '?' : h.fds.join(','),
        mode: l.mode,
        blocker: null,
      });
    for (const w of l.waiters)
      rows.push({ role: 'waiter', lock: l, proc: w.pid > 0 ? w : null, fds: '-', mode: w.mode, blocker: holders.join(',') || null });
  }
  return pid === undefined ? rows : rows.filter((r) => r.proc?.pid === pid);
}

export interface FormatOptions extends TableOptions {
  columns?: string;
  outputAll: boolean;
  pid?: number;
}

export const DEFAULT_FORMAT: FormatOptions = { headings: true, raw: false, width: Infinity, outputAll: false };

/** The columns asked for, or a usage message. */
export function lockColumns(o: FormatOptions, defaults: readonly string[]): Column<LockRow>[] | string {
  return selectColumns(LOCK_COLUMNS, defaults, o.columns, o.outputAll);
}

/** `-J -o ...`: lslocks's JSON shape, `{ "locks": [ { "command": ..., "pid": ..., "mode": "WRITE" } ] }`. */
export function lockJson(locks: readonly ProbeLock[], cols: Column<LockRow>[], o: FormatOptions): string {
  return JSON.stringify({ locks: jsonRows(cols, lockRows(locks, o.pid)) }, null, 2);
}

function footer(r: ListLocksResult): string {
  const { unreadable, incomplete, uid } = r;
  const out: string[] = [];
  if (incomplete.length === 0) return '';
  const perm = unreadable.filter((u: ProbeUnreadable) => u.reason === 'permission' || u.reason === 'hidden');
  const exited = unreadable.filter((u) => u.reason === 'exited');
  if (perm.length > 0) {
    const list = perm
      .slice(0, 10)
      .map((u) => `${u.pid} (${u.command ?? '?'}, ${u.user ?? u.uid ?? '?'})`)
      .join(', ');
    out.push(`warning: ${perm.length} process(es) could not be inspected (permission): ${list}${perm.length > 10 ? ', ...' : ''}`);
    out.push(
      uid === 0
        ? '  even root is refused by some processes (other user namespaces, sandbox init): ' +
            'they may have the file open, or share a lock, unseen.'
        : '  they may have the file open, or share a lock, unseen. To see them, run as root (sudo lockscope ...) or as their user.',
    );
    out.push(
      "  the locks themselves come from the kernel's lock table (/proc/locks), which lists every lock: " +
        'only who holds them and who has the file open may be partial.',
    );
  }
  if (exited.length > 0) out.push(`note: ${exited.length} process(es) exited while being scanned.`);
  if (incomplete.includes('hidepid'))
    out.push("warning: /proc is mounted with hidepid: other users' processes are invisible; run as root to see them.");
  if (incomplete.includes('deadline')) out.push('warning: the time budget ran out: the scan is partial (raise --timeout).');
  if (incomplete.includes('unresolved')) out.push('warning: some locks have no holder lockscope could see (see above).');
  return out.join('\n');
}

export interface Formatted {
  out: string;
  /** The visibility footer (stdout normally; stderr with -r/-n so scripts parse clean lines). */
  footer: string;
}

export function formatHolders(r: ProbeResult, cols: Column<LockRow>[], o: FormatOptions = DEFAULT_FORMAT): Formatted {
  const out: string[] = [];
  if (o.headings && !o.raw) out.push(`${r.path}  (dev ${r.device}, inode ${r.ino})`, '');
  const rows = lockRows(r.locks, o.pid);
  if (r.locks.length === 0) out.push("locks: none (from the kernel's lock table: complete)");
  else if (rows.length === 0) out.push(`locks: none by pid ${o.pid}`);
  else out.push(renderTable(cols, rows, o));
  if (r.openers !== null) {
    const openers = o.pid === undefined ? r.openers : r.openers.filter((x) => x.pid === o.pid);
    out.push('');
    if (openers.length === 0)
      out.push(r.unreadable.some((u) => u.reason !== 'exited') ? 'open by: nobody seen (partial: see below)' : 'open by: nobody');
    else out.push(renderTable(OPENER_COLUMNS, openers, o));
  } else if (o.headings && !o.raw) {
    out.push('', '(openers not scanned: --depth holders)');
  }
  return { out: out.join('\n'), footer: footer(r) };
}

export function formatLocks(r: ListLocksResult, cols: Column<LockRow>[], o: FormatOptions = DEFAULT_FORMAT): Formatted {
  const rows = lockRows(r.locks, o.pid);
  const none = o.pid === undefined || r.locks.length === 0 ? 'no locks' : `no locks by pid ${o.pid}`;
  return { out: rows.length === 0 ? none : renderTable(cols, rows, o), footer: footer(r) };
}

/** `--help` text for the columns. */
export function columnsHelp(): string {
  return LOCK_COLUMNS.map((c) => `  ${c.name.padStart(8)}  ${c.help}`).join('\n');
}
