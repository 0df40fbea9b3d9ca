import { performance } from 'node:perf_hooks';
import { hostname } from 'node:os';
import { identityBackend } from '../platform/identity.js';

/**
 * Who "this process" is across hosts and boots: pid alone repeats on every host and after every
 * reboot. host + bootId + pid + startTime names one process; startTime uses the probe's clock
 * (the platform's IdentityBackend) so a waiter's `holders[].startTime` matches it exactly.
 */
export interface ProcessIdentity {
  host: string | null;
  /** /proc/sys/kernel/random/boot_id on Linux; null elsewhere. */
  bootId: string | null;
  startTime: number | null;
}

let identity: ProcessIdentity | undefined;

/** Read once per process (a few small reads at the first record), then cached. */
export function processIdentity(): ProcessIdentity {
  if (identity) return identity;
  let host: string | null = null;
  try {
    host = hostname() || null;
  } catch {
    // no host name: leave null
  }
  const platform = identityBackend();
  const bootId = platform?.bootId() ?? null;
  let startTime = platform?.startTime() ?? null;
  if (startTime === null) startTime = Math.round(performance.timeOrigin);
  identity = Object.freeze({ host, bootId, startTime });
  return identity;
}
