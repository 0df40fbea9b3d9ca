/** The `report --json` document: a contract for scripts, documented in docs/cli.md#report. */
import type { Proc } from './model.js';
import type { ReportData } from './run.js';

export const REPORT_JSON_VERSION = 1;

const iso = (t: number): string | null => (Number.isFinite(t) ? new Date(t).toISOString() : null);
const r3 = (v: number): number => Math.round(v * 1000) / 1000;

export function procSummary(p: Proc) {
  return { host: p.host, pid: p.pid, command: p.command, label: p.labels[0] ?? null };
}

export function sortedPaths(d: ReportData) {
  return [...d.r.paths.values()].sort((a, b) => b.totalWaitMs - a.totalWaitMs || b.waits - a.waits || a.path.localeCompare(b.path));
}

export function sortedProcs(d: ReportData): Proc[] {
  return [...d.r.procs.values()].sort((a, b) => b.heldMs - a.heldMs || b.records - a.records);
}

export function reportJson(d: ReportData): object {
  const { r } = d;
  const proc = (id: string): Proc => r.procs.get(id)!;
  return {
    reportVersion: REPORT_JSON_VERSION,
    records: d.records,
    skipped: d.skipped,
    skippedBy: d.skippedBy,
    filtered: d.filtered,
    inputs: d.inputs,
    span: { from: iso(r.first), to: iso(r.last) },
    paths: sortedPaths(d).map((s) => ({
      path: s.path,
      dev: s.dev,
      ino: s.ino,
      waits: s.waits,
      timeouts: s.timeouts,
      aborts: s.aborts,
      errors: s.errors,
      maxWaitMs: r3(s.maxWaitMs),
      totalWaitMs: r3(s.totalWaitMs),
      holders: [...s.holders].map(([id, label]) => {
        const p = proc(id);
        return {
          host: p.host,
          pid: p.pid,
          command: p.command,
          label: label ?? p.labels[0] ?? null,
          startTime: p.startTime,
          lockscope: p.lockscope,
        };
      }),
      holdersMore: s.holdersMore,
    })),
    processes: sortedProcs(d).map((p) => ({
      ...procSummary(p),
      bootId: p.bootId,
      startTime: p.startTime,
      lockscope: p.lockscope,
      labels: p.labels,
      records: p.records,
      waits: p.waits,
      holds: p.holds,
      heldMs: r3(p.heldMs),
      longestHold: p.longestHold && { ...p.longestHold, ms: r3(p.longestHold.ms), from: iso(p.longestHold.from) },
    })),
    concerns: r.concerns.map((c) => ({
      ...procSummary(proc(c.proc)),
      kind: c.kind,
      path: c.path,
      label: c.label,
      heldMs: c.heldMs,
      time: iso(c.time),
    })),
    concernsMore: r.concernsDropped,
    outsideHolds: [...r.outside.values()]
      .filter((o) => !proc(o.proc).lockscope)
      .map((o) => ({ ...procSummary(proc(o.proc)), path: o.path, from: iso(o.from), to: iso(o.to), seen: o.seen })),
    unmatched: r.unmatched,
  };
}
