/**
 * Main-thread side of blocking waits: a pool of dedicated waiter threads (waiter.ts), one blocking
 * lock call each. Why not koffi `.async`: it parks the call on the libuv threadpool (4 threads
 * shared with fs, dns.lookup, crypto, zlib), so a few waits starve the whole process. A thread
 * blocked in the kernel is woken by the kernel's own queue within microseconds of a release; it
 * reports through shared memory and Atomics.notify, which wakes the main thread's
 * Atomics.waitAsync (no message to serialize or dispatch), and costs no CPU while waiting.
 *
 * Liveness: a thread with a job is ref'd (a pending wait keeps the process alive like pending I/O);
 * idle threads are unref'd and retire after IDLE_MS to 2 x IDLE_MS (one sweep timer for the pool,
 * so a hand-off arms no timer). Cancellation interrupts the blocked syscall
 * with SIGURG sent to that thread (see waiter.ts for the protocol). At process 'exit' (process.exit(),
 * uncaught exception) every blocked thread is interrupted synchronously, because Node would
 * otherwise hang joining a thread stuck in flock().
 */
import { performance } from 'node:perf_hooks';
import { Worker, SHARE_ENV } from 'node:worker_threads';
import { afterTurn } from '../../after-turn.js';
import type { LockKind } from '../../errors.js';
import type { PendingWait, WaitDone } from '../types.js';
import { libc, SIGURG, SA_RESTART, SIGACTION_SIZE, SIGACTION_FLAGS_OFFSET } from './libc.js';
import {
  S_TID,
  S_JOB,
  S_CANCEL,
  S_DONE,
  S_PAUSE,
  S_PAUSED,
  S_ERRNO,
  S_CANCELLED,
  S_SLOTS,
  KIND_FLOCK,
  KIND_POSIX,
  KIND_OFD,
  type WaitJob,
} from './protocol.js';

/** An idle waiter thread retires after this long (spawning one costs ~30-50 ms). */
const IDLE_MS = 5_000;
/** Re-send period for the interrupt signal while a cancel is unacknowledged. */
const RESEND_MS = 1;
/** Upper bound on the synchronous interrupt loop at process exit. */
const EXIT_WAIT_MS = 1_000;
/**
 * Upper bound for threads still starting at exit (normally ~50 ms; far more on an overloaded
 * machine). Terminating one mid-start aborts the process, so this wait is worth it.
 */
const EXIT_START_WAIT_MS = 5_000;

const WAITER_URL = new URL('./waiter.js', import.meta.url);

class WaiterThread {
  readonly s: Int32Array;
  readonly worker: Worker;
  job: Job | null = null;
  /** performance.now() when it last became idle. */
  idleSince = 0;
  /** Whether the worker is ref'd (it is while it has a job, and until the turn it ended in is over). */
  refd = true;

  constructor() {
    const sab = new SharedArrayBuffer(S_SLOTS * 4);
    this.s = new Int32Array(sab);
    this.worker = new Worker(WAITER_URL, {
      workerData: { sab },
      name: 'lockscope-waiter',
      env: SHARE_ENV,
      // The parent's flags (loaders, --inspect...) are not for this plain script.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.worker.on('error', (err) => onDeath(this, err));
    this.worker.on('exit', (code) => onDeath(this, new Error(`lockscope waiter thread exited (code ${code})`)));
  }

  /** Interrupt the blocked syscall if this job is inside its lock loop. */
  kick(seq: number): void {
    if (Atomics.load(this.s, S_JOB) !== seq) return;
    const tid = Atomics.load(this.s, S_TID);
    if (tid !== 0) libc().tgkill(process.pid, tid, SIGURG);
  }
}

class Job implements PendingWait {
  cancelRequested = false;
  finished = false;
  constructor(
    readonly thread: WaiterThread,
    readonly seq: number,
    readonly done: WaitDone,
  ) {}

  cancel(): void {
    if (this.finished || this.cancelRequested) return;
    this.cancelRequested = true;
    Atomics.store(this.thread.s, S_CANCEL, this.seq);
    ensureInterruptSignal();
    this.thread.kick(this.seq);
    cancelling.add(this.thread);
    resendTimer ??= setInterval(resend, RESEND_MS);
  }
}

const idle: WaiterThread[] = [];
const all = new Set<WaiterThread>();
const cancelling = new Set<WaiterThread>();
let resendTimer: NodeJS.Timeout | null = null;
let seqCounter = 0;
let installed = false;

const KIND_CODE: Record<LockKind, number> = { flock: KIND_FLOCK, posix: KIND_POSIX, ofd: KIND_OFD };

export function startWait(fd: number, kind: LockKind, exclusive: boolean, start: number, length: number, done: WaitDone): PendingWait {
  if (!installed) install();
  const t = idle.pop() ?? spawn();
  seqCounter = seqCounter >= 0x7fffffff ? 1 : seqCounter + 1;
  const job = new Job(t, seqCounter, done);
  t.job = job;
  if (!t.refd) {
    t.refd = true;
    t.worker.ref();
  }
  // Read before the job is posted: the thread may finish it before waitAsync below is armed.
  const prev = Atomics.load(t.s, S_DONE);
  const msg: WaitJob = { seq: job.seq, fd, kind: KIND_CODE[kind], exclusive, start, length };
  t.worker.postMessage(msg);
  awaitDone(t, job, prev);
  return job;
}

// ES2024 lib typing; present in every supported Node (V8 8.7+).
const atomics = Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number): { async: false; value: string } | { async: true; value: Promise<string> };
};

