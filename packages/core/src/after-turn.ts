/**
 * Housekeeping that must happen soon, but after the continuations of the callers this turn of the
 * event loop hands results to (leak registration, unref'ing an idle waiter thread): one immediate
 * per turn runs every function queued in it, each once however often it was queued.
 */
const queue: Array<() => void> = [];
let scheduled = false;
const resolved = Promise.resolve();

export function afterTurn(fn: () => void): void {
  if (queue.includes(fn)) return;
  queue.push(fn);
  if (scheduled) return;
  scheduled = true;
  // Armed from a microtask, which runs after the continuation of a grant resolved in this same call
  // (settle()): on a cold path (a hand-off after an idle wait) setImmediate() put ~12 µs between
  // the wake-up and the caller's continuation (docs/benchmarks.md, issue 14).
  void resolved.then(arm);
}

function arm(): void {
  setImmediate(runQueued);
}

function runQueued(): void {
  scheduled = false;
  for (const fn of queue.splice(0)) {
    try {
      fn();
    } catch {
      // housekeeping never throws into the event loop; each function handles its own failures
    }
  }
}
