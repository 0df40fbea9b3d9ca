/** Messages between the parallel full scan (probe-parallel.ts) and its worker (probe-scan-worker.ts). */
import type { RawScan } from './probe-scan.js';

/** Int32 slots of the shared control array: next queue index, stop flag, job state, open fd, then the pids. */
const CTL_NEXT = 0;
const CTL_STOP = 1;
/** 0: not started; 1: the worker started it; 2: the main thread finished before the worker started. */
const CTL_STATE = 2;
/**
 * The one fd the worker has open (-1: none: /proc/<CTL_FD_PID>/fd or /maps). A terminated worker
 * runs no `finally`, and its fds are the process's: the main thread closes the noted one after the
 * worker has exited (probe-parallel.ts).
 */
const CTL_FD = 3;
const CTL_FD_PID = 4;
const CTL_HEAD = 5;

/** The control array of a job over `pids` (main thread): the queue full, no stop, no fd open. */
export function newControl(pids: number[]): Int32Array<SharedArrayBuffer> {
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (CTL_HEAD + pids.length)));
  ctl.set(pids, CTL_HEAD);
  ctl[CTL_FD] = -1;
  return ctl;
}

/** The next pid of the queue both threads take from, undefined once it is empty. */
export function takePid(ctl: Int32Array): number | undefined {
  const i = Atomics.add(ctl, CTL_NEXT, 1);
  return i < ctl.length - CTL_HEAD ? ctl[CTL_HEAD + i] : undefined;
}

export function requestStop(ctl: Int32Array): void {
  Atomics.store(ctl, CTL_STOP, 1);
}

export function stopRequested(ctl: Int32Array): boolean {
  return Atomics.load(ctl, CTL_STOP) !== 0;
}

/**
 * Claims a job not started yet, for the worker (it starts it) or the main thread (it finished
 * alone). True for the first side only: the other then knows the job ends without it.
 */
export function claimJob(ctl: Int32Array, by: 'worker' | 'main'): boolean {
  return Atomics.compareExchange(ctl, CTL_STATE, 0, by === 'worker' ? 1 : 2) === 0;
}

/** Worker: the slot it notes its open fd in (probe-worker-fd.ts), and whose directory that fd reads. */
export function fdSlot(ctl: Int32Array): Int32Array {
  return new Int32Array(ctl.buffer, CTL_FD * 4, 1);
}

export function noteFdPid(ctl: Int32Array, pid: number): void {
  ctl[CTL_FD_PID] = pid;
}

/** Main thread, after the worker exited: the fd it left noted open (cleared here), or null. */
export function takeNotedFd(ctl: Int32Array): { fd: number; pid: number } | null {
  const fd = ctl[CTL_FD]!;
  if (fd < 0) return null;
  ctl[CTL_FD] = -1;
  return { fd, pid: ctl[CTL_FD_PID]! };
}

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
