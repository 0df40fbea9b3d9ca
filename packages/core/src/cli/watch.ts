/**
 * `lockscope watch <path>`: a live view of one file: lock holders and waiters, writers and readers,
 * each with how long it has been there. Refreshed when the kernel reports an open, close, rename
 * or delete of the file (inotify, the same WatchedFile waitIdle uses) and every --interval ms
 * (locks taken or dropped without an open or close make no event). `--json`: one NDJSON event
 * per change. The terminal view uses the alternate screen; Ctrl-C restores the screen and cursor.
 */
import { parseCommandLine, usageExit } from './args.js';
import { LockscopeError, lockErrorFromErrno } from '../errors.js';
import { lockErrors } from '../errors/factories.js';
import { checkPath } from '../path.js';
import { WatchedFile } from '../idle/file.js';
import { linuxProbe } from '../platform/linux/probe.js';
import type { ProbeProcess, ProbeResult } from '../probe/types.js';

const HELP = `Usage: lockscope watch <path> [--json] [--interval ms] [--no-redact]

A live view of <path>: lock holders and waiters, writers and readers, and how long each has
been there, updated as they change. Ctrl-C quits.

  --json           one JSON object per line per change (docs/cli.md), no terminal UI
  --interval <ms>  also refresh this often (locks can change without any file event), default 1000
  --no-redact      show command lines as they are`;

const TICK_MS = 50;
const ALT_ON = '\x1b[?1049h\x1b[?25l';
const ALT_OFF = '\x1b[?25h\x1b[?1049l';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

type Role = 'holder' | 'waiter' | 'writer' | 'reader';

interface Row {
  key: string;
  role: Role;
  pid: number;
  startTime: number | null;
  command: string | null;
  argv: string[] | null;
  /** Lock class as /proc/locks names it (FLOCK, POSIX, OFDLCK...), null for openers. */
  kind: string | null;
  mode: 'shared' | 'exclusive' | null;
  range: { start: number; end: number | null } | null;
  fd: number | null;
  /** r / w / rw for an fd, 'mmap' for a map. */
  access: string | null;
  since: number;
}

function rowsOf(r: ProbeResult, self: number): Omit<Row, 'since'>[] {
  const out: Omit<Row, 'since'>[] = [];
  const base = (p: ProbeProcess) => ({ pid: p.pid, startTime: p.startTime, command: p.command, argv: p.argv });
  const access = new Map<string, string | null>();
  for (const o of r.openers ?? []) for (const f of o.fds) access.set(`${o.pid}:${f.fd}`, f.access);
  /** pid:fd of the fds lock holders hold through: shown on the holder's row, not again as an opener. */
  const lockFds = new Set<string>();
  for (const l of r.locks) {
    const mode = l.mode === 'unlock' ? null : l.mode;
    for (const h of l.holders) {
      if (h.pid === self) continue;
      const fd = h.fds?.[0] ?? null;
      for (const x of h.fds ?? []) lockFds.add(`${h.pid}:${x}`);
      const acc = fd === null ? null : (access.get(`${h.pid}:${fd}`) ?? null);
      out.push({
        key: `holder:${h.pid}:${h.startTime}:${l.kernelClass}:${mode}:${l.range.start}`,
        role: 'holder',
        ...base(h),
        kind: l.kernelClass,
        mode,
        range: l.range,
        fd,
        access: acc,
      });
    }
    for (const w of l.waiters) {
      const wm = w.mode === 'unlock' ? null : w.mode;
      out.push({
        key: `waiter:${w.pid}:${w.startTime}:${l.kernelClass}:${wm}:${w.range.start}`,
        role: 'waiter',
        ...base(w),
        kind: l.kernelClass,
        mode: wm,
        range: w.range,
        fd: null,
        access: null,
      });
    }
  }
  for (const o of r.openers ?? []) {
    if (o.pid === self) continue; // our own O_PATH fd on the file
    for (const f of o.fds) {
      if (lockFds.has(`${o.pid}:${f.fd}`)) continue;
      const role: Role = f.access === 'w' || f.access === 'rw' ? 'writer' : 'reader';
      out.push({
        key: `${role}:${o.pid}:${o.startTime}:fd${f.fd}`,
        role,
        ...base(o),
        kind: null,
        mode: null,
        range: null,
        fd: f.fd,
        access: f.access,
      });
    }
    if (o.maps.length > 0) {
      const role: Role = o.maps.some((m) => m.perms[1] === 'w' && m.perms[3] === 's') ? 'writer' : 'reader';
      out.push({
        key: `${role}:${o.pid}:${o.startTime}:mmap`,
        role,
        ...base(o),
        kind: null,
        mode: null,
        range: null,
        fd: null,
        access: 'mmap',
      });
    }
  }
  return out;
}

