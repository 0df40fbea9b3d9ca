/** Messages between the parallel full scan (probe-parallel.ts) and its worker (probe-scan-worker.ts). */
import type { RawScan } from './probe-scan.js';

/** Int32 slots of the shared control array: next queue index, stop flag, job state, open fd, then the pids. */
export const CTL_NEXT = 0;
export const CTL_STOP = 1;
/** 0: not started; 1: the worker started it; 2: the main thread finished before the worker started. */
export const CTL_STATE = 2;
/**
 * The one fd the worker has open (-1: none: /proc/<CTL_FD_PID>/fd or /maps). A terminated worker
 * runs no `finally`, and its fds are the process's: the main thread closes the noted one after the
 * worker has exited (linux-parallel.ts).
 */
export const CTL_FD = 3;
export const CTL_FD_PID = 4;
export const CTL_HEAD = 5;

/** The worker's first message: its modules (and koffi) are loaded. */
export const WORKER_READY = 'ready';
/** Tests ('stall' fault): the worker holds its directory fd open and ignores the stop flag from now on. */
export const WORKER_STALLED = 'stalled';

export interface ScanJob {
  id: number;
  /** SharedArrayBuffer of Int32: [next index, stop flag, state, ...pids]. */
  ctl: SharedArrayBuffer;
  inos: number[];
  tokens: [string, Uint8Array][];
  maps: boolean;
  native: boolean;
  /** Tests only: make the worker fail mid-scan, or ignore the stop flag with a directory fd open. */
  fault?: 'throw' | 'stall';
}

export interface ScanBatch {
  id: number;
  /** The worker took its last pid (or saw the stop flag): no more batches for this job. */
  end: boolean;
  /** Pids scanned with nothing of interest, and how many fds they had. */
  empty: number[];
  fds: number;
  /** Pids with a hit, a maps line, or an error: applied by the main thread as its own scans. */
  raws: RawScan[];
}
