import { performance } from 'node:perf_hooks';
import { liveConfig } from '../config.js';
import { backend } from '../platform/index.js';
import type { RecordSnapshot, RecordWaiterInfo } from '../record/index.js';
import { readEventLoopDelay } from './eld.js';
import { registry, type Tracked } from './registry.js';
import { formatStack, type CapturedStack } from './stack.js';

export interface SnapshotRequest {
  /** The stack of the call the record is about (captured earlier, formatted now). */
  stack: CapturedStack | null;
  /** The registry entry of that call, left out of `inProcess`. */
  self?: Tracked | undefined;
  /** Include the diagnostic-report excerpt (costs 3-12 ms). */
  report?: boolean;
}

/** Everything the snapshot says about this process at this moment. Never throws. */
export function takeSnapshot(req: SnapshotRequest): RecordSnapshot {
  const t0 = performance.now();
  const cfg = liveConfig();
  const snap: RecordSnapshot = {
    stack: cfg.snapshot.stack ? formatStack(req.stack) : null,
    activeResources: activeResources(),
    inProcess: inProcess(req.self, cfg.snapshot.maxInProcess, t0),
    eventLoopDelay: safe(readEventLoopDelay, null),
    memory: memory(),
    costMs: 0,
  };
  if (req.report) {
    const r = reportExcerpt();
    if (r) snap.report = r;
  }
  snap.costMs = Math.round((performance.now() - t0) * 1000) / 1000;
  return snap;
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of safe(() => process.getActiveResourcesInfo(), [] as string[])) out[t] = (out[t] ?? 0) + 1;
  return out;
}

function memory(): RecordSnapshot['memory'] {
  return safe(
    () => {
      const m = process.memoryUsage();
      return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
    },
    { rss: 0, heapUsed: 0, heapTotal: 0, external: 0 },
  );
}

function inProcess(self: Tracked | undefined, max: number, now: number): RecordWaiterInfo[] {
  const out: RecordWaiterInfo[] = [];
  if (max === 0) return out;
  // Oldest first (the registry's order is arbitrary).
  const entries = registry.items.filter((e) => e !== self).sort((a, b) => a.t0 - b.t0);
  for (const e of entries) {
    out.push({
      path: e.path,
      kind: e.kind,
      mode: e.mode,
      role: e.role,
      sinceMs: Math.round((now - e.t0) * 1000) / 1000,
      label: e.label,
      stack: formatStack(e.stack),
    });
    if (out.length >= max) break;
  }
  return out;
}

interface ReportShape {
  libuv?: Array<Record<string, unknown>>;
  nativeStack?: Array<{ pc?: string; symbol?: string }>;
}

/**
 * How long the report may wait for lockscope's waiter threads to leave their kernel lock calls
 * (normally microseconds); past it the excerpt is left out rather than the event loop held.
 */
const REPORT_PAUSE_MS = 100;

/**
 * The two parts of Node's diagnostic report that help here. getReport() also contains every
 * environment variable, the command line and host details: only the fields named below are
 * copied out; the rest of the object is dropped at once.
 *
 * getReport() waits until every worker thread runs JS; a waiter thread blocked in flock() would
 * hold it (and the event loop) until the other process releases, so the waits step out of the
 * kernel for it (platform pauseWaits).
 */
function reportExcerpt(): RecordSnapshot['report'] | null {
  const rep = process.report;
  if (!rep || typeof rep.getReport !== 'function') return null;
  let prevExcludeNetwork: boolean | undefined;
  let resume: (() => void) | null = null;
  try {
    resume = backend?.pauseWaits === undefined ? noResume : backend.pauseWaits(REPORT_PAUSE_MS);
    if (resume === null) return null;
    // Skips reverse DNS of socket endpoints (can take seconds) where Node supports it (20.13+).
    prevExcludeNetwork = (rep as { excludeNetwork?: boolean }).excludeNetwork;
    if (prevExcludeNetwork === false) (rep as { excludeNetwork?: boolean }).excludeNetwork = true;
    const r = rep.getReport() as unknown as ReportShape;
    const libuvHandles = (Array.isArray(r.libuv) ? r.libuv : []).map((h) => {
      const o: { type: string; is_active?: boolean; is_referenced?: boolean; fd?: number } = {
        type: typeof h.type === 'string' ? h.type : 'unknown',
      };
      if (typeof h.is_active === 'boolean') o.is_active = h.is_active;
      if (typeof h.is_referenced === 'boolean') o.is_referenced = h.is_referenced;
      if (typeof h.fd === 'number') o.fd = h.fd;
      return o;
    });
    const nativeStack = (Array.isArray(r.nativeStack) ? r.nativeStack : []).map((f) =>
      `${typeof f.pc === 'string' ? f.pc : '?'} ${typeof f.symbol === 'string' ? f.symbol : ''}`.trim(),
    );
    return { libuvHandles, nativeStack };
  } catch {
    return null;
  } finally {
    if (prevExcludeNetwork === false) (rep as { excludeNetwork?: boolean }).excludeNetwork = false;
    resume?.();
  }
}

function noResume(): void {}