function duration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}s`;
  return `${Math.floor(ms / 3_600_000)}h${String(Math.floor(ms / 60_000) % 60).padStart(2, '0')}m`;
}

function commandOf(r: Row): string {
  const a = r.argv && r.argv.length > 0 ? r.argv.join(' ') : r.command ? `[${r.command}]` : '?';
  return a.replace(/\s+/g, ' ');
}

function render(path: string, state: WatchState, now: number, width: number): string {
  const f = state.file.cur;
  const changed = duration(Math.max(0, now - (f.mtimeSec * 1000 + f.mtimeNsec / 1e6)));
  const head = state.missing
    ? `lockscope watch ${path}  (no file at this path: waiting for one)`
    : `lockscope watch ${path}  (inode ${f.ino}, ${f.size} bytes, changed ${changed} ago)`;
  const cells = state
    .rowList()
    .map((r) => [
      r.role,
      r.kind ?? '-',
      r.mode === 'exclusive' ? 'WRITE' : r.mode === 'shared' ? 'READ' : '-',
      String(r.pid),
      r.fd === null ? '-' : String(r.fd),
      r.access ?? '-',
      duration(now - r.since),
      commandOf(r),
    ]);
  const headRow = ['ROLE', 'KIND', 'MODE', 'PID', 'FD', 'ACCESS', 'FOR', 'COMMAND'];
  const w = headRow.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(w[i]!))).join('  ');
  const lines = [head, ''];
  if (cells.length === 0) lines.push('nobody holds, waits for, or has this file open');
  else lines.push(line(headRow), ...cells.map(line));
  if (!state.complete) lines.push('', 'partial view: some processes could not be inspected (run as root to see them)');
  lines.push('', `${new Date(now).toISOString().slice(11, 19)} UTC · ${state.file.detection} · Ctrl-C to quit`);
  return lines.map((l) => (l.length > width ? l.slice(0, Math.max(1, width - 1)) : l)).join('\n');
}

class WatchState {
  readonly rows = new Map<string, Row>();
  missing = false;
  complete = true;
  constructor(readonly file: WatchedFile) {}
  rowList(): Row[] {
    const order: Record<Role, number> = { holder: 0, waiter: 1, writer: 2, reader: 3 };
    return [...this.rows.values()].sort((a, b) => order[a.role] - order[b.role] || a.since - b.since || a.pid - b.pid);
  }
}

export async function runWatch(argv: string[], io: Io): Promise<number> {
  let v;
  let pos;
  try {
    ({ values: v, positionals: pos } = parseCommandLine(argv, {
      json: { type: 'boolean' },
      interval: { type: 'string' },
      'no-redact': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (e) {
    return usageExit(io.err, 'lockscope', (e as Error).message, HELP);
  }
  if (v.help) {
    io.out(HELP);
    return 0;
  }
  const interval = v.interval === undefined ? 1000 : Number(v.interval);
  if (pos.length !== 1 || !(interval >= 50) || !Number.isFinite(interval)) {
    const why = pos.length !== 1 ? 'watch takes exactly one path' : `--interval must be a number of ms >= 50, got '${v.interval}'`;
    io.err(`lockscope: ${why}\n\n${HELP}`);
    return 2;
  }
  const json = v.json === true;
  const redact = !v['no-redact'];
  let file: WatchedFile;
  try {
    if (process.platform !== 'linux')
      throw lockErrorFromErrno('watch', 95, pos[0], undefined, {
        message: `ENOTSUP: lockscope watch is Linux only (it reads /proc), watch '${pos[0]}'`,
      });
    const path = checkPath('watch', pos[0], lockErrors);
    file = new WatchedFile(path, true);
    const rc = file.target();
    if (rc < 0) {
      file.close();
      throw lockErrorFromErrno(rc === -21 ? 'watch' : 'open', -rc, path, undefined);
    }
  } catch (e) {
    if (e instanceof LockscopeError) {
      io.err(json ? JSON.stringify({ error: e.toJSON() }) : `lockscope: ${e.message}`);
      return 4;
    }
    throw e;
  }
  return new Watch(file, { json, redact, interval, io }).run();
}

class Watch {
  private readonly state: WatchState;
  private readonly tty: boolean;
  private timer: NodeJS.Timeout | null = null;
  private probing = false;
  private again = true;
  private lastProbe = -Infinity;
  private lastRender = '';
  private lastRenderAt = 0;
  private lastModified = -Infinity;
  private pendingModified = false;
  private finish: ((code: number) => void) | null = null;
  private readonly ac = new AbortController();

  constructor(
    private readonly file: WatchedFile,
    private readonly o: { json: boolean; redact: boolean; interval: number; io: Io },
  ) {
    this.state = new WatchState(file);
    this.tty = !o.json && process.stdout.isTTY === true;
  }

  run(): Promise<number> {
    return new Promise<number>((resolve) => {
      const stop = () => this.stop(0);
      this.finish = (code) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.off('SIGHUP', stop);
        process.stdout.off('resize', this.onResize);
        resolve(code);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      process.on('SIGHUP', stop);
      if (this.tty) {
        process.stdout.write(ALT_ON);
        process.stdout.on('resize', this.onResize);
      }
      const f = this.file.cur;
      this.emit({ event: 'watch', path: this.file.path, dev: f.dev, ino: f.ino, size: f.size, detection: this.file.detection });
      this.tick();
    });
  }

  private running(): boolean {
    return this.finish !== null;
  }

  private readonly onResize = (): void => {
    this.lastRender = '';
    this.draw();
  };

  private stop(code: number): void {
    if (!this.finish) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ac.abort();
    this.file.close();
    if (this.tty) process.stdout.write(ALT_OFF);
    const f = this.finish;
    this.finish = null;
    f(code);
  }

  private emit(e: Record<string, unknown>): void {
    if (this.o.json) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
  }

  private readonly tick = (): void => {
    this.timer = null;
    if (!this.running()) return;
    try {
      this.step();
    } catch (e) {
      this.o.io.err(`lockscope: ${String((e as Error)?.stack ?? e)}`);
      this.stop(4);
      return;
    }
    this.draw();
    if (this.running()) this.timer = setTimeout(this.tick, TICK_MS);
  };

  private step(): void {
    const now = Date.now();
    const s = this.file.sense();
    const f = this.file.cur;
    if (s.opened || s.closed || s.structural || s.overflow) this.again = true;
    if (s.truncated) this.emit({ event: 'truncated', ino: f.ino, size: f.size });
    if (s.deleted) this.emit({ event: 'deleted', ino: f.ino });
    if (s.changed) this.pendingModified = true;
    if (this.pendingModified && now - this.lastModified >= this.o.interval) {
      this.pendingModified = false;
      this.lastModified = now;
      this.emit({ event: 'modified', ino: f.ino, size: f.size });
    }
    if (s.structural || this.state.missing) {
      const where = this.file.pathState();
      if (where === 'missing' && !this.state.missing) {
        this.state.missing = true;
        this.emit({ event: 'missing', ino: f.ino });
      } else if (where === 'other') {
        const previousIno = f.ino;
        if (this.file.target() === 0) {
          this.state.missing = false;
          this.emit({ event: 'rotated', previousIno, ino: this.file.cur.ino, size: this.file.cur.size });
          this.apply([]);
          this.again = true;
        }
      } else if (where === 'same' && this.state.missing) this.state.missing = false;
    }
    if (!this.probing && (this.again || now - this.lastProbe >= this.o.interval)) this.probe();
  }

  private probe(): void {
    this.probing = true;
    this.again = false;
    this.lastProbe = Date.now();
    const f = this.file.cur;
    const ino = f.ino;
    linuxProbe
      .probe(
        { api: 'watch', path: this.file.path, dev: f.dev, ino },
        { depth: 'full', maps: true, timeout: 2000, signal: this.ac.signal, redact: this.o.redact, sliceMs: 4, threads: 1 },
      )
      .then(
        (r) => {
          this.probing = false;
          if (!this.running() || this.file.cur.ino !== ino) return;
          this.state.complete = r.complete;
          this.apply(rowsOf(r, process.pid));
          this.draw();
        },
        () => {
          this.probing = false; // aborted at stop, or the file vanished: the next tick tells
        },
      );
  }

  private apply(rows: Omit<Row, 'since'>[]): void {
    const now = Date.now();
    const seen = new Set<string>();
    for (const r of rows) {
      seen.add(r.key);
      if (this.state.rows.has(r.key)) continue;
      const row = { ...r, since: now };
      this.state.rows.set(r.key, row);
      this.emit({ event: 'appeared', ...this.describe(row) });
    }
    for (const [k, row] of this.state.rows) {
      if (seen.has(k)) continue;
      this.state.rows.delete(k);
      this.emit({ event: 'gone', ...this.describe(row), forMs: now - row.since });
    }
  }

  private describe(r: Row): Record<string, unknown> {
    const { key: _k, since, ...rest } = r;
    return { ...rest, since: new Date(since).toISOString() };
  }

  private draw(): void {
    if (this.o.json || !this.running()) return;
    const now = Date.now();
    const text = render(this.file.path, this.state, now, process.stdout.columns ?? 120);
    // Redraw when something changed; on a terminal also once a second for the FOR column.
    if (text === this.lastRender) return;
    if (this.lastRender !== '' && sameRows(text, this.lastRender) && (!this.tty || now - this.lastRenderAt < 1000)) return;
    this.lastRender = text;
    this.lastRenderAt = now;
    if (this.tty) process.stdout.write(`\x1b[H\x1b[2J${text}`);
    else process.stdout.write(`${text}\n\n`);
  }
}

/** Equal but for the durations and the clock line. */
function sameRows(a: string, b: string): boolean {
  const strip = (s: string) => s.replace(/\d+(\.\d+)?[smh](\d+[sm])?/g, '').replace(/\d\d:\d\d:\d\d UTC/, '');
  return strip(a) === strip(b);
}
