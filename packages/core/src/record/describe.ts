import type { LockscopeRecord, RecordHolder } from './index.js';

/**
 * One line a person can read without knowing lockscope, e.g.
 * `waiting 512 ms for exclusive flock lock on /srv/x.lock; held by pid 4242 (flock -x /srv/x.lock sleep 600) (EWOULDBLOCK from flock)`.
 * Commands are the record's (already redacted) argv, cut at 80 characters.
 */
export function describeRecord(r: LockscopeRecord): string {
  const what = [r.mode ?? 'exclusive', r.kind, 'lock on', r.path].filter(Boolean).join(' ');
  const holders = describeHolders(r.holders, Date.parse(r.time));
  switch (r.event) {
    case 'contended':
      return `waiting ${ms(r.waitedMs)} ms for ${what}${holders}${r.error ? ` (${r.error.code} from ${r.error.syscall})` : ''}`;
    case 'timeout':
      return `gave up after ${ms(r.waitedMs)} ms waiting for ${what}${holders} (${r.error?.code ?? 'ETIMEDOUT'})`;
    case 'aborted':
      return `aborted after ${ms(r.waitedMs)} ms waiting for ${what}${holders}`;
    case 'error':
      return `failed to lock ${r.path}: ${r.error?.message ?? 'unknown error'}${holders}`;
    case 'acquired':
      return `acquired ${what} after ${ms(r.waitedMs)} ms`;
    case 'released':
      return `released ${what} after holding it ${ms(r.heldMs)} ms`;
    case 'held-too-long':
      return `${what} held for ${ms(r.heldMs)} ms and still held`;
    case 'leaked':
      return `${what} was garbage-collected without release after ${ms(r.heldMs)} ms`;
    case 'probe':
      return `probed ${r.path} in ${ms(r.waitedMs)} ms${holders}`;
    case 'idle':
      return `${r.path} idle after waiting ${ms(r.waitedMs)} ms${describeIdle(r)}`;
    default:
      return `${String(r.event)} ${r.path}${holders}`;
  }
}

/** `; written by pid 42 (python3 app.py) for 850 ms; rotated, truncated` */
function describeIdle(r: LockscopeRecord): string {
  const idle = r.idle;
  if (!idle) return '';
  const ws = idle.writers.slice(0, 3).map((w, i) => {
    return `pid ${w.pid} (${commandLine(r.holders[i])}) for ${ms(w.seenMs)} ms`;
  });
  const more = idle.writers.length - ws.length;
  const who = ws.length > 0 ? `; written by ${ws.join(', ')}${more > 0 ? ` and ${more} more` : ''}` : '; no writer seen';
  const what = idle.changes.length > 0 ? `; ${idle.changes.map((c) => c.type).join(', ')}` : '';
  return `${who}${what}`;
}

/** The (redacted) command line, cut at 80 characters. */
function commandLine(h: RecordHolder | undefined): string {
  const cmd = h?.argv && h.argv.length > 0 ? h.argv.join(' ') : (h?.command ?? '?');
  return cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd;
}

function ms(v: number | null): string {
  return v == null ? '?' : v < 10 ? v.toFixed(2) : Math.round(v).toString();
}

/**
 * The lock holders; everyone the probe saw (waiters, openers) only when no lock holder is known:
 * openers are not what a wait is about.
 */
export function holdersElseOpeners(hs: readonly RecordHolder[]): readonly RecordHolder[] {
  const lockers = hs.filter((h) => h.role === 'holder');
  return lockers.length > 0 ? lockers : hs;
}

/** `; held by pid 4242 (flock -x /f sleep 600)`; lock holders first, openers only when no lock holder is known. */
export function describeHolders(hs: readonly RecordHolder[], now = Date.now()): string {
  if (hs.length === 0) return '';
  const pool = holdersElseOpeners(hs);
  const held = pool[0]!.role === 'holder';
  const shown = pool.slice(0, 3).map((h) => {
    let card = '';
    if (h.card) {
      const parts: string[] = [];
      if (h.card.label) parts.push(`"${h.card.label}"`);
      const since = now - h.card.acquiredAt;
      if (Number.isFinite(since) && since >= 0) parts.push(`holding it ${ms(since)} ms`);
      if (parts.length > 0) card = ` ${parts.join(', ')}`;
    }
    return `pid ${h.pid} (${commandLine(h)})${card}`;
  });
  const more = pool.length - shown.length;
  return `; ${held ? 'held by' : 'open by'} ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}
