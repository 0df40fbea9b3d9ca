export * from './errors.js';
export { CHANNELS, type ChannelName } from './diagnostics/channels.js';
export type * from './record/index.js';
export { RECORD_SCHEMA_VERSION } from './record/index.js';
export {
  configure,
  getConfig,
  resetConfig,
  DEFAULT_CONFIG,
  type InstrumentationConfig,
  type InstrumentationCallOptions,
  type ConfigureOptions,
  type SnapshotConfig,
} from './config.js';
export { buildRecord, recordError } from './record/index.js';
export { lock, tryLock, withLock, lockStats, LockHandle } from './lock/index.js';
export type { LockOptions, LockMode, LockRange } from './lock/index.js';
export { probe, listLocks, toRecordHolders, probeHolderResolver, redactArgv, REDACTED } from './probe/index.js';
export type * from './probe/types.js';
export {
  holdersFor,
  holdersForSync,
  enrichWithHolders,
  isBusyError,
  defaultHolderCache,
  HolderCache,
  type HolderCacheOptions,
  type PathHolderResolver,
  type HoldersForOptions,
  type HoldersLookup,
  type HoldersStatus,
} from './probe/holders-for.js';
export { waitIdle } from './idle/index.js';
export type * from './idle/types.js';
