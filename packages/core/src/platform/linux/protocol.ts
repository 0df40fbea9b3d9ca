/**
 * Message and shared-memory layout between waiters.ts (main thread) and waiter.ts (waiter thread),
 * and the waiter thread's half of the protocol on it (the main thread's half is waiters.ts).
 */

/** Int32 slots of the per-thread SharedArrayBuffer. */
export const S_TID = 0; // waiter thread's kernel tid (0 until it started)
export const S_JOB = 1; // seq of the job inside its lock loop, 0 when none
export const S_CANCEL = 2; // seq the main thread wants cancelled
export const S_DONE = 3; // seq of the last job that left its lock loop (notified)
export const S_PAUSE = 4; // 1 while the main thread wants every wait out of the kernel (pauseWaits)
export const S_PAUSED = 5; // seq of the job that stepped out for S_PAUSE, 0 when none
export const S_ERRNO = 6; // that job's errno (0: granted), written before S_DONE
export const S_CANCELLED = 7; // 1 if that job left because it was cancelled, written before S_DONE
export const S_SLOTS = 8;

export const KIND_FLOCK = 0;
export const KIND_POSIX = 1;
export const KIND_OFD = 2;

export interface WaitJob {
  seq: number;
  fd: number;
  kind: number;
  exclusive: boolean;
  start: number;
  length: number;
}

// ---- the waiter thread's side (waiter.ts) ----

/** The thread started: publish its tid (an exiting main thread may be waiting for it). */
export function announceThread(S: Int32Array, tid: number): void {
  Atomics.store(S, S_TID, tid);
  Atomics.notify(S, S_TID);
}

export function enterJob(S: Int32Array, seq: number): void {
  Atomics.store(S, S_JOB, seq);
}

export function cancelRequested(S: Int32Array, seq: number): boolean {
  return Atomics.load(S, S_CANCEL) === seq;
}

export function pauseRequested(S: Int32Array): boolean {
  return Atomics.load(S, S_PAUSE) !== 0;
}

/** Out of the kernel while the main thread pauses every wait: PAUSED = seq, then wait for the pause to end. */
export function stepAside(S: Int32Array, seq: number): void {
  Atomics.store(S, S_PAUSED, seq);
  Atomics.notify(S, S_PAUSED);
  while (Atomics.load(S, S_PAUSE) !== 0) Atomics.wait(S, S_PAUSE, 1);
  Atomics.store(S, S_PAUSED, 0);
}

/**
 * The job left its lock loop: ERRNO and CANCELLED, then DONE = seq, notified. The result goes
 * through shared memory: the main thread's Atomics.waitAsync on S_DONE wakes on this notify,
 * without a message to serialize and dispatch (the hand-off's latency).
 */
export function finishJob(S: Int32Array, seq: number, errno: number, cancelled: boolean): void {
  Atomics.store(S, S_JOB, 0);
  Atomics.store(S, S_ERRNO, errno);
  Atomics.store(S, S_CANCELLED, cancelled ? 1 : 0);
  Atomics.store(S, S_DONE, seq);
  Atomics.notify(S, S_DONE);
}
