/**
 * Table output the way lslocks prints it: named columns (`-o`), no headings (`-n`), raw (`-r`),
 * truncation to the terminal width unless `-u`, and `-J -o` as lslocks-style JSON rows.
 */

export interface Column<R> {
  name: string;
  help: string;
  get: (r: R) => string | number | boolean | null;
  /** Cut to fit the width (COMMAND, PATH); other columns are never cut. */
  trunc?: boolean;
  right?: boolean;
  /** The JSON value when it differs from the text (END: null for "to end of file"). */
  json?: (r: R) => string | number | boolean | null;
}

export interface TableOptions {
  headings: boolean;
  raw: boolean;
  /** Characters per line; Infinity: never cut. */
  width: number;
}

/** lslocks's -o syntax: `A,B` replaces the defaults, `+A,B` appends to them; names case-insensitive. */
export function selectColumns<R>(
  all: readonly Column<R>[],
  defaults: readonly string[],
  spec: string | undefined,
  outputAll: boolean,
): Column<R>[] | string {
  const by = new Map(all.map((c) => [c.name, c]));
  if (outputAll) return [...all];
  let names = [...defaults];
  if (spec !== undefined) {
    const extra = spec.startsWith('+');
    const asked = (extra ? spec.slice(1) : spec)
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean);
    if (asked.length === 0) return '-o needs at least one column';
    const unknown = asked.filter((n) => !by.has(n));
    if (unknown.length > 0) return `unknown column '${unknown[0]}' (available: ${all.map((c) => c.name).join(', ')})`;
    names = extra ? [...names, ...asked] : asked;
  }
  return names.map((n) => by.get(n)!);
}

const text = (v: string | number | boolean | null): string => (v === null ? '' : typeof v === 'boolean' ? (v ? '1' : '0') : String(v));

/** libsmartcols's raw escaping: whitespace, control characters and backslash as \xHH, so each cell is one token. */
function rawCell(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\s\\\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function cut(s: string, w: number): string {
  return s.length <= w ? s : w <= 1 ? s.slice(0, w) : `${s.slice(0, w - 1)}…`;
}

export function renderTable<R>(cols: readonly Column<R>[], rows: readonly R[], o: TableOptions): string {
  const cells = rows.map((r) => cols.map((c) => text(c.get(r)).replace(/\n/g, '\\n')));
  const head = cols.map((c) => c.name);
  if (o.raw) return [...(o.headings ? [head] : []), ...cells].map((r) => r.map(rawCell).join(' ')).join('\n');
  const w = cols.map((_, i) => Math.max(o.headings ? head[i]!.length : 0, ...cells.map((r) => r[i]!.length)));
  const total = (): number => w.reduce((a, b) => a + b, 0) + 2 * (w.length - 1);
  // Shrink the cuttable columns, widest first, down to 12 characters each, until the line fits.
  for (let over = total() - o.width; over > 0; over = total() - o.width) {
    let widest = -1;
    for (const [i, c] of cols.entries()) if (c.trunc && w[i]! > 12 && (widest < 0 || w[i]! > w[widest]!)) widest = i;
    if (widest < 0) break;
    w[widest] = Math.max(12, w[widest]! - over);
  }
  const line = (r: string[]): string =>
    r
      .map((c, i) => {
        const v = cut(c, w[i]!);
        return cols[i]!.right ? v.padStart(w[i]!) : i === r.length - 1 ? v : v.padEnd(w[i]!);
      })
      .join('  ')
      .trimEnd();
  return [...(o.headings ? [line(head)] : []), ...cells.map(line)].join('\n');
}

/** lslocks -J rows: lower-case column names, numbers as numbers, empty as null. */
export function jsonRows<R>(cols: readonly Column<R>[], rows: readonly R[]): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(cols.map((c) => [c.name.toLowerCase(), (c.json ?? c.get)(r)])));
}
