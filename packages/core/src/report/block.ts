/**
 * One block of input lines (whole lines, as bytes) parsed into digested records, and the compact
 * form a parse worker sends them back in: numbers in one Float64Array (null as NaN: no field the
 * reconstruction reads can be NaN after JSON.parse), strings once per block in a table, the few
 * free-form values (snapshot summaries, an odd holdersComplete) structured-cloned. Posting the
 * parsed records themselves costs more to deserialize than JSON.parse of their lines.
 */
import { RECORD_EVENTS } from '../record/levels.js';
import { digest, type Rec, type RecHolder } from './digest.js';
import { extract, SKIP_REASONS, type Extracted, type SkipReason } from './extract.js';
import { MAX_LINE_CHARS } from './input.js';
import type { SnapshotSummary } from './model.js';

/** Skip counters in SKIP_REASONS order, then oversized lines. */
export const OVERSIZED = SKIP_REASONS.length;
const SKIP_INDEX = new Map<SkipReason, number>(SKIP_REASONS.map((k, i) => [k, i]));

export interface BlockCounts {
  lines: number;
  records: number;
  filtered: number;
  skips: number[];
}
export const blockCounts = (): BlockCounts => ({ lines: 0, records: 0, filtered: 0, skips: Array<number>(OVERSIZED + 1).fill(0) });

export type Keep = (x: Extracted) => boolean;

/** One line, as the single-thread reader (run.ts) counts it; `checkLength` false for a last line already measured. */
export function parseLine(l: string, keep: Keep, c: BlockCounts, emit: (r: Rec) => void, checkLength = true): void {
  c.lines++;
  if (checkLength && l.length > MAX_LINE_CHARS) {
    c.skips[OVERSIZED]!++;
    return;
  }
  const x = extract(l);
  if (typeof x === 'string') {
    c.skips[SKIP_INDEX.get(x)!]!++;
    return;
  }
  c.records++;
  if (!keep(x)) {
    c.filtered++;
    return;
  }
  let r: Rec;
  try {
    r = digest(x);
  } catch {
    // As the single-thread reader counts a record whose insides break the reconstruction.
    c.records--;
    c.skips[SKIP_INDEX.get('invalid')!]!++;
    return;
  }
  emit(r);
}

/** ~64 KiB of text decoded at a time (cut at a newline): larger strings are large-object allocations. */
const SLICE = 64 * 1024;

/**
 * The lines of `buf`: each ends with '\n' except, in an input's last block, a last one. Decoded
 * line by line in effect (cut at '\n' bytes, which no UTF-8 sequence contains), as a
 * StringDecoder over the whole stream decodes them.
 */
export function parseBlock(buf: Buffer, keep: Keep, c: BlockCounts, emit: (r: Rec) => void): void {
  const n = buf.length;
  for (let pos = 0; pos < n;) {
    let end = Math.min(n, pos + SLICE);
    if (end < n) {
      const nl = buf.lastIndexOf(10, end - 1);
      if (nl >= pos) end = nl + 1;
      else {
        const f = buf.indexOf(10, end);
        end = f < 0 ? n : f + 1;
      }
    }
    const text = buf.toString('utf8', pos, end);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      parseLine(text.slice(start, nl), keep, c, emit);
      start = nl + 1;
    }
    if (start < text.length) parseLine(text.slice(start), keep, c, emit);
    pos = end;
  }
}

/** A parse worker's answer for one block: `size` numbers in its shared output slot, or in `nums` when they did not fit. */
export interface EncodedBlock {
  counts: BlockCounts;
  n: number;
  size: number;
  nums: Float64Array | null;
  strs: string[];
  vals: unknown[];
}

const EVENT_INDEX = new Map<string, number>(RECORD_EVENTS.map((e, i) => [e, i]));
const FIELDS = 24;
const HOLDER_FIELDS = 8;
const f = (v: number | null): number => (v === null ? NaN : v);
/** Number and string fields in encoding order; a string's index (holders' from 9) is its last-value slot. */
const REC_NUMBERS = ['startTime', 'waitId', 'holdId', 'waitedMs', 'heldMs', 'dev', 'ino'] as const;
const REC_STRINGS = ['path', 'host', 'bootId', 'label', 'kind', 'mode', 'stack'] as const;
const HOLDER_STRINGS = ['command', 'stack', 'label', 'lockKind', 'lockMode'] as const;
const nf = (v: number): number | null => (v !== v ? null : v);

export class Encoder {
  #nums = new Float64Array(16 * 1024);
  #at = 0;
  #n = 0;
  #strs: string[] = [];
  readonly #ids = new Map<string, number>();
  #vals: unknown[] = [];
  /** The last string and id per field: most fields repeat the record before (kind, mode, a process's host). */
  readonly #last: (string | null)[] = Array<string | null>(FIELDS + HOLDER_FIELDS).fill(null);
  readonly #lastId = new Float64Array(FIELDS + HOLDER_FIELDS).fill(-1);

  #s(v: string | null, field: number): number {
    if (v === null) return -1;
    if (v === this.#last[field]) return this.#lastId[field]!;
    let i = this.#ids.get(v);
    if (i === undefined) {
      i = this.#strs.length;
      this.#strs.push(v);
      this.#ids.set(v, i);
    }
    this.#last[field] = v;
    this.#lastId[field] = i;
    return i;
  }

