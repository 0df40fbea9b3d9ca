/** Message and shared-memory layout between waiters.ts (main thread) and waiter.ts (waiter thread). */

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
