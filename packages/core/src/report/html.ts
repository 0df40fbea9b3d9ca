/**
 * `report --html`: one self-contained page (inline CSS, JS and SVG; nothing fetched), one lane per
 * process, a bar per wait and per hold, each wait linked to the holder it waited for. Test hooks:
 * lanes carry `data-host`/`data-pid`, bars `data-kind` ("wait" | "hold") and `data-path`.
 */
import { sortedPaths } from './json.js';
import type { Bar, Proc } from './model.js';
import type { ReportData } from './run.js';
import { who } from './text.js';

const LABEL_W = 320;
const PLOT_W = 900;
const LANE_H = 26;
const TOP = 30;
/** Lanes drawn at most: beyond that a page stops being readable (and grows by ~0.5 MB a lane). */
export const MAX_LANES = 200;

/** Lane names fit the label column (the <title> has the whole command). */
const fit = (s: string): string => (s.length > 31 ? `${s.slice(0, 30)}…` : s);
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON inside <script>: nothing in it may close the element. */
const scriptJson = (v: unknown): string =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/** The hold of `holder` on `path` that overlaps [from, to], if the holder's lane kept it. */
function holdFor(holder: Proc | undefined, path: string, from: number, to: number): Bar | undefined {
  if (!holder) return undefined;
  let best: Bar | undefined;
  for (const b of holder.bars) {
    if (b.kind !== 'hold' || b.path !== path || b.from > to || b.to < from) continue;
    if (!best || b.to - b.from > best.to - best.from) best = b;
  }
  return best;
}

