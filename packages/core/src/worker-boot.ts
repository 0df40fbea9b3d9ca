/**
 * Ending worker threads that may still be booting (the probe's scan worker, the report's parse
 * workers). A worker says WORKER_READY once its modules are loaded; terminating it before that
 * leaks the fds of the module files it was reading (Node 20-26).
 */
import type { Worker } from 'node:worker_threads';

/** A worker's first message: its modules are loaded. */
export const WORKER_READY = 'ready';

/** How long a worker being ended gets to finish booting. */
const BOOT_WAIT_MS = 10_000;

/**
 * Terminates `worker` once `booted` has settled (a few ms; it depends on no other process), or
 * after BOOT_WAIT_MS: a worker that never boots is terminated anyway, a leak rather than a hang.
 */
export async function terminateWhenBooted(worker: Worker, booted: Promise<void>): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([booted, new Promise<void>((r) => (t = setTimeout(r, BOOT_WAIT_MS).unref()))]);
  clearTimeout(t);
  await worker.terminate();
}
