/**
 * Streams records into bounded aggregates: per path, per process (host + boot + pid + start
 * time), open waits and holds matched by waitId/holdId, and the bars of a timeline (at most
 * `maxBars` per process). Memory grows with the number of processes and paths, not of records.
 */
import { commandLine } from '../cli/quote.js';
import type { LockscopeRecord, RecordHolder } from '../record/index.js';
import type { Bar, Concern, HolderRef, OutsideHold, PathStats, Proc, SnapshotSummary } from './model.js';

export interface ReconstructOptions {
  maxBars: number;
  /** Open waits/holds remembered at most (a process that died mid-wait leaves one open forever). */
  maxOpen: number;
  /** Leaked / held-too-long entries listed at most (the rest are counted). */
  maxConcerns: number;
}

export const DEFAULT_RECONSTRUCT: ReconstructOptions = { maxBars: 60, maxOpen: 100_000, maxConcerns: 200 };
const MAX_PATH_HOLDERS = 20;
const MAX_STACK_CHARS = 4000;
const MAX_LABELS = 5;
const MAX_STACKS_PER_PROC = 16;
const MAX_OUTSIDE = 10_000;
const FAILED = new Set(['timeout', 'aborted', 'error', 'leaked']);

interface OpenWait {
  proc: Proc;
  bar: Bar;
  dev: number | null;
  ino: number | null;
}
interface OpenHold {
  proc: Proc;
  bar: Bar;
}

const clip = (s: unknown): string | null => (typeof s === 'string' ? (s.length > MAX_STACK_CHARS ? `${s.slice(0, MAX_STACK_CHARS)}\n...` : s) : null);

export function commandOf(h: Pick<RecordHolder, 'argv' | 'command'>): string | null {
  return commandLine(Array.isArray(h.argv) ? h.argv : null, typeof h.command === 'string' ? h.command : null);
}

function snapshotSummary(s: LockscopeRecord['snapshot']): SnapshotSummary | null {
  if (!s || typeof s !== 'object') return null;
  return {
    activeResources: typeof s.activeResources === 'object' && s.activeResources !== null ? s.activeResources : {},
    inProcess: Array.isArray(s.inProcess) ? s.inProcess.length : 0,
    eventLoopDelayP99: s.eventLoopDelay?.p99 ?? null,
    rss: s.memory?.rss ?? null,
    heapUsed: s.memory?.heapUsed ?? null,
  };
}

export class Reconstructor {
  readonly procs = new Map<string, Proc>();
  readonly paths = new Map<string, PathStats>();
  readonly concerns: Concern[] = [];
  concernsDropped = 0;
  readonly outside = new Map<string, OutsideHold>();
  outsideDropped = 0;
  unmatched = 0;
  first = Infinity;
  last = -Infinity;
  readonly #waits = new Map<string, OpenWait>();
  readonly #holds = new Map<string, OpenHold>();
  #bars = 0;
  /** First process per host|boot|pid, for records and holders that lack a start time. */
  readonly #byBase = new Map<string, Proc>();
  readonly #o: ReconstructOptions;

  constructor(o: Partial<ReconstructOptions> = {}) {
    this.#o = { ...DEFAULT_RECONSTRUCT, ...o };
  }

  /** The process, found by host/boot/pid; start time tells apart a reused pid when both sides know it. */
  proc(host: string | null, bootId: string | null, pid: number, startTime: number | null, scope: string): Proc {
    const base = `${host ?? scope}|${bootId ?? ''}|${pid}`;
    const exact = this.procs.get(`${base}|${startTime ?? ''}`);
    if (exact) return exact;
    if (startTime !== null) {
      const loose = this.procs.get(`${base}|`);
      if (loose) return loose;
    } else {
      const any = this.#byBase.get(base);
      if (any) return any;
    }
    const id = `${base}|${startTime ?? ''}`;
    const p: Proc = {
      id,
      host,
      bootId,
      pid,
      startTime,
      command: null,
      lockscope: false,
      labels: [],
      records: 0,
      waits: 0,
      holds: 0,
      heldMs: 0,
      longestHold: null,
      bars: [],
      barsDropped: 0,
      stacks: new Map(),
    };
    this.procs.set(id, p);
    if (!this.#byBase.has(base)) this.#byBase.set(base, p);
    return p;
  }

  #path(path: string, dev: number | null, ino: number | null): PathStats {
    const k = `${path}\0${dev ?? ''}\0${ino ?? ''}`;
    let s = this.paths.get(k);
    if (!s) {
      s = { path, dev, ino, waits: 0, timeouts: 0, aborts: 0, errors: 0, maxWaitMs: 0, totalWaitMs: 0, holders: new Map(), holdersMore: 0 };
      this.paths.set(k, s);
    }
    return s;
  }

