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
