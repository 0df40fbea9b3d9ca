export * from './errors.js';
export { CHANNELS, type ChannelName } from './diagnostics/channels.js';
export type * from './record/index.js';
export { RECORD_SCHEMA_VERSION } from './record/index.js';
