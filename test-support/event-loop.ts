/**
 * A busy event loop, for the event-loop delay tests: blocks this process's loop for `blockMs`
 * (a busy wait) every `everyMs`, until the returned stop() is called.
 */
export function blockLoopRepeatedly(blockMs: number, everyMs: number): () => void {
  const t = setInterval(() => {
    const t0 = performance.now();
    while (performance.now() - t0 < blockMs) {
      // the block itself
    }
  }, everyMs);
  return () => clearInterval(t);
}

/**
 * The loop's own lateness, measured apart from lockscope: a chain of `everyMs` timers, each one's
 * delay past its due time. stop() gives the p50. On a loaded machine even an idle loop is late
 * (the process waits for a CPU), so "about 0 ms" is checked against this, in the same window.
 */
export function sampleLoopLag(everyMs = 20): () => number {
  const lags: number[] = [];
  let due = performance.now() + everyMs;
  const tick = (): void => {
    const now = performance.now();
    lags.push(Math.max(0, now - due));
    due = now + everyMs;
    t = setTimeout(tick, everyMs);
  };
  let t = setTimeout(tick, everyMs);
  return () => {
    clearTimeout(t);
    lags.sort((a, b) => a - b);
    return lags[lags.length >> 1] ?? 0;
  };
}
