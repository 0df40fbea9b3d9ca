/** `lockscope report <file...>`: options, output, exit codes (docs/cli.md#report). */
import { writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { UsageError, parseCommandLine } from '../cli/args.js';
import { reportHtml } from './html.js';
import { reportJson } from './json.js';
import { runReport, type ReportFilters } from './run.js';
import { reportText } from './text.js';

export const REPORT_HELP = `Usage:
  lockscope report <file...> [options]   post-incident timeline from lockscope records

Inputs: the pino transport's forensic NDJSON, pino or winston JSON log files with lockscope
records (attachPino / attachWinston), any of them gzip-compressed, and '-' for standard input.
Other lines are skipped and counted.

Options:
  --json               one JSON document (the contract in docs/cli.md#report)
  --html <out.html>    also write a self-contained HTML timeline to <out.html>
  --path <p>           only this lock file (* matches any characters)
  --pid <n>            only this process's records and waits on locks it held
  --host <name>        only records from this host
  --since <time>       only records at or after <time> (ISO 8601 or ms since epoch)
  --until <time>       only records at or before <time>
  --max-bars <n>       timeline bars kept per process (default 60; longest and failures first)

Exit codes: 0 report written, 1 no lockscope record in the input (after filters),
  2 usage error, 4 an input could not be read or the HTML not written.`;

export class ReportUsageError extends UsageError {}

function time(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new ReportUsageError(`--${name} must be an ISO 8601 time or ms since epoch, got '${v}'`);
  return t;
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new ReportUsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

export interface ReportIo {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin?: Readable;
}

/** Returns the exit code; usage problems throw ReportUsageError, unreadable inputs a LockscopeError. */
export async function reportCommand(argv: string[], io: ReportIo): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      json: { type: 'boolean', short: 'J' },
      html: { type: 'string' },
      path: { type: 'string' },
      pid: { type: 'string' },
      host: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'max-bars': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    ReportUsageError,
  );
  const { values: v, positionals: files } = parsed;
  if (v.help) {
    io.out(REPORT_HELP);
    return 0;
  }
  if (files.length === 0) throw new ReportUsageError('report needs at least one file (or - for standard input)');
  if (files.filter((f) => f === '-').length > 1) throw new ReportUsageError("'-' (standard input) may be given once");
  if (v.html === '') throw new ReportUsageError('--html needs a file name');
  const filters: ReportFilters = {};
  if (v.path !== undefined) filters.path = v.path;
  if (v.host !== undefined) filters.host = v.host;
  const pid = int('pid', v.pid, 1);
  if (pid !== undefined) filters.pid = pid;
  const since = time('since', v.since);
  const until = time('until', v.until);
  if (since !== undefined) filters.since = since;
  if (until !== undefined) filters.until = until;
  const maxBars = int('max-bars', v['max-bars'], 1) ?? 60;
  const d = await runReport(files, filters, { maxBars, ...(io.stdin ? { stdin: io.stdin } : {}) });
  if (v.html !== undefined) await writeFile(v.html, reportHtml(d), { mode: 0o600 });
  io.out(v.json ? JSON.stringify(reportJson(d), null, 2) : reportText(d));
  return d.records - d.filtered > 0 ? 0 : 1;
}
