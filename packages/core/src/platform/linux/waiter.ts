/**
 * Waiter thread: makes ONE blocking lock call at a time (flock LOCK_EX/LOCK_SH, F_SETLKW,
 * F_OFD_SETLKW) on an fd the main thread opened. The fd table is per process, so the lock lands on
 * the main thread's open file description (flock/OFD) or on the process (POSIX).
 *
 * Cancellation protocol (shared Int32Array, see waiters.ts for the other side):
 * the main thread stores the job's seq in CANCEL, then sends SIGURG (handler without SA_RESTART)
 * to this thread's tid until DONE == seq. Here: publish JOB = seq, check CANCEL before every
 * attempt, retry on EINTR unless cancelled. A signal that lands before the syscall starts is lost,
 * which is why the main thread keeps re-sending until DONE moves. The result (ERRNO, CANCELLED,
 * then DONE = seq, notified) is read by the main thread's Atomics.waitAsync.
 *
 * Pause (for process.report.getReport(), which waits for every worker thread to run JS): while
 * PAUSE is 1 the loop leaves the kernel on the same signal, publishes PAUSED = seq and waits in
 * Atomics.wait, where V8 still runs the report's interrupt; then it takes the lock call up again.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { libc, fillFlock, FLOCK_SIZE, LOCK_EX, LOCK_SH, F_SETLKW, F_OFD_SETLKW, F_RDLCK, F_WRLCK } from './libc.js';
import {
  announceThread,
  cancelRequested,
  enterJob,
  finishJob,
  pauseRequested,
  stepAside,
  KIND_FLOCK,
  KIND_POSIX,
  type WaitJob,
} from './protocol.js';

const EINTR = 4;
const port = parentPort!;
const S = new Int32Array((workerData as { sab: SharedArrayBuffer }).sab);
const c = libc();
const flockBuf = Buffer.alloc(FLOCK_SIZE);

announceThread(S, c.gettid());

port.on('message', (job: WaitJob) => {
  enterJob(S, job.seq);
  let errno = 0;
  let cancelled = false;
  for (;;) {
    if (cancelRequested(S, job.seq)) {
      cancelled = true;
      break;
    }
    if (pauseRequested(S)) {
      stepAside(S, job.seq);
      continue;
    }
    let rc: number;
    if (job.kind === KIND_FLOCK) {
      rc = c.flock(job.fd, job.exclusive ? LOCK_EX : LOCK_SH);
    } else {
      fillFlock(flockBuf, job.exclusive ? F_WRLCK : F_RDLCK, job.start, job.length);
      rc = c.fcntl(job.fd, job.kind === KIND_POSIX ? F_SETLKW : F_OFD_SETLKW, flockBuf);
    }
    if (rc === 0) break; // granted: report it even if a cancel raced in; the main side unlocks
    errno = c.errno();
    if (errno !== EINTR) break;
    errno = 0;
  }
  finishJob(S, job.seq, errno, cancelled);
});
