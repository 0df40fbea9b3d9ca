import diagnosticsChannel from 'node:diagnostics_channel';

/**
 * Channel names are a public contract (adapters and outside tools subscribe by name).
 * Convention: `<npm-name>:<noun>[:<verb>]`, as undici and pino do. Documented in
 * docs/diagnostics-channels.md.
 */
export const CHANNELS = {
  /** TracingChannel around every acquire, sync (`tryLock`) and async (`lock`). */
  acquire: 'lockscope:lock:acquire',
  /** TracingChannel around every probe call. */
  probe: 'lockscope:probe',
  /** A wait passed its contention threshold; published while the wait is still going. */
  contended: 'lockscope:lock:contended',
  /** A held lock was released (message carries the held time). */
  released: 'lockscope:lock:released',
  /** A lock has been held longer than `holdWarning`; repeats at `holdWarningInterval`. */
  heldTooLong: 'lockscope:lock:held-too-long',
  /** A LockHandle was garbage-collected without release. */
  leaked: 'lockscope:lock:leaked',
  /** waitIdle() found a file idle: who was writing, for how long, what changed. */
  idle: 'lockscope:file:idle',
} as const;

export type ChannelName = (typeof CHANNELS)[keyof typeof CHANNELS];

export const acquireChannel = diagnosticsChannel.tracingChannel(CHANNELS.acquire);
export const probeChannel = diagnosticsChannel.tracingChannel(CHANNELS.probe);
export const contendedChannel = diagnosticsChannel.channel(CHANNELS.contended);
export const releasedChannel = diagnosticsChannel.channel(CHANNELS.released);
export const heldTooLongChannel = diagnosticsChannel.channel(CHANNELS.heldTooLong);
export const leakedChannel = diagnosticsChannel.channel(CHANNELS.leaked);
export const idleChannel = diagnosticsChannel.channel(CHANNELS.idle);
