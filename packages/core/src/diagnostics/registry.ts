import type { RecordLockKind, RecordLockMode, RecordRange } from '../record/index.js';
import { IndexedList, type Slotted } from '../indexed-list.js';
import type { CapturedStack } from './stack.js';

/** A lockscope waiter or holder in this process, as the snapshot lists them. */
export interface Tracked extends Slotted {
  readonly role: 'waiter' | 'holder';
  readonly path: string;
  readonly kind: RecordLockKind;
  readonly mode: RecordLockMode;
  readonly range: RecordRange | null;
  readonly label: string | null;
  /** performance.now() when the wait started / the lock was acquired. */
  readonly t0: number;
  readonly stack: CapturedStack | null;
}

/** Only filled while instrumentation is active (entries are added by beginWait/onHeld). Order is arbitrary. */
export const registry = new IndexedList<Tracked>();
