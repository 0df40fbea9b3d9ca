/** The report's filters (--path, --pid, --host, --since, --until) as one predicate on an extracted record. */
import type { Extracted } from './extract.js';

export interface ReportFilters {
  /** Exact path, or a pattern with `*` (any characters). */
  path?: string;
  /** The process's own records, and waits whose holders include it. */
  pid?: number;
  host?: string;
  since?: number;
  until?: number;
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

export function keeper(filters: ReportFilters): (x: Extracted) => boolean {
  const matchPath = pathMatcher(filters.path);
  return ({ record: rec, t, hostHint }) => {
    if (filters.since !== undefined && t < filters.since) return false;
    if (filters.until !== undefined && t > filters.until) return false;
    if (filters.host !== undefined && (rec.host ?? hostHint) !== filters.host) return false;
    if (matchPath && !matchPath(rec.path)) return false;
    if (filters.pid !== undefined && rec.pid !== filters.pid && !rec.holders.some((h) => h?.pid === filters.pid)) return false;
    return true;
  };
}
