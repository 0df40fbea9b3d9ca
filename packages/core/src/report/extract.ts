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
// Most times of a log share their minute with the one before: `YYYY-MM-DDTHH:MM:` is parsed by
// Date.parse once per minute, the seconds and milliseconds by hand (anything else: Date.parse).
let lastTime = '';
let lastT = NaN;
let minute = '';
let minuteT = NaN;
const digit = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
};
/** `SS.sssZ` from index 17 as ms, NaN if not that shape (or a leap second: left to Date.parse). */
function secondsMs(s: string): number {
  if (s.length !== 24 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90) return NaN;
  const sec = digit(s, 17) * 10 + digit(s, 18);
  return sec < 60 ? sec * 1000 + digit(s, 20) * 100 + digit(s, 21) * 10 + digit(s, 22) : NaN;
}
function timeOf(s: string): number {
  if (s === lastTime) return lastT;
  lastTime = s;
  const ms = secondsMs(s);
  if (ms === ms && minute.length > 0 && s.startsWith(minute)) return (lastT = minuteT + ms);
  lastT = Date.parse(s);
  if (ms === ms && Number.isFinite(lastT)) {
    minute = s.slice(0, 17);
    minuteT = lastT - ms;
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
  // (Named property reads, not a loop over key names: this runs for every record.)
  if (!Array.isArray(r.holders)) r.holders = [];
  else if (r.holders.length > 0 && !r.holders.every(isObj)) r.holders = r.holders.filter(isObj);
  if (r.label != null && typeof r.label !== 'string') r.label = null;
  if (r.host != null && typeof r.host !== 'string') r.host = null;
  if (r.bootId != null && typeof r.bootId !== 'string') r.bootId = null;
  if (r.kind != null && typeof r.kind !== 'string') r.kind = null;
  if (r.mode != null && typeof r.mode !== 'string') r.mode = null;
  if (r.waitedMs != null && !Number.isFinite(r.waitedMs)) r.waitedMs = null;
  if (r.heldMs != null && !Number.isFinite(r.heldMs)) r.heldMs = null;
  if (r.startTime != null && !Number.isFinite(r.startTime)) r.startTime = null;
  if (r.dev != null && !Number.isFinite(r.dev)) r.dev = null;
  if (r.ino != null && !Number.isFinite(r.ino)) r.ino = null;
  if (r.waitId != null && !Number.isInteger(r.waitId)) r.waitId = null;
  if (r.holdId != null && !Number.isInteger(r.holdId)) r.holdId = null;
  if (r.snapshot !== null && !isObj(r.snapshot)) r.snapshot = null;
  return { record: r as unknown as LockscopeRecord, t, hostHint: typeof v.hostname === 'string' ? v.hostname : null };
}
