import type {
  LockscopeRecord,
  RecordError,
  RecordEvent,
  RecordHolder,
  RecordIdle,
  RecordLockKind,
  RecordLockMode,
  RecordRange,
  RecordSnapshot,
} from './index.js';
import { processIdentity } from './identity.js';

/** Fields a builder takes; everything but `path` defaults to null / empty. */
export interface RecordInit {
  path: string;
  time?: number;
  dev?: number | null;
  ino?: number | null;
  kind?: RecordLockKind | null;
  mode?: RecordLockMode | null;
  range?: RecordRange | null;
  label?: string | null;
  waitId?: number | null;
  holdId?: number | null;
  waitedMs?: number | null;
  heldMs?: number | null;
  error?: RecordError | null;
  holders?: RecordHolder[];
  holdersComplete?: boolean | null;
  snapshot?: RecordSnapshot | null;
  idle?: RecordIdle;
}

const round = (v: number): number => Math.round(v * 1000) / 1000;

// Records come in bursts (an acquired and a released record per pair, in the same ms):
// formatting a Date costs about a microsecond, so the last one is reused.
let lastMs = NaN;
let lastIso = '';
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** Builds a version-1 record. Field order is fixed so NDJSON lines diff cleanly. */
export function buildRecord(event: RecordEvent, init: RecordInit): LockscopeRecord {
  const id = processIdentity();
  return {
    schemaVersion: 1, // RECORD_SCHEMA_VERSION (literal: index.ts re-exports this module)
    event,
    time: isoTime(init.time ?? Date.now()),
    path: init.path,
    dev: init.dev ?? null,
    ino: init.ino ?? null,
    kind: init.kind ?? null,
    mode: init.mode ?? null,
    range: init.range ? { start: init.range.start, length: init.range.length } : null,
    pid: process.pid,
    host: id.host,
    bootId: id.bootId,
    startTime: id.startTime,
    waitId: init.waitId ?? null,
    holdId: init.holdId ?? null,
    label: init.label ?? null,
    waitedMs: init.waitedMs == null ? null : round(init.waitedMs),
    heldMs: init.heldMs == null ? null : round(init.heldMs),
    error: init.error ?? null,
    holders: init.holders ?? [],
    holdersComplete: init.holdersComplete ?? null,
    snapshot: init.snapshot ?? null,
    ...(init.idle ? { idle: init.idle } : {}),
  };
}

/**
 * The errno part of a record from any thrown value: LockscopeError fields as they are; a Node
 * system error keeps its code/errno (made positive)/syscall; anything else becomes code
 * `ERR_UNKNOWN`, reason `io`.
 */
export function recordError(err: unknown): RecordError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const code = typeof e.code === 'string' ? e.code : 'ERR_UNKNOWN';
  const errno = typeof e.errno === 'number' && Number.isFinite(e.errno) ? Math.abs(e.errno) : 0;
  const syscall = typeof e.syscall === 'string' ? e.syscall : '';
  const reason = typeof e.reason === 'string' ? e.reason : code === 'ABORT_ERR' ? 'aborted' : 'io';
  const message = typeof e.message === 'string' ? e.message : String(err);
  return { code, errno, syscall, reason, message };
}

/** Terminal event name for a failed wait, from the error's `reason`. */
export function terminalEventFor(err: unknown): 'timeout' | 'aborted' | 'error' {
  const reason = typeof err === 'object' && err !== null ? (err as { reason?: unknown }).reason : undefined;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (reason === 'timeout' || code === 'ETIMEDOUT') return 'timeout';
  if (reason === 'aborted' || code === 'ABORT_ERR') return 'aborted';
  return 'error';
}