  #bar(kind: Bar['kind'], r: LockscopeRecord, proc: Proc, from: number, to: number): Bar {
    return {
      id: `b${++this.#bars}`,
      kind,
      path: r.path,
      from,
      to,
      outcome: kind === 'wait' ? 'unfinished' : 'open',
      label: r.label ?? null,
      mode: r.mode ?? null,
      lockKind: r.kind ?? null,
      waitedMs: null,
      heldMs: null,
      heldTooLong: false,
      code: null,
      errno: null,
      message: null,
      stack: kind === 'wait' ? clip(r.snapshot?.stack) : (proc.stacks.get(r.path) ?? null),
      holders: [],
      holdersComplete: null,
      snapshot: null,
    };
  }

  /** Keeps the bar if it is among the proc's `maxBars` most telling (failures first, then longest). */
  #keep(proc: Proc, bar: Bar): void {
    const score = (b: Bar): number => (FAILED.has(b.outcome) || b.heldTooLong ? 1e15 : 0) + (b.to - b.from);
    if (proc.bars.length < this.#o.maxBars) {
      proc.bars.push(bar);
      return;
    }
    let min = 0;
    for (let i = 1; i < proc.bars.length; i++) if (score(proc.bars[i]!) < score(proc.bars[min]!)) min = i;
    proc.barsDropped++;
    if (score(bar) > score(proc.bars[min]!)) proc.bars[min] = bar;
  }

  #holderRefs(r: LockscopeRecord, waiter: Proc, t: number, scope: string): HolderRef[] {
    const out: HolderRef[] = [];
    for (const h of r.holders) {
      if (!h || typeof h !== 'object' || h.role !== 'holder' || !Number.isInteger(h.pid)) continue;
      // The probe sees processes of its own host (and boot).
      const hp = this.proc(waiter.host, waiter.bootId, h.pid, typeof h.startTime === 'number' ? h.startTime : null, scope);
      const command = commandOf(h);
      if (command && !hp.command) hp.command = command;
      const card = h.card && typeof h.card === 'object' ? h.card : null;
      const stack = clip(card?.stack);
      if (card?.label) this.#label(hp, card.label);
      if (stack && hp.stacks.size < MAX_STACKS_PER_PROC && !hp.stacks.has(r.path)) hp.stacks.set(r.path, stack);
      const acquiredAt = typeof card?.acquiredAt === 'number' ? card.acquiredAt : null;
      out.push({ proc: hp.id, pid: h.pid, command, label: card?.label ?? null, stack, lockKind: h.lockKind ?? null, lockMode: h.lockMode ?? null, acquiredAt });
      this.#seenHolding(hp, r.path, acquiredAt !== null && acquiredAt < t ? acquiredAt : t, t);
    }
    return out;
  }

  #seenHolding(p: Proc, path: string, from: number, to: number): void {
    const k = `${p.id}\0${path}`;
    const o = this.outside.get(k);
    if (o) {
      if (from < o.from) o.from = from;
      if (to > o.to) o.to = to;
      o.seen++;
    } else if (this.outside.size < MAX_OUTSIDE) this.outside.set(k, { proc: p.id, path, from, to, seen: 1 });
    else this.outsideDropped++;
  }

  #label(p: Proc, label: string | null): void {
    if (label && p.labels.length < MAX_LABELS && !p.labels.includes(label)) p.labels.push(label);
  }

  #bound<T>(m: Map<string, T>, k: string, v: T): void {
    m.set(k, v);
    if (m.size > this.#o.maxOpen) {
      m.delete(m.keys().next().value!);
      this.unmatched++;
    }
  }

  #concern(kind: Concern['kind'], proc: Proc, r: LockscopeRecord, t: number): void {
    if (this.concerns.length >= this.#o.maxConcerns) this.concernsDropped++;
    else this.concerns.push({ kind, proc: proc.id, path: r.path, label: r.label ?? null, heldMs: r.heldMs ?? null, time: t });
  }

  add(r: LockscopeRecord, t: number, hostHint: string | null, scope: string): void {
    // A wait or hold began before the record that reports it.
    const began = t - Math.max(typeof r.waitedMs === 'number' ? r.waitedMs : 0, typeof r.heldMs === 'number' ? r.heldMs : 0);
    if (began < this.first) this.first = began;
    if (t > this.last) this.last = t;
    const p = this.proc(r.host ?? hostHint, r.bootId ?? null, r.pid, typeof r.startTime === 'number' ? r.startTime : null, scope);
    p.lockscope = true;
    p.records++;
    this.#label(p, r.label);
    const wk = r.waitId == null ? null : `${p.id}#${r.waitId}`;
    const hk = r.holdId == null ? null : `${p.id}#${r.holdId}`;
    switch (r.event) {
      case 'contended': {
        if (wk === null) return;
        const w = this.#waits.get(wk);
        const holders = this.#holderRefs(r, p, t, scope);
        if (w) {
          if (holders.length > 0) w.bar.holders = holders;
          return;
        }
        const bar = this.#bar('wait', r, p, t - (r.waitedMs ?? 0), t);
        bar.holders = holders;
        bar.holdersComplete = r.holdersComplete ?? null;
        bar.snapshot = snapshotSummary(r.snapshot);
        this.#bound(this.#waits, wk, { proc: p, bar, dev: r.dev ?? null, ino: r.ino ?? null });
        return;
      }
      case 'acquired':
      case 'timeout':
      case 'aborted':
      case 'error': {
        const open = wk === null ? undefined : this.#waits.get(wk);
        if (open) this.#waits.delete(wk!);
        if (open || r.event !== 'acquired') {
          const bar = open?.bar ?? this.#bar('wait', r, p, t - (r.waitedMs ?? 0), t);
          if (!open) {
            bar.holders = this.#holderRefs(r, p, t, scope);
            bar.holdersComplete = r.holdersComplete ?? null;
          } else if (r.event !== 'acquired') {
            // Gave up while they were the known holders: still held at this moment.
            for (const h of bar.holders) this.#seenHolding(this.procs.get(h.proc)!, r.path, t, t);
          }
          bar.to = t;
          bar.outcome = r.event;
          bar.waitedMs = r.waitedMs ?? bar.to - bar.from;
          if (r.error) {
            bar.code = r.error.code ?? null;
            bar.errno = typeof r.error.errno === 'number' ? r.error.errno : null;
            bar.message = r.error.message ?? null;
          }
          this.#wait(p, r.dev ?? null, r.ino ?? null, bar);
        }
        if (r.event === 'acquired' && hk !== null) {
          const bar = this.#bar('hold', r, p, t, t);
          this.#bound(this.#holds, hk, { proc: p, bar });
        }
        return;
      }
      case 'held-too-long': {
        this.#concern('held-too-long', p, r, t);
        const h = hk === null ? undefined : this.#holds.get(hk);
        if (h) {
          h.bar.heldTooLong = true;
          h.bar.to = t;
        } else if (hk !== null) {
          const bar = this.#bar('hold', r, p, t - (r.heldMs ?? 0), t);
          bar.heldTooLong = true;
          this.#bound(this.#holds, hk, { proc: p, bar });
        }
        return;
      }
      case 'released':
      case 'leaked': {
        if (r.event === 'leaked') this.#concern('leaked', p, r, t);
        const h = hk === null ? undefined : this.#holds.get(hk);
        if (h) this.#holds.delete(hk!);
        const bar = h?.bar ?? this.#bar('hold', r, p, t - (r.heldMs ?? 0), t);
        bar.to = t;
        bar.outcome = r.event;
        bar.heldMs = r.heldMs ?? t - bar.from;
        this.#hold(p, bar);
        return;
      }
      default:
        return; // probe records carry no lock story
    }
  }

  #wait(p: Proc, dev: number | null, ino: number | null, bar: Bar): void {
    p.waits++;
    const s = this.#path(bar.path, dev, ino);
    const ms = bar.waitedMs ?? 0;
    s.waits++;
    s.totalWaitMs += ms;
    if (ms > s.maxWaitMs) s.maxWaitMs = ms;
    if (bar.outcome === 'timeout') s.timeouts++;
    else if (bar.outcome === 'aborted') s.aborts++;
    else if (bar.outcome === 'error') s.errors++;
    for (const h of bar.holders) {
      if (s.holders.has(h.proc)) {
        if (h.label && !s.holders.get(h.proc)) s.holders.set(h.proc, h.label);
      } else if (s.holders.size < MAX_PATH_HOLDERS) s.holders.set(h.proc, h.label);
      else s.holdersMore++;
    }
    this.#keep(p, bar);
  }

  #hold(p: Proc, bar: Bar): void {
    p.holds++;
    const ms = bar.heldMs ?? bar.to - bar.from;
    p.heldMs += ms;
    if (!bar.stack) bar.stack = p.stacks.get(bar.path) ?? null;
    if (!p.longestHold || ms > p.longestHold.ms) p.longestHold = { ms, path: bar.path, label: bar.label, stack: bar.stack, from: bar.from };
    this.#keep(p, bar);
  }

  /** Closes what the logs left open: waits never answered, holds never released (still held, or the process died). */
  finish(): void {
    for (const { proc, bar, dev, ino } of this.#waits.values()) {
      bar.waitedMs = bar.to - bar.from;
      this.#wait(proc, dev, ino, bar);
    }
    this.#waits.clear();
    for (const { proc, bar } of this.#holds.values()) {
      bar.to = Math.max(bar.to, this.last);
      bar.heldMs = bar.to - bar.from;
      this.#hold(proc, bar);
    }
    this.#holds.clear();
    // Holds seen only from outside: processes that never wrote a record (flock(1), python...).
    for (const o of this.outside.values()) {
      const p = this.procs.get(o.proc)!;
      if (p.lockscope) continue;
      const bar: Bar = {
        id: `b${++this.#bars}`,
        kind: 'hold',
        path: o.path,
        from: o.from,
        to: o.to,
        outcome: 'seen',
        label: p.labels[0] ?? null,
        mode: null,
        lockKind: null,
        waitedMs: null,
        heldMs: o.to - o.from,
        heldTooLong: false,
        code: null,
        errno: null,
        message: null,
        stack: p.stacks.get(o.path) ?? null,
        holders: [],
        holdersComplete: null,
        snapshot: null,
      };
      this.#hold(p, bar);
    }
  }
}
