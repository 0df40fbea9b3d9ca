/**
 * Engine-facing instrumentation hooks (internal: the lock engine and the probe import these by
 * relative path). The public surface is re-exported from the package index.
 */
export * from './channels.js';
export { traceLock, traceTryLock, traceProbe, type ProbeSummary } from './trace.js';
export {
  beginWait,
  endWait,
  failWait,
  busyWait,
  setHolderResolver,
  setDefaultHolderResolver,
  hasDefaultHolderResolver,
  Wait,
  type InstrumentedRequest,
  type HolderResolver,
  type HolderResolution,
} from './tracker.js';
export { onHeld, onReleased, onLeaked, trackedCount, Hold } from './holds.js';
export { takeSnapshot, type SnapshotRequest } from './snapshot.js';
export { readCards, writeCard, removeCard, sweepStale, cardDir, defaultCardDir, processStartTicks } from './cards.js';
export { eventLoopMonitorRunning, stopEventLoopMonitor } from './eld.js';
export { instrumentationActive, anySubscribers, lockSubscribers } from './listening.js';
