/**
 * The full scan on two threads. The kernel work per fd (/proc/PID/fd/N lookup + fstatat) is the
 * floor on one core; two idle cores scan /proc ~2x faster. The main thread starts at once; a
 * worker (probe-scan-worker.ts) joins when it has booted, both taking pids from one shared queue
 * (an index bumped with Atomics.add). Matches come back as raw scans the main thread applies as
 * its own (fdinfo and process details stay on the main thread, read only for matched pids).
 * The worker stays warm, unref'd, for a few seconds after a probe for the next one. Any worker
 * failure falls back to the main thread, which scans every pid the worker did not report.
 */
import { closeSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { terminateWhenBooted, WORKER_READY } from '../../worker-boot.js';
import { claimJob, newControl, requestStop, takeNotedFd, takePid, WORKER_STALLED } from './probe-parallel-protocol.js';
import type { ScanBatch, ScanJob } from './probe-parallel-protocol.js';
import type { RawScan, ScanSpec } from './probe-scan.js';

export type ProbeThreads = 1 | 2 | 'auto';

/** 'auto' goes parallel from this many processes: below it the worker's boot is not worth it. */
const AUTO_MIN_PROCESSES = 200;
/** How long an idle worker is kept for the next probe. */
const IDLE_MS = 5000;
/** How long a stopped worker gets to close its directory fd before it is terminated anyway. */
const STOP_GRACE_MS = 1000;

/** What the scan needs from the probe's session (probe.ts). */
export interface ParallelSession<T> {
  readonly deadlineAt: number;
  deadlineHit: boolean;
  readonly scanned: Map<number, T | null>;
  readonly opts: { signal: AbortSignal | undefined };
  expired(): boolean;
  checkAbort(path: string | undefined): void;
  slice(path: string | undefined): Promise<void>;
  idle<R>(p: Promise<R>): Promise<R>;
  spec(maps: boolean): ScanSpec;
  scanPid(pid: number, wantMaps: boolean, listed: boolean): Promise<T | null>;
  apply(raw: RawScan, listed: boolean): T | null;
  applyEmpty(pids: number[], fds: number): void;
}

/** Whether a full scan of `processes` processes runs on two threads. */
export function useThreads(threads: ProbeThreads, processes: number): boolean {
  if (threads === 1) return false;
  if (threads === 2) return true;
  return availableParallelism() > 1 && processes > AUTO_MIN_PROCESSES;
}

interface Running {
  id: number;
  onBatch(b: ScanBatch): void;
  finish(failed: boolean): void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  dead: boolean;
  /** Its modules are loaded (or it has exited). */
  booted: boolean;
  untilBooted: Promise<void>;
  job: Running | null;
  /** The control array of its last job, where it notes its open fd. */
  ctl: Int32Array | null;
  timer: NodeJS.Timeout | undefined;
  ending: Promise<void> | undefined;
}

let warm: Slot | null = null;
/** Workers being terminated in the background once booted (see release). */
const retiring = new Set<Promise<void>>();
let nextId = 1;
let fault: 'throw' | 'stall' | 'boot' | null = null;
let onStalled: (() => void) | null = null;

function spawnSlot(): Slot {
  const file = fault === 'boot' ? './probe-scan-worker-missing.js' : './probe-scan-worker.js';
  const worker = new Worker(new URL(file, import.meta.url));
  let booted!: () => void;
  const untilBooted = new Promise<void>((r) => (booted = r));
  const slot: Slot = {
    worker,
    busy: false,
    dead: false,
    booted: false,
    untilBooted,
    job: null,
    ctl: null,
    timer: undefined,
    ending: undefined,
  };
  const boot = (): void => {
    slot.booted = true;
    booted();
  };
  const lost = (): void => {
    slot.dead = true;
    clearTimeout(slot.timer);
    if (warm === slot) warm = null;
    slot.job?.finish(true);
  };
  worker.on('message', (b: ScanBatch | typeof WORKER_READY | typeof WORKER_STALLED) => {
    if (b === WORKER_READY) return boot();
    if (b === WORKER_STALLED) return onStalled?.();
    const job = slot.job;
    if (job === null || b.id !== job.id) return;
    job.onBatch(b);
    if (b.end) job.finish(false);
  });
  // An uncaught error in the worker ends it: 'error' then 'exit'. Either way the job falls back.
  worker.on('error', lost);
  worker.on('messageerror', lost);
  worker.on('exit', () => {
    boot();
    closeNotedFd(slot.ctl);
    lost();
  });
  return slot;
}

/** The warm worker, or a new one; null when the warm one is busy with another probe. */
function acquire(): Slot | null {
  if (warm !== null && (warm.dead || warm.busy)) {
    if (warm.busy && !warm.dead) return null;
    warm = null;
  }
  warm ??= spawnSlot();
  const slot = warm;
  clearTimeout(slot.timer);
  slot.busy = true;
  slot.worker.ref(); // a probe awaiting only the worker must keep the process alive
  return slot;
}

/**
 * The fd a worker noted open when it ended (terminated mid-read: no `finally` ran), closed once its
 * thread is gone. Checked by its target first: a worker ended between close() and its note leaves
 * a number that may since belong to another open file.
 */
function closeNotedFd(ctl: Int32Array | null): void {
  const noted = ctl === null ? null : takeNotedFd(ctl);
  if (noted === null) return;
  const { fd, pid } = noted;
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return; // closed already
  }
  if (target === `/proc/${pid}/fd` || target === `/proc/${pid}/maps`) closeSync(fd);
}

