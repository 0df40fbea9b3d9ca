/**
 * One process's raw scan for the probe: its fds pointing at inodes of interest and its maps of
 * them, without session state (linux.ts keeps that: fdinfo of the hits, unreadable processes).
 * The fds: the native route (procfs.ts, koffi) when it loads, node:fs otherwise.
 */
import { readdirSync, statSync } from 'node:fs';
import { scanFdsNative, type FdScan } from '../platform/linux/procfs.js';
import { errCode, findMaps, readProcBuffer, type MapsLine } from './linux-proc.js';

export interface RawScan {
  pid: number;
  fds: FdScan;
  /** Maps lines per interest key (only keys with a line); an errno code when maps was unreadable; null when not read. */
  maps: [string, MapsLine[]][] | string | null;
}

/** What to look for: inode numbers (prefilter), and per interest key its maps search token. */
export interface ScanSpec {
  inos: ReadonlySet<number>;
  tokens: readonly [string, Buffer][];
  maps: boolean;
  native: boolean;
}

/** /proc/PID/fd through node:fs: readdir, then stat() per fd. Same result shape as the native scan. */
export function scanFdsFs(pid: number, inos: ReadonlySet<number>): FdScan {
  const r: FdScan = { error: null, denied: null, scanned: 0, hits: [] };
  const base = `/proc/${pid}/fd/`;
  let names: string[];
  try {
    names = readdirSync(base);
  } catch (e) {
    r.error = errCode(e);
    return r;
  }
  for (const name of names) {
    let st;
    try {
      st = statSync(base + name, { throwIfNoEntry: false });
    } catch (e) {
      const code = errCode(e);
      if (code === 'EACCES' || code === 'EPERM') {
        r.denied = code;
        return r;
      }
      continue; // fd to something that cannot be stat()ed (a dead NFS handle): not our file
    }
    if (st === undefined) continue; // closed meanwhile
    r.scanned++;
    if (inos.has(st.ino)) r.hits.push({ fd: Number(name), dev: st.dev, ino: st.ino });
  }
  return r;
}

/** maps through node:fs on both routes: a koffi read measured no faster (the kernel's text generation dominates). */
function readMaps(pid: number): Buffer | string {
  try {
    return readProcBuffer(`/proc/${pid}/maps`);
  } catch (e) {
    return errCode(e);
  }
}

export function scanRaw(pid: number, spec: ScanSpec): RawScan {
  const fds = spec.native ? scanFdsNative(pid, spec.inos) : scanFdsFs(pid, spec.inos);
  let maps: RawScan['maps'] = null;
  if (spec.maps && fds.error === null && fds.denied === null) {
    const text = readMaps(pid);
    if (typeof text === 'string') {
      maps = text;
    } else {
      maps = [];
      for (const [key, token] of spec.tokens) {
        const found = findMaps(text, token);
        if (found.length > 0) maps.push([key, found]);
      }
    }
  }
  return { pid, fds, maps };
}
