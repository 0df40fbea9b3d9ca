import type { RecordLockKind, RecordLockMode, RecordRange } from '../record/index.js';
import type { CapturedStack } from './stack.js';

/** A lockscope waiter or holder in this process, as the snapshot lists them. */
export interface Tracked {
  readonly role: 'waiter' | 'holder';
  readonly path: string;
  readonly kind: RecordLockKind;
  readonly mode: RecordLockMode;
  readonly range: RecordRange | null;
  readonly label: string | null;
  /** performance.now() when the wait started / the lock was acquired. */
  readonly t0: number;
  readonly stack: CapturedStack | null;
  /** @internal Index in `registry`, -1 when not in it. */
  registryAt: number;
}

/**
 * Only filled while instrumentation is active (entries are added by beginWait/onHeld). An array
 * with each entry's index, not a Set: a Set that empties on every uncontended pair shrinks
 * (a runtime call) each time.
 */
export const registry: Tracked[] = [];

export function track(e: Tracked): void {
  e.registryAt = registry.push(e) - 1;
}

/** Swap-remove: the order does not matter. */
export function untrack(e: Tracked): void {
  const i = e.registryAt;
  if (i < 0) return;
  e.registryAt = -1;
  const last = registry.pop()!;
  if (last !== e) {
    registry[i] = last;
    last.registryAt = i;
  }
}
