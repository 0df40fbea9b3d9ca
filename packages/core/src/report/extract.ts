/**
 * Finds the lockscope record in one log line, whichever adapter wrote it: the pino transport's
 * forensic file (the record itself), pino lines (`{..., hostname, lockscope: 1, lock: <record>}`),
 * winston JSON lines (`{level, message, lockscope: 1, lock: <record>}`).
 */
import type { LockscopeRecord } from '../record/index.js';
import { RECORD_EVENTS } from '../record/levels.js';

export type SkipReason = 'not-json' | 'not-lockscope' | 'unknown-version' | 'invalid';
export const SKIP_REASONS: readonly SkipReason[] = ['not-json', 'not-lockscope', 'unknown-version', 'invalid'];

export interface Extracted {
  record: LockscopeRecord;
  /** Epoch ms of `record.time`. */
  t: number;
  /** The host the logger names (pino's `hostname`), for records written before they carried `host`. */
  hostHint: string | null;
}

const EVENTS = new Set<string>(RECORD_EVENTS);

// Records come in bursts within one millisecond (acquired, released): parse each time string once.
let lastTime = '';
let lastT = NaN;
function timeOf(s: string): number {
  if (s !== lastTime) {
    lastTime = s;
    lastT = Date.parse(s);
  }
  return lastT;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function findRecord(o: Obj): Obj | undefined {
  if ('schemaVersion' in o && 'event' in o) return o;
  if (!('lockscope' in o)) return undefined;
  if (isObj(o.lock) && 'schemaVersion' in o.lock) return o.lock;
  // attachPino/attachWinston with a custom `key`
  for (const k in o) {
    const v = o[k];
    if (isObj(v) && 'schemaVersion' in v && 'event' in v) return v;
  }
  return undefined;
}

export function extract(line: string): Extracted | SkipReason {
  // Most lines of a mixed log are not lockscope's: skip them without parsing.
  if (!line.includes('"schemaVersion"')) {
    const c = line.trimStart()[0];
    return c === '{' || c === '[' ? 'not-lockscope' : line.trim() === '' ? 'not-lockscope' : 'not-json';
  }
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'not-json';
  }
  if (!isObj(v)) return 'not-lockscope';
  const r = findRecord(v);
  if (!r) return 'not-lockscope';
  if (r.schemaVersion !== 1) return 'unknown-version';
  if (typeof r.event !== 'string' || !EVENTS.has(r.event)) return 'invalid';
  if (typeof r.path !== 'string' || typeof r.time !== 'string' || !Number.isInteger(r.pid)) return 'invalid';
  const t = timeOf(r.time);
  if (!Number.isFinite(t)) return 'invalid';
  // Fields the reader uses, held to their types: a hand-edited or foreign line must not crash it.
  if (!Array.isArray(r.holders)) r.holders = [];
  else if (!r.holders.every(isObj)) r.holders = r.holders.filter(isObj);
  for (const k of ['label', 'host', 'bootId', 'kind', 'mode'] as const) if (r[k] != null && typeof r[k] !== 'string') r[k] = null;
  for (const k of ['waitedMs', 'heldMs', 'startTime', 'dev', 'ino'] as const) if (r[k] != null && !Number.isFinite(r[k])) r[k] = null;
  for (const k of ['waitId', 'holdId'] as const) if (r[k] != null && !Number.isInteger(r[k])) r[k] = null;
  if (!isObj(r.snapshot)) r.snapshot = null;
  return { record: r as unknown as LockscopeRecord, t, hostHint: typeof v.hostname === 'string' ? v.hostname : null };
}
