/**
 * AbortSignal plumbing for waits: one listener per signal however many waits share it (cancelling
 * a batch with one controller is the normal pattern; a listener per wait trips EventTarget's
 * MaxListenersExceededWarning at 11), removed when the signal's last wait settles.
 */
import { addAbortListener } from 'node:events';

const aborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!;

/** A real AbortSignal (brand check: Node's `aborted` getter throws for anything else). */
export function isAbortSignal(s: unknown): s is AbortSignal {
  if (typeof s !== 'object' || s === null) return false;
  try {
    aborted.get!.call(s);
    return true;
  } catch {
    return false;
  }
}

interface Watch {
  readonly callbacks: Set<() => void>;
  readonly listener: Disposable;
}

const watches = new WeakMap<AbortSignal, Watch>();

/**
 * Call `onAbort` once when `signal` aborts. Returns the function that stops watching; the last
 * one for a signal removes its listener. Throws whatever registering the listener throws.
 */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let w = watches.get(signal);
  if (w === undefined) {
    const callbacks = new Set<() => void>();
    // addAbortListener: a user listener calling stopImmediatePropagation() cannot hide the abort.
    w = { callbacks, listener: addAbortListener(signal, () => fire(signal)) };
    watches.set(signal, w);
  }
  const watch = w;
  watch.callbacks.add(onAbort);
  return () => {
    if (!watch.callbacks.delete(onAbort) || watch.callbacks.size > 0 || watches.get(signal) !== watch) return;
    watches.delete(signal);
    watch.listener[Symbol.dispose]();
  };
}

function fire(signal: AbortSignal): void {
  const w = watches.get(signal);
  if (w === undefined) return;
  watches.delete(signal);
  w.listener[Symbol.dispose]();
  // A copy: each callback settles its wait, which unwatches.
  for (const cb of [...w.callbacks]) cb();
}
