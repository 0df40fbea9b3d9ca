import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseStat, startTimeMs } from '../platform/linux/probe-proc.js';

/**
 * Who "this process" is across hosts and boots: pid alone repeats on every host and after every
 * reboot. host + bootId + pid + startTime names one process; startTime uses the probe's clock
 * (boot time + /proc/self/stat ticks on Linux) so a waiter's `holders[].startTime` matches it exactly.
 */
export interface ProcessIdentity {
  host: string | null;
  /** /proc/sys/kernel/random/boot_id on Linux; null elsewhere. */
  bootId: string | null;
  startTime: number | null;
}

let identity: ProcessIdentity | undefined;

/** Read once per process (three small reads at the first record), then cached. */
export function processIdentity(): ProcessIdentity {
  if (identity) return identity;
  let host: string | null = null;
  try {
    host = hostname() || null;
  } catch {
    // no host name: leave null
  }
  let bootId: string | null = null;
  let startTime: number | null = null;
  if (process.platform === 'linux') {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim() || null;
    } catch {
      // not readable (some sandboxes): null
    }
    try {
      const s = parseStat(readFileSync('/proc/self/stat', 'latin1'));
      startTime = s ? startTimeMs(s.startTicks) : null;
    } catch {
      // fall back below
    }
  }
  if (startTime === null) startTime = Math.round(performance.timeOrigin);
  identity = Object.freeze({ host, bootId, startTime });
  return identity;
}
