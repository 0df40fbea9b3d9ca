/**
 * What the reconstruction reads of one record, already checked and reduced (the pure part of the
 * work): the single-thread reader and the parse workers (parallel.ts) both build it here, so both
 * feed Reconstructor.add the same values.
 */
import { commandLine } from '../cli/quote.js';
import type { RecordEvent, RecordHolder } from '../record/index.js';
import type { Extracted } from './extract.js';
import type { SnapshotSummary } from './model.js';

const MAX_STACK_CHARS = 4000;

/** A holder a waiter's probe saw (role holder, integer pid), with its card's label and stack. */
export interface RecHolder {
  pid: number;
  startTime: number | null;
  command: string | null;
  stack: string | null;
  label: string | null;
  acquiredAt: number | null;
  lockKind: string | null;
  lockMode: string | null;
}

export interface RecError {
  code: string | null;
  errno: number | null;
  message: string | null;
}

export interface Rec {
  event: RecordEvent;
  /** Epoch ms of the record's time. */
  t: number;
  path: string;
  pid: number;
  /** The record's host, else the logger's (pino `hostname`). */
  host: string | null;
  bootId: string | null;
  startTime: number | null;
  label: string | null;
  kind: string | null;
  mode: string | null;
  waitId: number | null;
  holdId: number | null;
  waitedMs: number | null;
  heldMs: number | null;
  dev: number | null;
  ino: number | null;
  holders: RecHolder[];
  /** As written (extract does not check it), null when absent. */
  holdersComplete: boolean | null;
  /** The snapshot's stack (the waiter's acquire stack), clipped. */
  stack: string | null;
  snapshot: SnapshotSummary | null;
  error: RecError | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
export const clip = (s: unknown): string | null =>
  typeof s === 'string' ? (s.length > MAX_STACK_CHARS ? `${s.slice(0, MAX_STACK_CHARS)}\n...` : s) : null;

export function commandOf(h: Pick<RecordHolder, 'argv' | 'command'>): string | null {
  const argv = Array.isArray(h.argv) && h.argv.every((a) => typeof a === 'string') ? h.argv : null;
  return commandLine(argv, typeof h.command === 'string' ? h.command : null);
}

type Snapshot = Extracted['record']['snapshot'];
function snapshotSummary(s: Snapshot): SnapshotSummary | null {
  if (!s || typeof s !== 'object') return null;
  return {
    activeResources: typeof s.activeResources === 'object' && s.activeResources !== null ? s.activeResources : {},
    inProcess: Array.isArray(s.inProcess) ? s.inProcess.length : 0,
    eventLoopDelayP99: s.eventLoopDelay?.p99 ?? null,
    rss: s.memory?.rss ?? null,
    heapUsed: s.memory?.heapUsed ?? null,
  };
}

function holders(list: readonly RecordHolder[]): RecHolder[] {
  const out: RecHolder[] = [];
  for (const h of list) {
    if (!h || typeof h !== 'object' || h.role !== 'holder' || !Number.isInteger(h.pid)) continue;
    const card = h.card && typeof h.card === 'object' ? h.card : null;
    out.push({
      pid: h.pid,
      startTime: num(h.startTime),
      command: commandOf(h),
      stack: clip(card?.stack),
      label: str(card?.label),
      acquiredAt: num(card?.acquiredAt),
      lockKind: str(h.lockKind),
      lockMode: str(h.lockMode),
    });
  }
  return out;
}

/** `x` as extract() left it (fields held to their types). */
export function digest(x: Extracted): Rec {
  const r = x.record;
  const e = r.error;
  return {
    event: r.event,
    t: x.t,
    path: r.path,
    pid: r.pid,
    host: r.host ?? x.hostHint,
    bootId: r.bootId ?? null,
    startTime: num(r.startTime),
    label: r.label ?? null,
    kind: r.kind ?? null,
    mode: r.mode ?? null,
    waitId: num(r.waitId),
    holdId: num(r.holdId),
    waitedMs: num(r.waitedMs),
    heldMs: num(r.heldMs),
    dev: r.dev ?? null,
    ino: r.ino ?? null,
    holders: r.holders.length === 0 ? [] : holders(r.holders),
    holdersComplete: r.holdersComplete ?? null,
    stack: clip(r.snapshot?.stack),
    snapshot: snapshotSummary(r.snapshot),
    error: e && typeof e === 'object' ? { code: str(e.code), errno: num(e.errno), message: str(e.message) } : null,
  };
}