function terminate(slot: Slot): Promise<void> {
  clearTimeout(slot.timer);
  if (warm === slot) warm = null;
  slot.dead = true;
  // Let boot first: terminating a worker while it loads its modules leaks fds (worker-boot.ts).
  slot.ending ??= terminateWhenBooted(slot.worker, slot.untilBooted);
  return slot.ending;
}

async function release(slot: Slot, keep: boolean): Promise<void> {
  slot.job = null;
  slot.busy = false;
  if (!keep && !slot.booted) {
    // An abort or a deadline does not wait for a worker still booting: it ends in the background.
    slot.worker.unref();
    const p = terminate(slot).catch(() => undefined);
    retiring.add(p);
    void p.then(() => retiring.delete(p));
    return;
  }
  if (!keep || slot.dead) return terminate(slot);
  slot.worker.unref();
  slot.timer = setTimeout(() => void terminate(slot).catch(() => undefined), IDLE_MS);
  slot.timer.unref();
}

/** Ends the warm worker now (tests, benchmarks, a program shutting down early). */
export async function closeScanWorker(): Promise<void> {
  if (warm !== null && !warm.busy) await terminate(warm);
  await Promise.all(retiring);
}

/** Whether a scan worker thread exists (tests). */
export function scanWorkerAlive(): boolean {
  return warm !== null && !warm.dead;
}

/**
 * Tests: make the next workers fail at boot ('boot'), after a few pids ('throw'), or ignore a stop
 * ('stall': the main thread leaves every pid to the worker, and `stalled` is called once it is deaf).
 */
export function setScanWorkerFaultForTest(f: 'throw' | 'stall' | 'boot' | null, stalled?: () => void): void {
  fault = f;
  onStalled = stalled ?? null;
}

/**
 * Scans `pids` on this thread and the worker. Returns true when every pid was visited, false
 * when the deadline cut it short, null when no worker was available (the caller scans alone).
 * Rejects like the single-thread scan on abort, after the worker has stopped.
 */
export async function scanAllParallel<T>(
  s: ParallelSession<T>,
  wantMaps: boolean,
  path: string | undefined,
  pids: number[],
  visit: (pid: number, scan: T) => unknown,
): Promise<boolean | null> {
  const slot = acquire();
  if (slot === null) return null;
  const ctl = newControl(pids);
  const spec = s.spec(wantMaps);
  let ended = false;
  let failed = false;
  let endNow!: () => void;
  const end = new Promise<void>((r) => (endNow = r));
  const finish = (f: boolean): void => {
    if (ended) return;
    ended = true;
    failed = f;
    requestStop(ctl);
    endNow();
  };
  const id = nextId++;
  slot.job = {
    id,
    finish,
    onBatch: (b) => {
      if (ended) return;
      try {
        s.applyEmpty(b.empty, b.fds);
        for (const raw of b.raws) {
          const scan = s.apply(raw, true);
          if (scan) visit(raw.pid, scan);
        }
      } catch {
        finish(true); // the pids this batch did not apply are scanned again below
      }
    },
  };
  const job: ScanJob = {
    id,
    ctl: ctl.buffer,
    inos: [...spec.inos],
    tokens: spec.tokens.map(([k, t]) => [k, new Uint8Array(t)]),
    maps: spec.maps,
    native: spec.native,
    ...(fault === 'throw' || fault === 'stall' ? { fault } : {}),
  };
  slot.ctl = ctl;
  let clean = false;
  try {
    slot.worker.postMessage(job);
    // The 'stall' fault leaves every pid to the worker, so that the worker is the one stopped.
    while (job.fault !== 'stall') {
      if (s.expired()) return false;
      const pid = takePid(ctl);
      if (pid === undefined) break;
      const scan = await s.scanPid(pid, wantMaps, true);
      if (scan) visit(pid, scan);
      await s.slice(path);
    }
    // A worker still booting gets nothing left to do: no waiting for it.
    if (job.fault !== 'stall' && claimJob(ctl, 'main')) finish(false);
    // Otherwise it is finishing the pid it took last.
    if (!(await s.idle(waitEnd(end, s, path)))) return false;
    if (failed) {
      // Fallback: whatever the worker took and did not report, this thread scans now.
      for (const pid of pids) {
        if (s.scanned.has(pid)) continue;
        if (s.expired()) return false;
        const scan = await s.scanPid(pid, wantMaps, true);
        if (scan) visit(pid, scan);
        await s.slice(path);
      }
    }
    clean = !failed;
    return true;
  } finally {
    requestStop(ctl);
    if (!ended && !claimJob(ctl, 'main')) {
      // Stopped early (deadline, abort): the worker sees the flag between fd batches and closes its
      // directory fd before it ends the job; a worker that does not is terminated anyway.
      let t: NodeJS.Timeout | undefined;
      await Promise.race([end, new Promise<void>((r) => (t = setTimeout(r, STOP_GRACE_MS)))]);
      clearTimeout(t);
    }
    // Only a worker that finished a whole job cleanly is kept warm.
    await release(slot, clean && ended);
  }
}

/** Resolves true when the worker's job ends, false at the deadline; rejects on abort. */
function waitEnd<T>(end: Promise<void>, s: ParallelSession<T>, path: string | undefined): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const signal = s.opts.signal;
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      try {
        s.checkAbort(path);
      } catch (e) {
        reject(e);
      }
    };
    void end.then(() => {
      done();
      resolve(true);
    });
    if (Number.isFinite(s.deadlineAt)) {
      timer = setTimeout(
        () => {
          done();
          s.deadlineHit = true;
          resolve(false);
        },
        Math.max(0, s.deadlineAt - performance.now()),
      );
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
  });
}