  #val(v: unknown): number {
    this.#vals.push(v);
    return this.#vals.length - 1;
  }

  push(r: Rec): void {
    const need = this.#at + FIELDS + HOLDER_FIELDS * r.holders.length;
    if (need > this.#nums.length) {
      const grown = new Float64Array(Math.max(need, this.#nums.length * 2));
      grown.set(this.#nums.subarray(0, this.#at));
      this.#nums = grown;
    }
    const a = this.#nums;
    let i = this.#at;
    const hc = r.holdersComplete;
    a[i++] = EVENT_INDEX.get(r.event)!;
    a[i++] = r.t;
    a[i++] = r.pid;
    for (let k = 0; k < REC_NUMBERS.length; k++) a[i++] = f(r[REC_NUMBERS[k]!]);
    for (let k = 0; k < REC_STRINGS.length; k++) a[i++] = this.#s(r[REC_STRINGS[k]!], k);
    a[i++] = hc === null ? -1 : hc === true ? -2 : hc === false ? -3 : this.#val(hc);
    a[i++] = r.snapshot === null ? -1 : this.#val(r.snapshot);
    a[i++] = r.error === null ? 0 : 1;
    a[i++] = this.#s(r.error?.code ?? null, 7);
    a[i++] = f(r.error?.errno ?? null);
    a[i++] = this.#s(r.error?.message ?? null, 8);
    a[i++] = r.holders.length;
    for (const h of r.holders) {
      a[i++] = h.pid;
      a[i++] = f(h.startTime);
      a[i++] = f(h.acquiredAt);
      for (let k = 0; k < HOLDER_STRINGS.length; k++) a[i++] = this.#s(h[HOLDER_STRINGS[k]!], 9 + k);
    }
    this.#at = i;
    this.#n++;
  }

  /** The block so far, its numbers copied into `into` when they fit; then starts the next block. */
  finish(counts: BlockCounts, into: Float64Array | null = null): EncodedBlock {
    const nums = this.#nums.subarray(0, this.#at);
    const fits = into !== null && nums.length <= into.length;
    if (fits) into.set(nums);
    const b: EncodedBlock = { counts, n: this.#n, size: this.#at, nums: fits ? null : nums.slice(), strs: this.#strs, vals: this.#vals };
    this.#at = 0;
    this.#n = 0;
    this.#strs = [];
    this.#ids.clear();
    this.#vals = [];
    this.#last.fill(null);
    return b;
  }
}

const NO_HOLDERS: readonly RecHolder[] = Object.freeze([]);

/**
 * Calls `fn` with each record of `b`, in order, as the worker's digest() built it. One object is
 * reused for every record (Reconstructor.add keeps none of it): the main thread's allocation
 * rate is what bounds the parallel reader.
 */
export function decodeBlock(b: EncodedBlock, slot: Float64Array | null, fn: (r: Rec) => void): void {
  const a = b.nums ?? slot!;
  const { strs, vals } = b;
  const s = (i: number): string | null => (i < 0 ? null : strs[i]!);
  const r: Rec = {
    event: 'acquired',
    t: 0,
    path: '',
    pid: 0,
    host: null,
    bootId: null,
    startTime: null,
    label: null,
    kind: null,
    mode: null,
    waitId: null,
    holdId: null,
    waitedMs: null,
    heldMs: null,
    dev: null,
    ino: null,
    holders: NO_HOLDERS as RecHolder[],
    holdersComplete: null,
    stack: null,
    snapshot: null,
    error: null,
  };
  const m = r as unknown as Record<string, unknown>;
  let i = 0;
  for (let k = 0; k < b.n; k++) {
    r.event = RECORD_EVENTS[a[i]!]!;
    r.t = a[i + 1]!;
    r.pid = a[i + 2]!;
    // path's index is never -1: it comes out a string.
    for (let j = 0; j < REC_NUMBERS.length; j++) m[REC_NUMBERS[j]!] = nf(a[i + 3 + j]!);
    for (let j = 0; j < REC_STRINGS.length; j++) m[REC_STRINGS[j]!] = s(a[i + 10 + j]!);
    const hc = a[i + 17]!;
    r.holdersComplete = hc === -1 ? null : hc === -2 ? true : hc === -3 ? false : (vals[hc] as boolean | null);
    const sn = a[i + 18]!;
    r.snapshot = sn === -1 ? null : (vals[sn] as SnapshotSummary);
    r.error = a[i + 19] === 1 ? { code: s(a[i + 20]!), errno: nf(a[i + 21]!), message: s(a[i + 22]!) } : null;
    const nh = a[i + 23]!;
    i += FIELDS;
    if (nh === 0) r.holders = NO_HOLDERS as RecHolder[];
    else {
      r.holders = [];
      for (let h = 0; h < nh; h++, i += HOLDER_FIELDS) {
        r.holders.push({
          pid: a[i]!,
          startTime: nf(a[i + 1]!),
          acquiredAt: nf(a[i + 2]!),
          command: s(a[i + 3]!),
          stack: s(a[i + 4]!),
          label: s(a[i + 5]!),
          lockKind: s(a[i + 6]!),
          lockMode: s(a[i + 7]!),
        });
      }
    }
    fn(r);
  }
}
