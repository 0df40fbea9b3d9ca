/** `lockscope report`: reads every input in turn, filters, reconstructs. */
import type { Readable } from 'node:stream';
import { LockscopeError } from '../errors.js';
import { blockCounts, OVERSIZED, parseLine, type BlockCounts } from './block.js';
import type { Rec } from './digest.js';
import { SKIP_REASONS, type SkipReason } from './extract.js';
import { keeper, type ReportFilters } from './filter.js';
import { openSource, readLines } from './input.js';
import { defaultParallel, ParallelReader, type ParallelOptions } from './parallel.js';
import { Reconstructor, type ReconstructOptions } from './reconstruct.js';

export type { ReportFilters } from './filter.js';

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
  /** Blocks parsed on worker threads (0: all on the main thread). Not output. */
  workerBlocks: number;
}

/**
 * `parallel` is internal (tests, benchmarks): `threads: 0` is the single-thread reader the
 * parallel one must match byte for byte.
 */
export async function runReport(
  inputs: readonly string[],
  filters: ReportFilters = {},
  options: Partial<ReconstructOptions> & { stdin?: Readable; parallel?: Partial<ParallelOptions> } = {},
): Promise<ReportData> {
  const r = new Reconstructor(options);
  const skippedBy = Object.fromEntries([...SKIP_REASONS, 'oversized'].map((k) => [k, 0])) as ReportData['skippedBy'];
  const out: ReportData = { records: 0, skipped: 0, skippedBy, filtered: 0, inputs: [], filters, r, workerBlocks: 0 };
  const keep = keeper(filters);
  const par = { ...defaultParallel(), ...options.parallel };
  const reader = par.threads > 0 ? new ParallelReader(par, filters) : null;
  try {
    for (const [i, name] of inputs.entries()) {
      const s: InputSummary = { name, lines: 0, records: 0, skipped: 0, error: null };
      out.inputs.push(s);
      const scope = `?${i}`;
      const skip = (why: SkipReason | 'oversized', n = 1): void => {
        s.skipped += n;
        out.skipped += n;
        skippedBy[why] += n;
      };
      const add = (rec: Rec): void => {
        try {
          r.add(rec, scope);
        } catch {
          // A record of the right shape with wrong insides: skipped, never a crash.
          s.records--;
          out.records--;
          skip('invalid');
        }
      };
      let src: Readable;
      try {
        src = openSource(name, options.stdin);
      } catch (e) {
        throw inputError(name, e);
      }
      const counts = (c: BlockCounts): void => {
        s.lines += c.lines;
        s.records += c.records;
        out.records += c.records;
        out.filtered += c.filtered;
        for (const [k, why] of SKIP_REASONS.entries()) if (c.skips[k]) skip(why, c.skips[k]);
        if (c.skips[OVERSIZED]) skip('oversized', c.skips[OVERSIZED]);
      };
      try {
        if (reader)
          await reader.read(src, {
            counts,
            record: add,
            oversized: () => {
              s.lines++;
              skip('oversized');
            },
          });
        else {
          const c = blockCounts();
          try {
            await readLines(src, {
              line: (text) => parseLine(text, keep, c, add, false),
              oversized: () => {
                c.lines++;
                c.skips[OVERSIZED]!++;
              },
            });
          } finally {
            counts(c);
          }
        }
      } catch (e) {
        if (e instanceof LockscopeError) throw e; // a parse worker failed: not this input's fault
        const code = (e as NodeJS.ErrnoException)?.code;
        // A file that cannot be opened is the caller's mistake; a stream that breaks mid-way (a
        // truncated .gz) keeps what it gave.
        if (s.lines === 0 && (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'EPERM')) throw inputError(name, e);
        s.error = `${code ?? 'ERR'}: ${(e as Error)?.message ?? String(e)}`;
      }
    }
  } finally {
    await reader?.close();
  }
  out.workerBlocks = reader?.workerBlocks ?? 0;
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