/** Wake when the thread stores S_DONE (its Atomics.notify); then report the job's result. */
function awaitDone(t: WaiterThread, job: Job, prev: number): void {
  const r = atomics.waitAsync(t.s, S_DONE, prev);
  if (r.async) void r.value.then(() => onDone(t, job));
  else queueMicrotask(() => onDone(t, job));
}

function onDone(t: WaiterThread, job: Job): void {
  if (t.job !== job || job.finished) return; // the thread died and onDeath reported it
  const done = Atomics.load(t.s, S_DONE);
  if (done !== job.seq) {
    awaitDone(t, job, done);
    return;
  }
  onResult(t, Atomics.load(t.s, S_ERRNO), Atomics.load(t.s, S_CANCELLED) === 1);
}

/** Number of live waiter threads and of those currently waiting (for tests and diagnostics). */
export function waiterStats(): { threads: number; busy: number } {
  let busy = 0;
  for (const t of all) if (t.job) busy++;
  return { threads: all.size, busy };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Bring every blocked wait out of the kernel, synchronously, for at most `maxMs`. Returns the
 * function that lets them take their lock calls up again, or null (nothing left paused) when one
 * did not step out in time. Threads that are not inside a lock call run JS and need nothing.
 */
export function pauseWaits(maxMs: number): (() => void) | null {
  if (all.size === 0) return resumeNothing;
  const threads = [...all];
  for (const t of threads) Atomics.store(t.s, S_PAUSE, 1);
  ensureInterruptSignal();
  const t0 = performance.now();
  for (;;) {
    let blocked = 0;
    for (const t of threads) {
      const seq = Atomics.load(t.s, S_JOB);
      if (seq !== 0 && Atomics.load(t.s, S_PAUSED) !== seq) {
        blocked++;
        t.kick(seq);
      }
    }
    if (blocked === 0) return () => resume(threads);
    if (performance.now() - t0 >= maxMs) {
      resume(threads);
      return null;
    }
    Atomics.wait(sleepCell, 0, 0, RESEND_MS);
  }
}

function resumeNothing(): void {}

function resume(threads: WaiterThread[]): void {
  for (const t of threads) {
    Atomics.store(t.s, S_PAUSE, 0);
    Atomics.notify(t.s, S_PAUSE);
  }
}

function spawn(): WaiterThread {
  const t = new WaiterThread();
  all.add(t);
  sweepTimer ??= setInterval(sweepIdle, IDLE_MS).unref();
  return t;
}

let sweepTimer: NodeJS.Timeout | null = null;

/** Retire threads idle for IDLE_MS or more; the sweep stops once the pool is empty. */
function sweepIdle(): void {
  const now = performance.now();
  for (const t of idle.slice()) if (now - t.idleSince >= IDLE_MS) retire(t);
  if (all.size === 0 && sweepTimer !== null) {
    clearInterval(sweepTimer);
    sweepTimer = null;
  }
}

function onResult(t: WaiterThread, errno: number, cancelled: boolean): void {
  const job = t.job!;
  job.finished = true;
  t.job = null;
  if (job.cancelRequested) cancelling.delete(t);
  // Back to the pool before `done`: done may start the next wait on this very thread.
  idle.push(t);
  t.idleSince = performance.now();
  job.done(errno, cancelled);
  // An idle thread must not keep the process alive, but unref'ing it at once would put two native
  // calls between the wake-up and the caller's continuation, and a ref() back on the next wait (a
  // hand-off loop reuses the thread at once). So idle threads are unref'd once this turn is over.
  afterTurn(unrefIdle);
}

function unrefIdle(): void {
  for (const t of idle) {
    if (!t.refd) continue;
    t.refd = false;
    t.worker.unref();
  }
}

function onDeath(t: WaiterThread, cause: unknown): void {
  if (!all.delete(t)) return;
  const i = idle.indexOf(t);
  if (i >= 0) idle.splice(i, 1);
  cancelling.delete(t);
  const job = t.job;
  t.job = null;
  if (job && !job.finished) {
    // The thread is gone, so it no longer uses the fd: the engine may close it.
    job.finished = true;
    job.done(0, false, cause);
  }
}

function retire(t: WaiterThread): void {
  if (t.job) return;
  all.delete(t);
  const i = idle.indexOf(t);
  if (i >= 0) idle.splice(i, 1);
  t.worker.terminate().catch(() => {});
}

function resend(): void {
  for (const t of cancelling) {
    const job = t.job;
    if (!job || Atomics.load(t.s, S_DONE) === job.seq) cancelling.delete(t);
    else t.kick(job.seq);
  }
  if (cancelling.size === 0 && resendTimer) {
    clearInterval(resendTimer);
    resendTimer = null;
  }
}

function install(): void {
  installed = true;
  ensureInterruptSignal();
  process.on('exit', interruptAllSync);
}

function noop(): void {}
const sigBuf = Buffer.alloc(SIGACTION_SIZE);

/**
 * Make SIGURG interrupt blocking syscalls. libuv installs signal handlers with SA_RESTART (the
 * kernel would silently restart flock), so after Node installed its handler (via a no-op listener;
 * Node unrefs signal handles, so this keeps nothing alive) clear that flag. Re-checked before each
 * cancel: if all SIGURG listeners were removed and re-added, libuv reinstalled the handler.
 * SIGURG because its default action is "ignore": a stray one harms nothing.
 */
export function ensureInterruptSignal(): void {
  if (!process.listeners('SIGURG').includes(noop)) process.on('SIGURG', noop);
  const c = libc();
  if (c.sigaction(SIGURG, null, sigBuf) !== 0) return;
  const flags = sigBuf.readInt32LE(SIGACTION_FLAGS_OFFSET);
  if ((flags & SA_RESTART) === 0) return;
  sigBuf.writeInt32LE(flags & ~SA_RESTART, SIGACTION_FLAGS_OFFSET);
  c.sigaction(SIGURG, sigBuf, null);
}

/**
 * process 'exit': interrupt every blocked waiter now, or Node hangs joining its thread. Threads
 * still starting are awaited too (bounded): terminating a thread while it loads koffi's native
 * module aborts the whole process (koffi throws from its module init during teardown).
 */
function interruptAllSync(): void {
  const pending: Array<[WaiterThread, number]> = [];
  for (const t of all) {
    const seq = t.job?.seq ?? 0;
    if (seq !== 0) Atomics.store(t.s, S_CANCEL, seq);
    pending.push([t, seq]);
  }
  const t0 = Date.now();
  let starting = true;
  while (pending.length > 0 && Date.now() - t0 < (starting ? EXIT_START_WAIT_MS : EXIT_WAIT_MS)) {
    starting = false;
    for (let i = pending.length - 1; i >= 0; i--) {
      const [t, seq] = pending[i]!;
      if (Atomics.load(t.s, S_TID) === 0) {
        starting = true;
        continue;
      }
      // Not inside its lock loop (not started, or already out): it will not block.
      if (seq === 0 || Atomics.load(t.s, S_DONE) === seq || Atomics.load(t.s, S_JOB) !== seq) pending.splice(i, 1);
      else t.kick(seq);
    }
    const first = pending[0];
    if (first === undefined) break;
    const [t, seq] = first;
    if (Atomics.load(t.s, S_TID) === 0) Atomics.wait(t.s, S_TID, 0, RESEND_MS);
    else Atomics.wait(t.s, S_DONE, Atomics.load(t.s, S_DONE), seq === 0 ? 0 : RESEND_MS);
  }
}