export function reportHtml(d: ReportData): string {
  const { r } = d;
  // The busiest lanes (waits, then time held), drawn in host/pid order; the rest are counted.
  const busy = [...r.procs.values()].filter((p) => p.bars.length > 0).sort((a, b) => b.waits - a.waits || b.heldMs - a.heldMs);
  const lanes = busy.slice(0, MAX_LANES).sort((a, b) => (a.host ?? '').localeCompare(b.host ?? '') || a.pid - b.pid);
  const lanesLeft = busy.length - lanes.length;
  const laneOf = new Map(lanes.map((p, i) => [p.id, i]));
  const t0 = Number.isFinite(r.first) ? r.first : 0;
  const span = Math.max(1, (Number.isFinite(r.last) ? r.last : 0) - t0);
  const x = (t: number): number => LABEL_W + Math.max(0, Math.min(PLOT_W, ((t - t0) / span) * PLOT_W));
  const height = TOP + lanes.length * LANE_H + 20;
  const details: Record<string, unknown> = {};
  const svg: string[] = [];
  const links: string[] = [];
  for (const [i, p] of lanes.entries()) {
    const y = TOP + i * LANE_H;
    svg.push(
      `<g class="lane" id="lane-${i}" data-host="${esc(p.host ?? '')}" data-pid="${p.pid}" ` +
        `data-command="${esc(p.command ?? '')}" data-lockscope="${p.lockscope}">` +
        `<title>${esc(who(p, Infinity))}</title><rect class="lane-bg" x="0" y="${y}" width="${LABEL_W + PLOT_W}" height="${LANE_H}"/>` +
        `<text x="6" y="${y + 17}">${esc(`${fit(who(p, 24))}${p.barsDropped ? ` +${p.barsDropped} more` : ''}`)}</text>`,
    );
    for (const b of p.bars) {
      const bx = x(b.from);
      const w = Math.max(2, x(b.to) - bx);
      const cls = `bar ${b.kind} ${b.outcome}${b.heldTooLong ? ' too-long' : ''}`;
      const hy = b.kind === 'hold' ? y + 4 : y + 9;
      const hh = b.kind === 'hold' ? LANE_H - 8 : LANE_H - 18;
      let linkAttr = '';
      if (b.kind === 'wait') {
        const targets: string[] = [];
        for (const h of b.holders) {
          const hl = laneOf.get(h.proc);
          if (hl === undefined) continue;
          const hb = holdFor(r.procs.get(h.proc), b.path, b.from, b.to);
          targets.push(hb ? hb.id : `lane-${hl}`);
          const ty = TOP + hl * LANE_H + LANE_H / 2;
          // Drawn where both bars exist: the holder was seen from that moment on.
          const lx = hb ? x(Math.min(Math.max(b.from, hb.from), b.to)) : bx;
          links.push(
            `<line class="link" data-wait="${b.id}" data-hold="${hb?.id ?? ''}" ` +
              `x1="${lx.toFixed(1)}" y1="${y + LANE_H / 2}" x2="${lx.toFixed(1)}" y2="${ty}"/>`,
          );
        }
        if (targets.length > 0) linkAttr = ` data-holder="${targets.join(' ')}"`;
      }
      svg.push(
        `<rect class="${cls}" id="${b.id}" data-kind="${b.kind}" data-path="${esc(b.path)}"${linkAttr} ` +
          `x="${bx.toFixed(1)}" y="${hy}" width="${w.toFixed(1)}" height="${hh}" tabindex="0"/>`,
      );
      details[b.id] = {
        kind: b.kind,
        path: b.path,
        process: who(p, Infinity),
        from: new Date(b.from).toISOString(),
        to: new Date(b.to).toISOString(),
        ms: Math.round((b.to - b.from) * 1000) / 1000,
        outcome: b.outcome,
        heldTooLong: b.heldTooLong,
        label: b.label,
        mode: b.mode,
        lockKind: b.lockKind,
        code: b.code,
        errno: b.errno,
        message: b.message,
        stack: b.stack,
        holders: b.holders.map((h) => ({
          pid: h.pid,
          command: h.command,
          label: h.label,
          stack: h.stack,
          lockKind: h.lockKind,
          lockMode: h.lockMode,
        })),
        holdersComplete: b.holdersComplete,
        snapshot: b.snapshot,
      };
    }
    svg.push('</g>');
  }
  const axis = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text class="tick" style="text-anchor:${f === 0 ? 'start' : f === 1 ? 'end' : 'middle'}" ` +
        `x="${LABEL_W + f * PLOT_W}" y="18">${esc(new Date(t0 + f * span).toISOString().slice(11, 23))}</text>`,
    )
    .join('');
  const range = Number.isFinite(r.first) ? `${new Date(r.first).toISOString()} .. ${new Date(r.last).toISOString()}` : 'no records';
  const summary = `${d.records} records, ${d.skipped} lines skipped; ${lanes.length} processes; ${range}`;
  const notDrawn =
    lanesLeft > 0 ? ` ${lanesLeft} more process(es) with fewer waits are not drawn (filter with --pid, --host, --path).` : '';
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lockscope report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; ` +
    `script-src 'unsafe-inline'; img-src data:">
<style>
body{font:13px system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 8px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
svg{border:1px solid #ccc;background:#fafafa}
.lane-bg{fill:#fff;stroke:#eee}.lane:nth-child(even) .lane-bg{fill:#f3f6fa}
.lane text{font:12px ui-monospace,monospace;fill:#333}
.tick{font:11px ui-monospace,monospace;fill:#666;text-anchor:middle}
.bar{cursor:pointer;stroke:#0003}
.hold{fill:#3b82f6}.hold.seen{fill:#8b5cf6}.hold.leaked,.hold.too-long{fill:#dc2626}.hold.open{fill:#f59e0b}
.wait{fill:#f97316}.wait.timeout,.wait.aborted,.wait.error{fill:#111}.wait.unfinished{fill:#a3a3a3}
.bar.selected{stroke:#000;stroke-width:2}
.link{stroke:#f97316;stroke-width:1.5;stroke-dasharray:3 2}.link.selected{stroke:#000;stroke-width:2.5}
#details{white-space:pre-wrap;font:12px ui-monospace,monospace;border:1px solid #ccc;padding:8px;min-height:3em;background:#fffdf5}
</style></head><body>
<h1>lockscope report</h1>
<p id="summary">${esc(summary)}</p>
<table id="paths"><tr><th>path</th><th>waits</th><th>timeouts</th><th>total wait ms</th><th>longest ms</th><th>holders</th></tr>
${sortedPaths(d)
  .slice(0, 20)
  .map((s) => {
    const hs = [...s.holders.keys()].map((id) => r.procs.get(id)!).map((h) => `${h.pid} ${h.command ?? ''}`);
    return (
      `<tr><td>${esc(s.path)}</td><td>${s.waits}</td><td>${s.timeouts}</td>` +
      `<td>${Math.round(s.totalWaitMs)}</td><td>${Math.round(s.maxWaitMs)}</td><td>${esc(hs.join(', '))}</td></tr>`
    );
  })
  .join('\n')}
</table>
<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${LABEL_W + PLOT_W}" height="${height}" ` +
    `viewBox="0 0 ${LABEL_W + PLOT_W} ${height}">
${axis}
${svg.join('\n')}
<g class="links">${links.join('')}</g>
</svg>
<p id="caps">Bars per process are capped (the longest and every failure are kept; "+K more" counts the rest).` +
    `${notDrawn} Hover or click a bar.</p>
<div id="details">Hover or click a bar for its details.</div>
<script type="application/json" id="lockscope-details">${scriptJson(details)}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('lockscope-details').textContent);
  var box = document.getElementById('details');
  function show(el) {
    var d = data[el.id];
    if (!d) return;
    document.querySelectorAll('.selected').forEach(function (s) { s.classList.remove('selected'); });
    el.classList.add('selected');
    document.querySelectorAll('.link[data-wait="' + el.id + '"], .link[data-hold="' + el.id + '"]')` +
    `.forEach(function (l) { l.classList.add('selected'); });
    var lines = [d.kind + ' ' + d.outcome + (d.heldTooLong ? ' (held too long)' : '') + ': ' + d.path, ` +
    `d.process, d.from + ' .. ' + d.to + ' (' + d.ms + ' ms)'];
    if (d.label) lines.push('label: ' + d.label);
    if (d.code || d.errno) lines.push('error: ' + (d.code || '') + ' errno ' + d.errno + (d.message ? ' ' + d.message : ''));
    if (d.holders.length) {
      lines.push('holders' + (d.holdersComplete === false ? ' (partial view)' : '') + ':');
      d.holders.forEach(function (h) {
        lines.push('  pid ' + h.pid + ' ' + (h.command || '?') + (h.label ? ' "' + h.label + '"' : '') + ` +
    `(h.lockKind ? ' ' + h.lockKind + ' ' + (h.lockMode || '') : ''));
        if (h.stack) lines.push('    ' + h.stack.split('\\n').join('\\n    '));
      });
    }
    if (d.snapshot) {
      var s = d.snapshot;
      lines.push('snapshot: ' + s.inProcess + ' in-process lock(s), event-loop p99 ' + s.eventLoopDelayP99 + ' ms, rss ' + s.rss` +
    ` + ', resources ' + JSON.stringify(s.activeResources));
    }
    if (d.stack) lines.push('stack:', d.stack);
    box.textContent = lines.join('\\n');
  }
  document.querySelectorAll('.bar').forEach(function (el) {
    el.addEventListener('mouseenter', function () { show(el); });
    el.addEventListener('click', function () { show(el); });
    el.addEventListener('focus', function () { show(el); });
  });
})();
</script>
</body></html>
`
  );
}
