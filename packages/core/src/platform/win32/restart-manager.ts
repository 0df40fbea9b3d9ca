// Restart Manager probe: which processes have a file open. Windows has no API that names the
// owner of a byte-range lock, so callers must report lock ownership as unknown, not guess.
import { koffi } from '../koffi.js';
import {
  CCH_RM_MAX_APP_NAME,
  CCH_RM_MAX_SVC_NAME,
  ERROR_MORE_DATA,
  ERROR_SUCCESS,
  FILETIME_UNIX_EPOCH,
  RM_APP_TYPES,
  RM_PROCESS_INFO,
  RM_SESSION_KEY_WCHARS,
} from './constants.js';

export interface RmProcess {
  pid: number;
  /** Raw FILETIME (100 ns ticks since 1601-01-01 UTC): with the PID, a reuse-safe identity. */
  startFiletime: bigint;
  /** Start time in ms since the Unix epoch (null when the FILETIME is zero). */
  startTime: number | null;
  /** `${pid}:${startFiletime}`: stable across probes, different for a reused PID. */
  identity: string;
  appName: string;
  serviceName: string | null;
  appType: string;
  appTypeCode: number;
  appStatus: number;
  tsSessionId: number;
  restartable: boolean;
}

/** Reads a fixed WCHAR[n] field: up to the first NUL, never past the field. */
function wchars(buf: Buffer, offset: number, maxChars: number): string {
  const end = offset + maxChars * 2;
  let i = offset;
  while (i < end && (buf[i] !== 0 || buf[i + 1] !== 0)) i += 2;
  return buf.toString('utf16le', offset, i);
}

export function filetimeToUnixMs(ft: bigint): number | null {
  if (ft === 0n) return null;
  return Number((ft - FILETIME_UNIX_EPOCH) / 10_000n);
}

/** Decodes `count` RM_PROCESS_INFO records (668 bytes each) from `buf`. */
export function decodeRmProcessInfo(buf: Buffer, count: number): RmProcess[] {
  const L = RM_PROCESS_INFO;
  if (!Number.isInteger(count) || count < 0 || count * L.size > buf.length) {
    throw new RangeError(`RM_PROCESS_INFO buffer of ${buf.length} bytes cannot hold ${count} records`);
  }
  const out: RmProcess[] = [];
  for (let n = 0; n < count; n++) {
    const o = n * L.size;
    const pid = buf.readUInt32LE(o + L.pid);
    const ft = (BigInt(buf.readUInt32LE(o + L.startHigh)) << 32n) | BigInt(buf.readUInt32LE(o + L.startLow));
    const appTypeCode = buf.readInt32LE(o + L.appType);
    const svc = wchars(buf, o + L.serviceName, CCH_RM_MAX_SVC_NAME + 1);
    out.push({
      pid,
      startFiletime: ft,
      startTime: filetimeToUnixMs(ft),
      identity: `${pid}:${ft}`,
      appName: wchars(buf, o + L.appName, CCH_RM_MAX_APP_NAME + 1),
      serviceName: svc === '' ? null : svc,
      appType: RM_APP_TYPES[appTypeCode] ?? `unknown(${appTypeCode})`,
      appTypeCode,
      appStatus: buf.readUInt32LE(o + L.appStatus),
      tsSessionId: buf.readUInt32LE(o + L.tsSessionId),
      restartable: buf.readInt32LE(o + L.restartable) !== 0,
    });
  }
  return out;
}

// Every symbol bound here returns a C int, uint32_t or intptr_t: a number in JavaScript.
type Fn = (...args: unknown[]) => number;
interface Rm {
  RmStartSession: Fn;
  RmRegisterResources: Fn;
  RmGetList: Fn;
  RmEndSession: Fn;
}
const libs = new Map<string, Rm>();

function rstrtmgr(library: string): Rm {
  let rm = libs.get(library);
  if (rm) return rm;
  const lib = koffi().load(library);
  rm = {
    RmStartSession: lib.func('uint32_t __stdcall RmStartSession(_Out_ uint32_t *session, uint32_t flags, void *key)'),
    RmRegisterResources: lib.func(
      'uint32_t __stdcall RmRegisterResources(uint32_t session, uint32_t nFiles, const char16_t **files, ' +
        'uint32_t nApps, void *apps, uint32_t nServices, void *services)',
    ),
    RmGetList: lib.func('uint32_t __stdcall RmGetList(uint32_t session, void *needed, void *count, void *infos, void *reasons)'),
    RmEndSession: lib.func('uint32_t __stdcall RmEndSession(uint32_t session)'),
  };
  libs.set(library, rm);
  return rm;
}

export class RestartManagerError extends Error {
  constructor(
    readonly syscall: string,
    readonly code: number,
  ) {
    super(`${syscall} failed with Win32 error ${code}`);
    this.name = 'RestartManagerError';
  }
}

export interface RmListOptions {
  /** DLL to load; tests point this at a fake rstrtmgr.dll. */
  library?: string;
  /** Bound on ERROR_MORE_DATA rounds (the list can grow between calls). */
  maxRounds?: number;
}

export interface RmListResult {
  processes: RmProcess[];
  /** RmGetList's lpdwRebootReasons bit mask (0 = none). */
  rebootReasons: number;
  /** ERROR_MORE_DATA rounds it took. */
  rounds: number;
}

/**
 * Processes using any of `paths`, per Restart Manager. One session per call, always ended
 * (sessions are a per-user-session resource, 64 at most).
 */
export function rmListProcesses(paths: readonly string[], opts: RmListOptions = {}): RmListResult {
  const rm = rstrtmgr(opts.library ?? 'rstrtmgr.dll');
  const session = [0];
  const key = Buffer.alloc(RM_SESSION_KEY_WCHARS * 2);
  let rc = rm.RmStartSession(session, 0, key);
  if (rc !== ERROR_SUCCESS) throw new RestartManagerError('RmStartSession', rc);
  const handle = session[0]!;
  try {
    rc = rm.RmRegisterResources(handle, paths.length, [...paths], 0, null, 0, null);
    if (rc !== ERROR_SUCCESS) throw new RestartManagerError('RmRegisterResources', rc);
    const needed = Buffer.alloc(4);
    const count = Buffer.alloc(4);
    const reasons = Buffer.alloc(4);
    let capacity = 0;
    let infos = Buffer.alloc(0);
    const maxRounds = opts.maxRounds ?? 8;
    for (let round = 1; round <= maxRounds; round++) {
      count.writeUInt32LE(capacity);
      rc = rm.RmGetList(handle, needed, count, capacity === 0 ? null : infos, reasons);
      if (rc === ERROR_SUCCESS) {
        const n = count.readUInt32LE();
        return { processes: decodeRmProcessInfo(infos, Math.min(n, capacity)), rebootReasons: reasons.readUInt32LE(), rounds: round };
      }
      if (rc !== ERROR_MORE_DATA) throw new RestartManagerError('RmGetList', rc);
      // A little slack: processes may open the file between the two calls.
      capacity = needed.readUInt32LE() + 4;
      infos = Buffer.alloc(capacity * RM_PROCESS_INFO.size);
    }
    throw new RestartManagerError('RmGetList', ERROR_MORE_DATA);
  } finally {
    rm.RmEndSession(handle);
  }
}
