/** Messages between the parallel full scan (probe-parallel.ts) and its worker (probe-scan-worker.ts). */
import type { RawScan } from './probe-scan.js';

/** Int32 slots of the shared control array: next queue index, stop flag, job state, then the pids. */
export const CTL_NEXT = 0;
export const CTL_STOP = 1;
/** 0: not started; 1: the worker started it; 2: the main thread finished before the worker started. */
export const CTL_STATE = 2;
export const CTL_HEAD = 3;

export interface ScanJob {
  id: number;
  /** SharedArrayBuffer of Int32: [next index, stop flag, state, ...pids]. */
  ctl: SharedArrayBuffer;
  inos: number[];
  tokens: [string, Uint8Array][];
  maps: boolean;
  native: boolean;
  /** Tests only: make the worker fail mid-scan. */
  fault?: 'throw';
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
