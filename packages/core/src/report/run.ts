/** `lockscope report`: reads every input in turn, filters, reconstructs. */
import type { Readable } from 'node:stream';
import { LockscopeError } from '../errors.js';
import type { LockscopeRecord } from '../record/index.js';
import { extract, SKIP_REASONS, type SkipReason } from './extract.js';
import { openSource, readLines } from './input.js';
import { Reconstructor, type ReconstructOptions } from './reconstruct.js';

export interface ReportFilters {
  /** Exact path, or a pattern with `*` (any characters). */
  path?: string;
  /** The process's own records, and waits whose holders include it. */
  pid?: number;
  host?: string;
  since?: number;
  until?: number;
}

export interface InputSummary {
  name: string;
  lines: number;
  records: number;
  skipped: number;
  /** Set when the input ended in a read or gunzip error (what came before it is kept). */
  error: string | null;
}

export interface ReportData {
  records: number;
  skipped: number;
  skippedBy: Record<SkipReason | 'oversized', number>;
  /** Records read but left out by the filters. */
  filtered: number;
  inputs: InputSummary[];
  filters: ReportFilters;
  r: Reconstructor;
}

function pathMatcher(p: string | undefined): ((s: string) => boolean) | null {
  if (p === undefined) return null;
  if (!p.includes('*')) return (s) => s === p;
  const re = new RegExp(
    `^${p
      .split('*')
      .map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return (s) => re.test(s);
}

export async function runReport(
  inputs: readonly string[],
  filters: ReportFilters = {},
  options: Partial<ReconstructOptions> & { stdin?: Readable } = {},
): Promise<ReportData> {
  const r = new Reconstructor(options);
  const skippedBy = Object.fromEntries([...SKIP_REASONS, 'oversized'].map((k) => [k, 0])) as ReportData['skippedBy'];
  const out: ReportData = { records: 0, skipped: 0, skippedBy, filtered: 0, inputs: [], filters, r };
  const matchPath = pathMatcher(filters.path);
  const keep = (rec: LockscopeRecord, t: number, host: string | null): boolean => {
    if (filters.since !== undefined && t < filters.since) return false;
    if (filters.until !== undefined && t > filters.until) return false;
    if (filters.host !== undefined && host !== filters.host) return false;
    if (matchPath && !matchPath(rec.path)) return false;
    if (filters.pid !== undefined && rec.pid !== filters.pid && !rec.holders.some((h) => h?.pid === filters.pid)) return false;
    return true;
  };
  for (const [i, name] of inputs.entries()) {
    const s: InputSummary = { name, lines: 0, records: 0, skipped: 0, error: null };
    out.inputs.push(s);
    const scope = `?${i}`;
    const skip = (why: SkipReason | 'oversized'): void => {
      s.skipped++;
      out.skipped++;
      skippedBy[why]++;
    };
    let src: Readable;
    try {
      src = openSource(name, options.stdin);
    } catch (e) {
      throw inputError(name, e);
    }
    try {
      await readLines(src, {
        line: (text) => {
          s.lines++;
          const x = extract(text);
          if (typeof x === 'string') return skip(x);
          s.records++;
          out.records++;
          const host = x.record.host ?? x.hostHint;
          if (!keep(x.record, x.t, host)) {
            out.filtered++;
            return;
          }
          try {
            r.add(x.record, x.t, x.hostHint, scope);
          } catch {
            // A record of the right shape with wrong insides: skipped, never a crash.
            s.records--;
            out.records--;
            skip('invalid');
          }
        },
        oversized: () => {
          s.lines++;
          skip('oversized');
        },
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code;
      // A file that cannot be opened is the caller's mistake; a stream that breaks mid-way (a
      // truncated .gz) keeps what it gave.
      if (s.lines === 0 && (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'EPERM')) throw inputError(name, e);
      s.error = `${code ?? 'ERR'}: ${(e as Error)?.message ?? String(e)}`;
    }
  }
  r.finish();
  return out;
}

function inputError(name: string, e: unknown): LockscopeError {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? 'EIO';
  return new LockscopeError({
    message: `cannot read report input ${name}: ${err?.message ?? String(e)}`,
    code,
    errno: typeof err?.errno === 'number' ? Math.abs(err.errno) : 0,
    syscall: err?.syscall ?? 'open',
    path: name,
    reason: code === 'ENOENT' ? 'not-found' : code === 'EACCES' || code === 'EPERM' ? 'permission' : 'io',
    cause: e,
  });
}
