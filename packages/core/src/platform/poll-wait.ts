/**
 * A wait made of non-blocking attempts on a timer the main thread controls: used where a blocking
 * lock call cannot be interrupted in a way this project can test (Windows under Wine; macOS has
 * no tgkill for the Linux waiter-thread design). No thread, no libuv threadpool, nothing in flight
 * between attempts: cancel is immediate, can never race a grant, and exit is never held up.
 * Cost: hand-off latency is the current poll period (1 ms, doubling up to `maxMs`) and no FIFO
 * between processes.
 */
import type { PendingWait, WaitDone } from './types.js';

/** One attempt: 0 granted, a value in `busy` to keep waiting, anything else a -errno to report. */
export type Attempt = () => number;

export class PollWait implements PendingWait {
  private timer: NodeJS.Timeout | null = null;
  private delay = 1;
  private finished = false;

  constructor(
    private readonly attemptOnce: Attempt,
    private readonly busy: ReadonlySet<number>,
    private readonly cancelErrno: number,
    private readonly done: WaitDone,
    private readonly maxMs: number,
  ) {
    // Ref'd on purpose: a pending wait keeps the process alive, like any pending I/O.
    this.timer = setTimeout(this.tick, 0);
  }

  private readonly tick = (): void => {
    this.timer = null;
    if (this.finished) return;
    let rc: number;
    try {
      rc = this.attemptOnce();
    } catch (cause) {
      this.finish(0, false, cause);
      return;
    }
    if (!this.busy.has(rc)) {
      this.finish(-rc, false);
      return;
    }
    this.timer = setTimeout(this.tick, this.delay);
    this.delay = Math.min(this.delay * 2, this.maxMs);
  };

  private finish(errno: number, cancelled: boolean, cause?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.done(errno, cancelled, cause);
  }

  cancel(): void {
    if (this.finished) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // `done` is always asynchronous.
    setImmediate(() => this.finish(this.cancelErrno, true));
  }
}
