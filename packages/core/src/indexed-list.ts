/** A member of an IndexedList: its index there, -1 while in none. */
export interface Slotted {
  slot: number;
}

/**
 * A set kept as an array whose members carry their own index: add and remove are O(1) with no
 * hashing. For sets that go 0 -> 1 -> 0 entries on every uncontended lock pair, where a Set
 * rehashes or shrinks (a runtime call) each time. Order is not kept.
 */
export class IndexedList<T extends Slotted> {
  readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  add(x: T): void {
    x.slot = this.items.push(x) - 1;
  }

  /** Swap-remove; a no-op for a non-member. */
  remove(x: T): void {
    const i = x.slot;
    if (i < 0) return;
    x.slot = -1;
    const last = this.items.pop()!;
    if (last !== x) {
      this.items[i] = last;
      last.slot = i;
    }
  }
}
