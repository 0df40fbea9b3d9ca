/**
 * Streams records into bounded aggregates: per path, per process (host + boot + pid + start
 * time), open waits and holds matched by waitId/holdId, and the bars of a timeline (at most
 * `maxBars` per process). Memory grows with the number of processes and paths, not of records.
 */
import { commandLine } from '../cli/quote.js';
import type { LockscopeRecord, RecordHolder } from '../record/index.js';
import type { Bar, Concern, HolderRef, OpenHold, OutsideHold, PathStats, Proc, SnapshotSummary } from './model.js';

export interface ReconstructOptions {
  maxBars: number;
  /** Open waits/holds remembered at most per process (one that died mid-wait leaves one open forever). */
  maxOpen: number;
  /** Leaked / held-too-long entries listed at most (the rest are counted). */
  maxConcerns: number;
}

export const DEFAULT_RECONSTRUCT: ReconstructOptions = { maxBars: 60, maxOpen: 10_000, maxConcerns: 200 };
const MAX_PATH_HOLDERS = 20;
const MAX_STACK_CHARS = 4000;
const MAX_LABELS = 5;
const MAX_STACKS_PER_PROC = 16;
const MAX_OUTSIDE = 10_000;
const FAILED = new Set(['timeout', 'aborted', 'error', 'leaked']);

const scoreOf = (outcome: string, heldTooLong: boolean, ms: number): number => (heldTooLong || FAILED.has(outcome) ? 1e15 : 0) + ms;
const score = (b: Bar): number => scoreOf(b.outcome, b.heldTooLong, b.to - b.from);
const openHold = (r: LockscopeRecord, from: number, to: number): OpenHold => ({
  path: r.path,
  from,
  to,
  label: r.label ?? null,
  mode: r.mode ?? null,
  lockKind: r.kind ?? null,
  heldTooLong: false,
});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const clip = (s: unknown): string | null =>
  typeof s === 'string' ? (s.length > MAX_STACK_CHARS ? `${s.slice(0, MAX_STACK_CHARS)}\n...` : s) : null;

