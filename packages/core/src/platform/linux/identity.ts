/** This process's boot and start time on Linux, on the probe's clock (platform/types.ts: IdentityBackend). */
import { readFileSync } from 'node:fs';
import type { IdentityBackend } from '../types.js';
import { parseStat, startTimeMs } from './probe-proc.js';

export const linuxIdentity: IdentityBackend = {
  bootId() {
    try {
      return readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim() || null;
    } catch {
      return null; // not readable (some sandboxes)
    }
  },
  // Boot time + /proc/self/stat ticks: the clock of the probe's holders[].startTime.
  startTime() {
    try {
      const s = parseStat(readFileSync('/proc/self/stat', 'latin1'));
      return s ? startTimeMs(s.startTicks) : null;
    } catch {
      return null;
    }
  },
};
