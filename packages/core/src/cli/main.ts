#!/usr/bin/env node
/** The `lockscope` command: `holders <path>` and `locks`. Exit codes are documented in docs/cli.md. */
import { readFileSync } from 'node:fs';
import { LockscopeError } from '../errors.js';
import { listLocks, probe } from '../probe/index.js';
import type { ListLocksResult, ProbeOptions } from '../probe/types.js';
import { REPORT_HELP, ReportUsageError, reportCommand } from '../report/cli.js';
import { UsageError, parseCommandLine, usageExit } from './args.js';
import type { Column } from './columns.js';
import {
  columnsHelp,
  DEFAULT_FORMAT,
  formatHolders,
  formatLocks,
  HOLDERS_DEFAULT,
  lockColumns,
  lockJson,
  LOCKS_DEFAULT,
  type FormatOptions,
  type Formatted,
  type LockRow,
} from './format.js';
import { runWatch } from './watch.js';

const EXIT = { found: 0, nothingFound: 1, usage: 2, partial: 3, error: 4 } as const;

const HELP = `Usage:
  lockscope holders <path> [options]   who holds a lock on <path>, and who has it open
  lockscope locks [options]            every lock on this host, with its holders and file
  lockscope report <file...> [options] post-incident timeline from lockscope logs (report --help)
  lockscope watch <path> [options]     live view of one file's holders, waiters, writers (watch --help)

Options:
  -J, --json           machine-readable output (the probe result as JSON; with -o or
                       --output-all: lslocks-style rows { "locks": [ ... ] })
  -o, --output <list>  columns to print (+LIST appends to the default), see below
      --output-all     print every column
  -n, --noheadings     no headings
  -r, --raw            raw output: one space between columns, blanks escaped as \\x20
  -u, --notruncate     never cut COMMAND or PATH (by default they are cut to fit the
                       terminal width, or $COLUMNS when set; never when piped)
  -p, --pid <pid>      only rows of this process
  --depth <d>          holders: cheap route, lock holders only (default for 'locks')
                       full: scan every process for holders, openers and maps (default for 'holders')
  --timeout <ms>       time budget; on expiry print what was found, marked partial
  --no-maps            do not read memory maps (holders --depth full)
  --no-redact          show command lines as they are (default hides secret-looking values)
  --strict             exit 3 whenever visibility was partial, even if something was found
  -h, --help           this help
  -v, --version        version

Exit codes:
  0  found: a lock or an opener (holders), at least one lock (locks)
  1  not held: no lock in the kernel's lock table (complete even when some processes cannot
     be read) and no opener seen; the output says when the opener scan was partial
  2  usage error
  3  cannot tell: the time budget ran out with nothing found
     (or --strict and any part of the view was partial)
  4  error (path missing, is a directory, unsupported platform, ...)

Processes of other users cannot be inspected unless you are root: they are listed as
unreadable and the result is marked partial. Run as root (sudo) or as their user to see them.

Columns:
${columnsHelp()}`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The width COMMAND and PATH are cut to: the terminal's, else $COLUMNS, else none (a pipe). */
function terminalWidth(): number {
  if (process.stdout.isTTY && process.stdout.columns > 0) return process.stdout.columns;
  const c = Number(process.env.COLUMNS);
  return Number.isInteger(c) && c > 0 ? c : Infinity;
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

async function report(argv: string[], io: Io): Promise<number> {
  try {
    return await reportCommand(argv, io);
  } catch (e) {
    if (e instanceof ReportUsageError) return usageExit(io.err, 'lockscope report', e.message, REPORT_HELP);
    io.err(e instanceof LockscopeError ? `lockscope: ${e.message}` : `lockscope: ${(e as Error)?.stack ?? String(e)}`);
    return EXIT.error;
  }
}

async function main(argv: string[], io: Io): Promise<number> {
  // report has options of its own (docs/cli.md#report).
  if (argv[0] === 'report') return report(argv.slice(1), io);
  if (argv[0] === 'watch') return runWatch(argv.slice(1), io);
  let parsed;
  try {
    parsed = parseCommandLine(argv, {
      json: { type: 'boolean', short: 'J' },
      output: { type: 'string', short: 'o' },
      'output-all': { type: 'boolean' },
      noheadings: { type: 'boolean', short: 'n' },
      raw: { type: 'boolean', short: 'r' },
      notruncate: { type: 'boolean', short: 'u' },
      pid: { type: 'string', short: 'p' },
      depth: { type: 'string' },
      timeout: { type: 'string' },
      'no-maps': { type: 'boolean' },
      'no-redact': { type: 'boolean' },
      strict: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    });
  } catch (e) {
    return usageExit(io.err, 'lockscope', (e as Error).message, HELP);
  }
  const { values: v, positionals: pos } = parsed;
  if (v.help) {
    io.out(HELP);
    return 0;
  }
  if (v.version) {
    io.out(version());
    return 0;
  }
  try {
    const [cmd, ...rest] = pos;
    const opts: ProbeOptions = { redact: !v['no-redact'], maps: !v['no-maps'] };
    if (v.depth !== undefined) {
      if (v.depth !== 'holders' && v.depth !== 'full') throw new UsageError(`--depth must be 'holders' or 'full', got '${v.depth}'`);
      opts.depth = v.depth;
    }
    if (v.timeout !== undefined) {
      const t = Number(v.timeout);
      if (!/^\d+(\.\d+)?$/.test(v.timeout) || !(t > 0))
        throw new UsageError(`--timeout must be a positive number of ms, got '${v.timeout}'`);
      opts.timeout = t;
    }
    const fmt: FormatOptions = {
      ...DEFAULT_FORMAT,
      headings: !v.noheadings,
      raw: v.raw === true,
      width: v.notruncate || v.raw ? Infinity : terminalWidth(),
      outputAll: v['output-all'] === true,
    };
    if (v.output !== undefined) fmt.columns = v.output;
    if (v.pid !== undefined) {
      if (!/^\d+$/.test(v.pid) || Number(v.pid) < 1) throw new UsageError(`--pid must be a process id, got '${v.pid}'`);
      fmt.pid = Number(v.pid);
    }
    const lslocksJson = v.json && (v.output !== undefined || v['output-all'] === true);
    const columns = (defaults: readonly string[]): Column<LockRow>[] => {
      const cols = lockColumns(fmt, defaults);
      if (typeof cols === 'string') throw new UsageError(cols);
      return cols;
    };
    const print = (r: ListLocksResult, cols: Column<LockRow>[], text: () => Formatted): void => {
      if (lslocksJson) return io.out(lockJson(r.locks, cols, fmt));
      if (v.json) return io.out(JSON.stringify(r, null, 2));
      const f = text();
      io.out(f.out);
      // Scripts reading -r/-n lines get them clean; the footer goes to stderr then.
      if (f.footer) (fmt.raw || !fmt.headings ? io.err : io.out)(`${fmt.raw || !fmt.headings ? '' : '\n'}${f.footer}`);
    };
    // The kernel's lock table is whole even when some processes cannot be read: "not held" stands
    // unless the time budget cut the probe or --strict asks for a complete view.
    const exit = (r: ListLocksResult, found: boolean): number => {
      if (!r.complete && (v.strict || (!found && r.incomplete.includes('deadline')))) return EXIT.partial;
      return found ? EXIT.found : EXIT.nothingFound;
    };
    const mine = (pids: number[]): boolean => (fmt.pid === undefined ? pids.length > 0 : pids.includes(fmt.pid));
    const lockPids = (r: ListLocksResult): number[] =>
      r.locks.flatMap((l) => (l.holders.length === 0 && fmt.pid === undefined ? [0] : [...l.holders, ...l.waiters].map((x) => x.pid)));
    if (cmd === 'holders') {
      if (rest.length !== 1) throw new UsageError('holders takes exactly one path');
      const cols = columns(HOLDERS_DEFAULT);
      const r = await probe(rest[0]!, opts);
      print(r, cols, () => formatHolders(r, cols, fmt));
      return exit(r, mine(lockPids(r)) || mine((r.openers ?? []).map((o) => o.pid)));
    }
    if (cmd === 'locks') {
      if (rest.length !== 0) throw new UsageError('locks takes no arguments');
      const cols = columns(LOCKS_DEFAULT);
      const r = await listLocks(opts);
      print(r, cols, () => formatLocks(r, cols, fmt));
      return exit(r, mine(lockPids(r)));
    }
    throw new UsageError(cmd === undefined ? 'missing command' : `unknown command '${cmd}'`);
  } catch (e) {
    if (e instanceof UsageError) return usageExit(io.err, 'lockscope', e.message, HELP);
    if (e instanceof LockscopeError) {
      io.err(v.json ? JSON.stringify({ error: e.toJSON() }, null, 2) : `lockscope: ${e.message}`);
      return EXIT.error;
    }
    io.err(`lockscope: ${(e as Error)?.stack ?? String(e)}`);
    return EXIT.error;
  }
}

// `lockscope report ... | head`: a closed pipe ends the output, not in an EPIPE stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') process.stderr.write(`lockscope: cannot write output: ${e.message}\n`);
  process.exit(e.code === 'EPIPE' ? (process.exitCode ?? 0) : EXIT.error);
});
const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);

main(process.argv.slice(2), { out, err }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    err(`lockscope: ${String(e)}`);
    process.exitCode = EXIT.error;
  },
);
