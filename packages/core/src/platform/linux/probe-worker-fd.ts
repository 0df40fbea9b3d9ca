/**
 * Where a scan worker notes the fd it has open: one Int32 of its job's shared control array
 * (fdSlot in probe-parallel-protocol.ts), -1 when none. Null on the main thread, whose `finally` closes.
 * Written with a plain store right after open() and after close(): no call in between where a
 * termination could land.
 */
export let workerFdSlot: Int32Array | null = null;

export function setWorkerFdSlot(slot: Int32Array | null): void {
  workerFdSlot = slot;
}
