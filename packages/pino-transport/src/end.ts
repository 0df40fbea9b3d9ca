import { invalidArgument } from '@lockscope/core';

/** The part of what `pino.transport()` returns that endTransport uses (thread-stream's ThreadStream). */
export interface TransportLike {
  end(): void;
  once(event: 'close', listener: () => void): unknown;
  readonly closed?: boolean;
}

/**
 * Ends a `pino.transport()` and resolves once its worker has written every line to every target and
 * exited, so the files can be read in the same process. `logger.flush(cb)` is not enough with
 * `targets`: pino's worker runs them behind a stream that a flush does not reach, so the callback can
 * come before the last lines are in the files. The worker is unref'd by pino: a timer keeps the loop
 * alive until it closes. An ended, closed transport resolves at once.
 */
export function endTransport(transport: TransportLike): Promise<void> {
  const t = transport as Partial<TransportLike> | null;
  if (typeof t !== 'object' || t === null || typeof t.end !== 'function' || typeof t.once !== 'function')
    return Promise.reject(invalidArgument('endTransport', undefined, 'transport must be what pino.transport() returns'));
  if (t.closed === true) return Promise.resolve();
  return new Promise((resolve) => {
    const keep = setInterval(() => {}, 1_000);
    t.once!('close', () => {
      clearInterval(keep);
      resolve();
    });
    t.end!();
  });
}
