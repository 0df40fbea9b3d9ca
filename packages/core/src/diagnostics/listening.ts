import { liveConfig } from '../config.js';
import { acquireChannel, contendedChannel, heldTooLongChannel, leakedChannel, probeChannel, releasedChannel } from './channels.js';
import { direct } from './direct.js';

/**
 * Whether anyone subscribes to lock records: a channel about locks (the probe channel alone does
 * not count) or a direct subscriber (direct.ts).
 */
export function lockSubscribers(): boolean {
  return (
    direct.length > 0 ||
    acquireChannel.hasSubscribers ||
    contendedChannel.hasSubscribers ||
    releasedChannel.hasSubscribers ||
    heldTooLongChannel.hasSubscribers ||
    leakedChannel.hasSubscribers
  );
}

/** Whether anyone subscribes to any lockscope channel or directly (a handful of ~1 ns checks). */
export function anySubscribers(): boolean {
  return lockSubscribers() || probeChannel.hasSubscribers;
}

/** Cards are written when forced on, or ('auto') while this process observes its locks. */
export function cardsEnabled(): boolean {
  const c = liveConfig().cards;
  return c === true || (c === 'auto' && lockSubscribers());
}

/** Whether lock calls need tracking at all: the one check on the hot path when nobody listens. */
export function instrumentationActive(): boolean {
  return lockSubscribers() || liveConfig().cards === true;
}
