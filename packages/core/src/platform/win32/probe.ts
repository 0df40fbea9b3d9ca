/**
 * Windows probe: who has a file open, per Restart Manager. Windows has no API that names the owner
 * of a byte-range lock, so `locks` stays empty and the result says so (`complete: false`,
 * `incomplete: ['no-lock-owner-api']`) instead of guessing that an opener is the holder.
 */
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { probeErrors } from '../../errors/factories.js';
import { NO_LOCK_OWNER_API, statForProbe } from '../../probe/shared.js';
import type { ProbeBackend } from '../types.js';
import type { ProbeOpener, ProbeResult } from '../../probe/types.js';
import { rmListProcesses, RestartManagerError, type RmListOptions, type RmProcess } from './restart-manager.js';

export interface WindowsOpener extends ProbeOpener {
  /** What Restart Manager says about the process (fds and maps stay empty: it does not tell). */
  windows: Pick<RmProcess, 'appName' | 'serviceName' | 'appType' | 'appStatus' | 'tsSessionId' | 'restartable' | 'identity'>;
}

export interface WindowsProbeResult extends ProbeResult {
  openers: WindowsOpener[];
  /** One line for humans on what this platform cannot tell. */
  limitation: string;
}

export const WINDOWS_LIMITATION =
  'Windows has no API that names the owner of a byte-range lock: openers are listed (Restart Manager), lock holders are unknown';

export function probeWin32(path: string, rm: RmListOptions = {}): WindowsProbeResult {
  const t0 = performance.now();
  const abs = resolve(path);
  const st = statForProbe(abs);
  let listed;
  try {
    listed = rmListProcesses([abs], rm);
  } catch (e) {
    if (!(e instanceof RestartManagerError)) throw e;
    throw probeErrors.fromWin32(e.syscall, e.code, abs, undefined, { cause: e });
  }
  const openers: WindowsOpener[] = listed.processes.map((p) => ({
    pid: p.pid,
    ppid: null,
    uid: null,
    user: null,
    command: p.appName || null,
    argv: null,
    exe: null,
    startTime: p.startTime,
    fds: [],
    maps: [],
    windows: {
      appName: p.appName,
      serviceName: p.serviceName,
      appType: p.appType,
      appStatus: p.appStatus,
      tsSessionId: p.tsSessionId,
      restartable: p.restartable,
      identity: p.identity,
    },
  }));
  return {
    path: abs,
    dev: Number(st.dev),
    ino: Number(BigInt.asUintN(53, st.ino)),
    device: st.dev.toString(16),
    depth: 'full',
    locks: [],
    openers,
    complete: false,
    incomplete: [NO_LOCK_OWNER_API],
    limitation: WINDOWS_LIMITATION,
    unreadable: [],
    uid: -1,
    platform: 'win32',
    stats: {
      durationMs: performance.now() - t0,
      fastPath: false,
      processesScanned: openers.length,
      fdsScanned: 0,
      longestSliceMs: performance.now() - t0,
    },
  };
}

/** The Windows probe: openers per Restart Manager; no lock owners (no API names them). */
export const win32Probe: ProbeBackend = {
  name: 'win32',
  namesLockHolders: false,
  probe: async (t) => probeWin32(t.path),
  listLocks: null,
};
