/**
 * Streams records into bounded aggregates: per path, per process (host + boot + pid + start
 * time), open waits and holds matched by waitId/holdId, and the bars of a timeline (at most
 * `maxBars` per process). Memory grows with the number of processes and paths, not of records.
 */
import type { Rec } from './digest.js';
import type { Bar, Concern, HolderRef, OpenHold, OutsideHold, PathStats, Proc } from './model.js';

export interface ReconstructOptions {
  maxBars: number;
  /** Open waits/holds remembered at most per process (one that died mid-wait leaves one open forever). */
  maxOpen: number;
  /** Leaked / held-too-long entries listed at most (the rest are counted). */
  maxConcerns: number;
}

export const DEFAULT_RECONSTRUCT: ReconstructOptions = { maxBars: 60, maxOpen: 10_000, maxConcerns: 200 };
const MAX_PATH_HOLDERS = 20;
const MAX_LABELS = 5;
const MAX_STACKS_PER_PROC = 16;
const MAX_OUTSIDE = 10_000;
const FAILED = new Set(['timeout', 'aborted', 'error', 'leaked']);

const scoreOf = (outcome: string, heldTooLong: boolean, ms: number): number => (heldTooLong || FAILED.has(outcome) ? 1e15 : 0) + ms;
const score = (b: Bar): number => scoreOf(b.outcome, b.heldTooLong, b.to - b.from);
const openHold = (r: Rec, from: number, to: number): OpenHold => ({
  path: r.path,
  from,
  to,
  label: r.label,
  mode: r.mode,
  lockKind: r.kind,
  heldTooLong: false,
});

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

  #waitBar(r: Rec, from: number, to: number): Bar {
    return {
      id: `b${++this.#bars}`,
      kind: 'wait',
      path: r.path,
      from,
      to,
      outcome: 'unfinished',
      label: r.label,
      mode: r.mode,
      lockKind: r.kind,
      waitedMs: null,
      heldMs: null,
      heldTooLong: false,
      code: null,
      errno: null,
      message: null,
      stack: r.stack,
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

  #holderRefs(r: Rec, waiter: Proc, t: number, scope: string): HolderRef[] {
    const out: HolderRef[] = [];
    for (const h of r.holders) {
      // The probe sees processes of its own host (and boot).
      const hp = this.proc(waiter.host, waiter.bootId, h.pid, h.startTime, scope);
      const { command, stack, label, acquiredAt } = h;
      if (command && !hp.command) hp.command = command;
      if (label) this.#label(hp, label);
      if (stack && hp.stacks.size < MAX_STACKS_PER_PROC && !hp.stacks.has(r.path)) hp.stacks.set(r.path, stack);
      out.push({ proc: hp.id, pid: h.pid, command, label, stack, lockKind: h.lockKind, lockMode: h.lockMode, acquiredAt });
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

  #concern(kind: Concern['kind'], proc: Proc, r: Rec, t: number): void {
    if (this.concerns.length >= this.#o.maxConcerns) this.concernsDropped++;
    else this.concerns.push({ kind, proc: proc.id, path: r.path, label: r.label, heldMs: r.heldMs, time: t });
  }

  /** `r` is not kept (the parallel reader reuses nothing of it, but nothing here may rely on that). */
  add(r: Rec, scope: string): void {
    const t = r.t;
    // A wait or hold began before the record that reports it.
    const began = t - Math.max(r.waitedMs ?? 0, r.heldMs ?? 0);
    if (began < this.first) this.first = began;
    if (t > this.last) this.last = t;
    const p = this.proc(r.host, r.bootId, r.pid, r.startTime, scope);
    p.lockscope = true;
    p.records++;
    this.#label(p, r.label);
    const wk = r.waitId;
    const hk = r.holdId;
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
        bar.holdersComplete = r.holdersComplete;
        bar.snapshot = r.snapshot;
        this.#bound(waits, wk, { bar, dev: r.dev, ino: r.ino });
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
            bar.holdersComplete = r.holdersComplete;
          } else if (r.event !== 'acquired') {
            // Gave up while they were the known holders: still held at this moment.
            for (const h of bar.holders) this.#seenHolding(this.procs.get(h.proc)!, r.path, t, t);
          }
          bar.to = t;
          bar.outcome = r.event;
          bar.waitedMs = r.waitedMs ?? bar.to - bar.from;
          if (r.error) {
            bar.code = r.error.code;
            bar.errno = r.error.errno;
            bar.message = r.error.message;
          }
          this.#wait(p, r.dev, r.ino, bar);
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