export function commandOf(h: Pick<RecordHolder, 'argv' | 'command'>): string | null {
  const argv = Array.isArray(h.argv) && h.argv.every((a) => typeof a === 'string') ? h.argv : null;
  return commandLine(argv, typeof h.command === 'string' ? h.command : null);
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
  readonly #byPid = new Map<number, Proc[]>();
  #bars = 0;
  readonly #o: ReconstructOptions;

  constructor(o: Partial<ReconstructOptions> = {}) {
    this.#o = { ...DEFAULT_RECONSTRUCT, ...o };
  }

  /**
   * The process, found by host/boot/pid; start time tells apart a reused pid when both sides know
   * it (a missing boot id or start time, from older records or an unreadable holder, matches any).
   */
  proc(host: string | null, bootId: string | null, pid: number, startTime: number | null, scope: string): Proc {
    const hostKey = host ?? scope;
    let list = this.#byPid.get(pid);
    if (list) {
      let loose: Proc | undefined;
      for (const p of list) {
        if (p.hostKey !== hostKey || (p.bootId !== bootId && p.bootId !== null && bootId !== null)) continue;
        if (p.startTime === startTime && p.bootId === bootId) return p;
        if (p.startTime === null || startTime === null || p.startTime === startTime) loose ??= p;
      }
      if (loose) {
        loose.startTime ??= startTime;
        loose.bootId ??= bootId;
        return loose;
      }
    } else {
      list = [];
      this.#byPid.set(pid, list);
    }
    const id = `${hostKey}|${bootId ?? ''}|${pid}|${startTime ?? ''}|${this.procs.size}`;
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
      hostKey,
      minBar: -1,
      minScore: Infinity,
      openWaits: new Map(),
      openHolds: new Map(),
    };
    this.procs.set(id, p);
    list.push(p);
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

  #waitBar(r: LockscopeRecord, from: number, to: number): Bar {
    return {
      id: `b${++this.#bars}`,
      kind: 'wait',
      path: r.path,
      from,
      to,
      outcome: 'unfinished',
      label: r.label ?? null,
      mode: r.mode ?? null,
      lockKind: r.kind ?? null,
      waitedMs: null,
      heldMs: null,
      heldTooLong: false,
      code: null,
      errno: null,
      message: null,
      stack: clip(r.snapshot?.stack),
      holders: [],
      holdersComplete: null,
      snapshot: null,
    };
  }

  /** Keeps the bar if it is among the proc's `maxBars` most telling (failures first, then longest). */
  #keep(proc: Proc, bar: Bar): void {
    const bars = proc.bars;
    if (bars.length < this.#o.maxBars) {
      bars.push(bar);
      if (bars.length === this.#o.maxBars) this.#rescan(proc);
      return;
    }
    proc.barsDropped++;
    if (score(bar) <= proc.minScore) return;
    bars[proc.minBar] = bar;
    this.#rescan(proc);
  }

  #rescan(proc: Proc): void {
    proc.minScore = Infinity;
    for (let i = 0; i < proc.bars.length; i++) {
      const s = score(proc.bars[i]!);
      if (s < proc.minScore) {
        proc.minScore = s;
        proc.minBar = i;
      }
    }
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
      const label = typeof card?.label === 'string' ? card.label : null;
      if (label) this.#label(hp, label);
      if (stack && hp.stacks.size < MAX_STACKS_PER_PROC && !hp.stacks.has(r.path)) hp.stacks.set(r.path, stack);
      const acquiredAt = typeof card?.acquiredAt === 'number' ? card.acquiredAt : null;
      out.push({ proc: hp.id, pid: h.pid, command, label, stack, lockKind: str(h.lockKind), lockMode: str(h.lockMode), acquiredAt });
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

  #bound<T>(m: Map<number, T>, k: number, v: T): void {
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
    const wk = typeof r.waitId === 'number' ? r.waitId : null;
    const hk = typeof r.holdId === 'number' ? r.holdId : null;
    const waits = p.openWaits;
    const holds = p.openHolds;
    switch (r.event) {
      case 'contended': {
        if (wk === null) return;
        const w = waits.get(wk);
        const holders = this.#holderRefs(r, p, t, scope);
        if (w) {
          if (holders.length > 0) w.bar.holders = holders;
          return;
        }
        const bar = this.#waitBar(r, t - (r.waitedMs ?? 0), t);
        bar.holders = holders;
        bar.holdersComplete = r.holdersComplete ?? null;
        bar.snapshot = snapshotSummary(r.snapshot);
        this.#bound(waits, wk, { bar, dev: r.dev ?? null, ino: r.ino ?? null });
        return;
      }
      case 'acquired':
      case 'timeout':
      case 'aborted':
      case 'error': {
        const open = wk === null ? undefined : waits.get(wk);
        if (open) waits.delete(wk!);
        if (open || r.event !== 'acquired') {
          const bar = open?.bar ?? this.#waitBar(r, t - (r.waitedMs ?? 0), t);
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
          if (r.error && typeof r.error === 'object') {
            bar.code = str(r.error.code);
            bar.errno = typeof r.error.errno === 'number' ? r.error.errno : null;
            bar.message = str(r.error.message);
          }
          this.#wait(p, r.dev ?? null, r.ino ?? null, bar);
        }
        if (r.event === 'acquired' && hk !== null) this.#bound(holds, hk, openHold(r, t, t));
        return;
      }
      case 'held-too-long': {
        this.#concern('held-too-long', p, r, t);
        const h = hk === null ? undefined : holds.get(hk);
        if (h) {
          h.heldTooLong = true;
          h.to = t;
        } else if (hk !== null) {
          const o = openHold(r, t - (r.heldMs ?? 0), t);
          o.heldTooLong = true;
          this.#bound(holds, hk, o);
        }
        return;
      }
      case 'released':
      case 'leaked': {
        if (r.event === 'leaked') this.#concern('leaked', p, r, t);
        const h = hk === null ? undefined : holds.get(hk);
        if (h) holds.delete(hk!);
        const o = h ?? openHold(r, t - (r.heldMs ?? 0), t);
        o.to = t;
        this.#hold(p, o, r.event, r.heldMs ?? t - o.from);
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

  #hold(p: Proc, o: OpenHold, outcome: Bar['outcome'], ms: number): void {
    p.holds++;
    p.heldMs += ms;
    const stack = (): string | null => p.stacks.get(o.path) ?? null;
    if (!p.longestHold || ms > p.longestHold.ms) p.longestHold = { ms, path: o.path, label: o.label, stack: stack(), from: o.from };
    // Build a bar only when the lane would keep it.
    if (p.bars.length >= this.#o.maxBars && scoreOf(outcome, o.heldTooLong, o.to - o.from) <= p.minScore) {
      p.barsDropped++;
      return;
    }
    const bar: Bar = {
      id: `b${++this.#bars}`,
      kind: 'hold',
      path: o.path,
      from: o.from,
      to: o.to,
      outcome,
      label: o.label,
      mode: o.mode,
      lockKind: o.lockKind,
      waitedMs: null,
      heldMs: ms,
      heldTooLong: o.heldTooLong,
      code: null,
      errno: null,
      message: null,
      stack: stack(),
      holders: [],
      holdersComplete: null,
      snapshot: null,
    };
    this.#keep(p, bar);
  }

  /** Closes what the logs left open: waits never answered, holds never released (still held, or the process died). */
  finish(): void {
    this.#closeOpen();
    // A holder card seen after the hold ended (another file, read later) still says where it was taken.
    for (const p of this.procs.values()) {
      if (p.stacks.size === 0) continue;
      if (p.longestHold && !p.longestHold.stack) p.longestHold.stack = p.stacks.get(p.longestHold.path) ?? null;
      for (const b of p.bars) if (b.kind === 'hold' && !b.stack) b.stack = p.stacks.get(b.path) ?? null;
    }
  }

  #closeOpen(): void {
    for (const proc of this.procs.values()) {
      for (const { bar, dev, ino } of proc.openWaits.values()) {
        bar.waitedMs = bar.to - bar.from;
        this.#wait(proc, dev, ino, bar);
      }
      proc.openWaits.clear();
      for (const o of proc.openHolds.values()) {
        o.to = Math.max(o.to, this.last);
        this.#hold(proc, o, 'open', o.to - o.from);
      }
      proc.openHolds.clear();
    }
    // Holds seen only from outside: processes that never wrote a record (flock(1), python...).
    for (const o of this.outside.values()) {
      const p = this.procs.get(o.proc)!;
      if (p.lockscope) continue;
      const h: OpenHold = {
        path: o.path,
        from: o.from,
        to: o.to,
        label: p.labels[0] ?? null,
        mode: null,
        lockKind: null,
        heldTooLong: false,
      };
      this.#hold(p, h, 'seen', o.to - o.from);
    }
  }
}
