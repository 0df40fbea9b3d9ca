/**
 * One process's raw scan for the probe: its fds pointing at inodes of interest and its maps of
 * them, without session state (probe.ts keeps that: fdinfo of the hits, unreadable processes).
 * The fds: the native route (procfs.ts, koffi) when it loads, node:fs otherwise.
 */
import { readdirSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { scanFdsNative, type FdScan } from './procfs.js';
import { errCode, findMaps, readProcBuffer, type MapsLine } from './probe-proc.js';

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

/**
 * /proc/PID/fd through node:fs: readdir, then stat() per fd, pausing once `budgetMs` is spent.
 * Same result shape as the native scan.
 */
export function scanFdsFs(pid: number, inos: ReadonlySet<number>, budgetMs = Infinity): FdScan {
  const r: FdScan = { error: null, denied: null, scanned: 0, hits: [], pending: null };
  const base = `/proc/${pid}/fd/`;
  let names: string[];
  try {
    names = readdirSync(base);
  } catch (e) {
    r.error = errCode(e);
    return r;
  }
  let next = 0;
  const resume = (budget: number): void => {
    const until = performance.now() + budget;
    r.pending = null;
    while (next < names.length) {
      const name = names[next++]!;
      let st;
      try {
        st = statSync(base + name, { throwIfNoEntry: false });
      } catch (e) {
        const code = errCode(e);
        if (code === 'EACCES' || code === 'EPERM') {
          r.denied = code;
          return;
        }
        continue; // fd to something that cannot be stat()ed (a dead NFS handle): not our file
      }
      if (st !== undefined) {
        r.scanned++;
        if (inos.has(st.ino)) r.hits.push({ fd: Number(name), dev: st.dev, ino: st.ino });
      } // else closed meanwhile
      if ((next & 255) === 0 && next < names.length && performance.now() >= until) {
        r.pending = { resume, cancel: () => void (r.pending = null) };
        return;
      }
    }
  };
  resume(budgetMs);
  return r;
}

/** The fds scan of `pid` on the route `spec` says, within `budgetMs` (see FdScan.pending). */
export function startFdScan(pid: number, spec: ScanSpec, budgetMs: number): FdScan {
  return spec.native ? scanFdsNative(pid, spec.inos, budgetMs) : scanFdsFs(pid, spec.inos, budgetMs);
}

/** maps through node:fs on both routes: a koffi read measured no faster (the kernel's text generation dominates). */
function readMaps(pid: number): Buffer | string {
  try {
    return readProcBuffer(`/proc/${pid}/maps`);
  } catch (e) {
    return errCode(e);
  }
}

/** The maps part of a raw scan, after a finished fd scan: skipped when the fds were unreadable. */
export function scanMaps(pid: number, fds: FdScan, spec: ScanSpec): RawScan['maps'] {
  if (!spec.maps || fds.error !== null || fds.denied !== null) return null;
  const text = readMaps(pid);
  if (typeof text === 'string') return text;
  const out: [string, MapsLine[]][] = [];
  for (const [key, token] of spec.tokens) {
    const found = findMaps(text, token);
    if (found.length > 0) out.push([key, found]);
  }
  return out;
}
