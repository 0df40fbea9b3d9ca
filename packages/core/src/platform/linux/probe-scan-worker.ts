/**
 * The worker thread of the parallel full scan (probe-parallel.ts). It takes pids from the queue it
 * shares with the main thread (an index bumped with Atomics.add), scans their fds (the same native
 * scan, procfs.ts, loaded in this thread) and maps, and posts back only what the main thread needs:
 * the raw scans of pids with a hit or an error, and the plain pids with nothing of interest.
 */
import { parentPort } from 'node:worker_threads';
import { WORKER_READY } from '../../worker-boot.js';
import { setDentsBufferSizeForTest } from './procfs.js';
import { scanMaps, startFdScan, type RawScan, type ScanSpec } from './probe-scan.js';
import {
  claimJob,
  fdSlot,
  noteFdPid,
  stopRequested,
  takePid,
  WORKER_STALLED,
  type ScanBatch,
  type ScanJob,
} from './probe-parallel-protocol.js';
import { setWorkerFdSlot } from './probe-worker-fd.js';

// A pause point between getdents64 batches of a process with many fds, to see a stop request.
const BUDGET_MS = 2;
const BATCH = 64;

function run(job: ScanJob): void {
  const ctl = new Int32Array(job.ctl);
  const spec: ScanSpec = {
    inos: new Set(job.inos),
    tokens: job.tokens.map(([k, t]) => [k, Buffer.from(t.buffer, t.byteOffset, t.byteLength)]),
    maps: job.maps,
    native: job.native,
  };
  const stopped = (): boolean => stopRequested(ctl);
  let batch: ScanBatch = { id: job.id, end: false, empty: [], fds: 0, raws: [] };
  const flush = (end: boolean): void => {
    batch.end = end;
    parentPort!.postMessage(batch);
    batch = { id: job.id, end: false, empty: [], fds: 0, raws: [] };
  };
  let count = 0;
  setWorkerFdSlot(fdSlot(ctl));
  // A job the main thread already finished alone (this worker booted too late) is only acknowledged.
  const started = claimJob(ctl, 'worker');
  while (started && !stopped()) {
    const pid = takePid(ctl);
    if (pid === undefined) break;
    if (job.fault === 'throw' && count === 3) throw new Error('lockscope: injected scan worker fault (test)');
    noteFdPid(ctl, pid);
    if (job.fault === 'stall') stall(ctl, spec);
    const fds = startFdScan(pid, spec, BUDGET_MS);
    try {
      while (fds.pending && !stopped()) fds.pending.resume(BUDGET_MS);
    } finally {
      fds.pending?.cancel(); // closes the directory fd of a scan cut short
    }
    const raw: RawScan = { pid, fds, maps: stopped() ? null : scanMaps(pid, fds, spec) };
    const nothing = fds.error === null && fds.denied === null && fds.hits.length === 0 && (raw.maps === null || raw.maps.length === 0);
    if (nothing) {
      batch.empty.push(pid);
      batch.fds += fds.scanned;
    } else {
      batch.raws.push(raw);
    }
    if (++count % BATCH === 0) flush(false);
  }
  // The injected fault must fire in every job, even one the main thread (nearly) finished alone.
  if (job.fault === 'throw') throw new Error('lockscope: injected scan worker fault (test)');
  flush(true);
}

/** Tests: a worker deaf to the stop flag, mid-scan of this process with its directory fd open. */
function stall(ctl: Int32Array, spec: ScanSpec): never {
  setDentsBufferSizeForTest(280); // about 10 entries per batch: this process has more fds
  noteFdPid(ctl, process.pid);
  startFdScan(process.pid, spec, 0);
  parentPort!.postMessage(WORKER_STALLED);
  for (;;) stopRequested(ctl);
}

parentPort!.on('message', (job: ScanJob) => run(job));
// Booted: a worker terminated while it loads its modules leaks the fds of the files being read
// (Node), so the main thread waits for this. koffi loads at the first job, not here: a process
// ending while a worker loads koffi aborts in napi_throw (Node 24, about 1 exit in 100).
parentPort!.postMessage(WORKER_READY);
