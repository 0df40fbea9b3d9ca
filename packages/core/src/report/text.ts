/** The terminal report: readable in a minute, most waiting first, then a compact timeline. */
import { procSummary, sortedPaths, sortedProcs } from './json.js';
import type { Bar, Proc } from './model.js';
import type { ReportData } from './run.js';

const TOP = 10;
const LANES = 20;
const WIDTH = 60;

function ms(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
}
const iso = (t: number): string => new Date(t).toISOString();

/** `pid 42@host (command) "label"`; commands cut at `max` characters (JSON has them whole). */
export function who(p: Proc, max = 80): string {
  const s = procSummary(p);
  const c = s.command ?? (p.lockscope ? 'lockscope process' : '?');
  return `pid ${s.pid}${s.host ? `@${s.host}` : ''} (${c.length > max ? `${c.slice(0, max - 3)}...` : c})${s.label ? ` "${s.label}"` : ''}`;
}

function frame(stack: string | null): string | null {
  if (!stack) return null;
  const l = stack
    .split('\n')
    .map((x) => x.trim())
    .find((x) => x.startsWith('at '));
  return l ?? null;
}

function lane(p: Proc, from: number, span: number): string {
  const cells = Array<string>(WIDTH).fill('.');
  const mark = (b: Bar): string =>
    b.kind === 'hold' ? (b.heldTooLong || b.outcome === 'leaked' ? '#' : '=') : b.outcome === 'acquired' ? '~' : 'x';
  for (const b of [...p.bars].sort((a, c) => (a.kind === 'wait' ? 1 : 0) - (c.kind === 'wait' ? 1 : 0))) {
    const a = Math.min(WIDTH - 1, Math.floor(((b.from - from) / span) * WIDTH));
    const z = Math.min(WIDTH - 1, Math.max(a, Math.ceil(((b.to - from) / span) * WIDTH) - 1));
    for (let i = Math.max(0, a); i <= z; i++) cells[i] = mark(b);
  }
  return cells.join('');
}

export function reportText(d: ReportData): string {
  const { r } = d;
  const out: string[] = [];
  const proc = (id: string): Proc => r.procs.get(id)!;
  const filtered = d.filtered ? `, ${d.filtered} filtered out` : '';
  out.push(`lockscope report: ${d.records} records from ${d.inputs.length} input(s), ${d.skipped} line(s) skipped${filtered}`);
  for (const i of d.inputs) if (i.error) out.push(`  warning: ${i.name}: ${i.error} (read up to there)`);
  if (!Number.isFinite(r.first)) {
    out.push('no lockscope records');
    return out.join('\n');
  }
  out.push(`span: ${iso(r.first)} .. ${iso(r.last)} (${ms(r.last - r.first)})`, '');
  const paths = sortedPaths(d).filter((s) => s.waits > 0);
  out.push(paths.length === 0 ? 'waiting: none' : 'most waiting:');
  for (const s of paths.slice(0, TOP)) {
    out.push(
      `  ${s.path}: ${s.waits} wait(s), total ${ms(s.totalWaitMs)}, longest ${ms(s.maxWaitMs)}` +
        `${s.timeouts ? `, ${s.timeouts} timeout(s)` : ''}${s.aborts ? `, ${s.aborts} abort(s)` : ''}` +
        `${s.errors ? `, ${s.errors} error(s)` : ''}`,
    );
    if (s.holders.size > 0)
      out.push(
        `    held by: ${[...s.holders.keys()]
          .slice(0, 3)
          .map((id) => who(proc(id)))
          .join('; ')}${s.holders.size + s.holdersMore > 3 ? ` and ${s.holders.size + s.holdersMore - 3} more` : ''}`,
      );
  }
  if (paths.length > TOP) out.push(`  ... and ${paths.length - TOP} more path(s)`);
  out.push('', 'held longest:');
  for (const p of sortedProcs(d)
    .filter((x) => x.longestHold)
    .slice(0, TOP)) {
    const h = p.longestHold!;
    const where = frame(h.stack);
    const label = h.label ? ` "${h.label}"` : '';
    out.push(`  ${who(p)}: ${ms(p.heldMs)} over ${p.holds} hold(s); longest ${ms(h.ms)} on ${h.path}${label}${where ? `, ${where}` : ''}`);
  }
  const outside = [...r.outside.values()].filter((o) => !proc(o.proc).lockscope);
  if (outside.length > 0) {
    out.push('', 'held by processes without lockscope (seen by waiters):');
    for (const o of outside.sort((a, b) => b.to - b.from - (a.to - a.from)).slice(0, TOP)) {
      out.push(`  ${o.path}: held by ${who(proc(o.proc))} from at least ${iso(o.from)} to ${iso(o.to)}`);
    }
  }
  if (r.concerns.length > 0) {
    out.push('', 'leaked and held-too-long:');
    for (const c of r.concerns.slice(0, TOP))
      out.push(`  ${iso(c.time)} ${c.kind} ${c.path} by ${who(proc(c.proc))}${c.heldMs != null ? ` after ${ms(c.heldMs)}` : ''}`);
    const more = r.concerns.length + r.concernsDropped - TOP;
    if (more > 0) out.push(`  ... and ${more} more`);
  }
  const span = Math.max(1, r.last - r.first);
  const busy = [...r.procs.values()].filter((p) => p.bars.length > 0).sort((a, b) => b.waits - a.waits || b.heldMs - a.heldMs);
  const lanes = busy.slice(0, LANES);
  out.push('', `timeline (${WIDTH} columns = ${ms(span)}; = hold, # held too long or leaked, ~ wait, x failed wait):`);
  for (const p of lanes.sort((a, b) => (a.host ?? '').localeCompare(b.host ?? '') || a.pid - b.pid)) {
    out.push(`  ${lane(p, r.first, span)}  ${who(p)}${p.barsDropped ? ` (+${p.barsDropped} more)` : ''}`);
  }
  if (busy.length > LANES)
    out.push(`  ... and ${busy.length - LANES} more process(es) (--html draws up to 200; filter with --pid, --host, --path)`);
  return out.join('\n');
}
