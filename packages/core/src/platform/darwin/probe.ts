/**
 * macOS probe: who has a file open, per libproc. macOS keeps no lock-owner table (no /proc/locks;
 * F_GETLK names at most one POSIX holder and never flock or OFD ones), so `locks` stays empty and
 * the result says so instead of guessing that an opener holds the lock. NOT RUN ON A MAC.
 */
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import type { IncompleteReason, ProbeAccess, ProbeOpener, ProbeResult } from '../../probe/types.js';
import { NO_LOCK_OWNER_API, statForProbe } from '../../probe/shared.js';
import type { ProbeBackend } from '../types.js';
import { listOpeners } from './libproc.js';
import type { DarwinLibc } from './libc.js';

export interface DarwinProbeResult extends ProbeResult {
  limitation: string;
}

export const DARWIN_LIMITATION = 'macOS keeps no table of lock owners: openers are listed (libproc), lock holders are unknown';

const ACCESS: Record<string, ProbeAccess | null> = { read: 'r', write: 'w', 'read-write': 'rw', none: null };

export function probeDarwin(path: string, c?: DarwinLibc): DarwinProbeResult {
  const t0 = performance.now();
  // The front hands an absolute path checked like lock()'s: not normalised again ('..' after a symlink).
  const abs = path.startsWith('/') ? path : resolve(path);
  const st = statForProbe(abs);
  const r = listOpeners(abs, c);
  const byPid = new Map<number, ProbeOpener>();
  for (const o of r.openers) {
    let p = byPid.get(o.pid);
    if (!p) {
      p = {
        pid: o.pid,
        ppid: o.bsd?.ppid ?? null,
        uid: o.bsd?.uid ?? null,
        user: null,
        command: o.command || null,
        argv: null,
        exe: null,
        startTime: o.bsd ? Number(o.bsd.startUs / 1000n) : null,
        fds: [],
        maps: [],
      };
      byPid.set(o.pid, p);
    }
    p.fds.push({ fd: o.fd, access: ACCESS[o.access] ?? null });
  }
  const incomplete: IncompleteReason[] = [NO_LOCK_OWNER_API];
  if (!r.complete) incomplete.push('unreadable');
  return {
    path: abs,
    dev: Number(st.dev),
    ino: Number(st.ino),
    device: st.dev.toString(16),
    depth: 'full',
    locks: [],
    openers: [...byPid.values()],
    complete: false,
    incomplete,
    limitation: DARWIN_LIMITATION,
    // libproc says only "could not read" for another user's process: counted, not named.
    unreadable: [],
    uid: process.getuid?.() ?? -1,
    platform: 'darwin',
    stats: {
      durationMs: performance.now() - t0,
      fastPath: false,
      processesScanned: byPid.size + r.denied,
      fdsScanned: 0,
      longestSliceMs: performance.now() - t0,
    },
  };
}

/** The macOS probe: openers per libproc; no lock owners (macOS keeps no table of them). */
export const darwinProbe: ProbeBackend = {
  name: 'darwin',
  namesLockHolders: false,
  probe: async (t) => probeDarwin(t.path),
  listLocks: null,
};
