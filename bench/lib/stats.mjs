// Small timing helpers shared by the bench scripts.
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1], min: s[0] };
}

/** Median of `rounds` timings of `iterations` calls, in µs per call. */
export function timeSync(fn, iterations, rounds = 5) {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn();
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    per.push(Number(process.hrtime.bigint() - t0) / 1e3 / iterations);
  }
  return summarize(per).p50;
}

export async function timeAsync(fn, iterations, rounds = 5) {
  for (let i = 0; i < Math.min(200, iterations); i++) await fn();
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn();
    per.push(Number(process.hrtime.bigint() - t0) / 1e3 / iterations);
  }
  return summarize(per).p50;
}

export function fmt(n, digits = 2) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a';
  if (typeof n === 'string') return n;
  if (Number.isInteger(n)) return String(n);
  if (Math.abs(n) >= 1000) return n.toFixed(0);
  if (Math.abs(n) >= 100) return n.toFixed(1);
  return n.toFixed(digits);
}

export function table(headers, rows) {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : String(c))))];
  const w = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  const out = [line(cells[0]), '|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|', ...cells.slice(1).map(line)];
  return out.join('\n');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
