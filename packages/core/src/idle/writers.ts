/** Writers of a file from a probe result: fds open for writing, shared writable maps, exclusive locks. */
import type { ProbeProcess, ProbeResult } from '../probe/types.js';
import type { RecordHolder } from '../record/index.js';
import type { IdleAccess } from './types.js';

export interface SeenWriter extends RecordHolder {
  access: IdleAccess;
}

function entry(p: ProbeProcess, fd: number | null, access: IdleAccess): SeenWriter {
  return {
    pid: p.pid,
    startTime: p.startTime,
    command: p.command,
    argv: p.argv,
    uid: p.uid,
    user: p.user,
    lockKind: null,
    lockMode: null,
    role: 'opener',
    fd,
    range: null,
    access,
  };
}

/** Stable identity of one writer across probes: the process (pid + start time) and its fd or map. */
export function writerKey(w: Pick<SeenWriter, 'pid' | 'startTime' | 'fd' | 'access'>): string {
  return `${w.pid}:${w.startTime ?? '?'}:${w.fd ?? w.access}`;
}

/**
 * Who writes the probed file: every fd with write access ('w' / 'rw'), every shared writable map
 * ('mmap', a process can write through it with no fd left), every holder of an exclusive lock
 * ('lock' when it holds it through a read-only fd, as flock(1) does). `exclude`: a pid to leave out.
 */
export function writersOf(r: Pick<ProbeResult, 'openers' | 'locks'>, exclude: number | null): Map<string, SeenWriter> {
  const out = new Map<string, SeenWriter>();
  const add = (w: SeenWriter): SeenWriter => {
    const k = writerKey(w);
    const had = out.get(k);
    if (had) return had;
    out.set(k, w);
    return w;
  };
  for (const o of r.openers ?? []) {
    if (o.pid === exclude) continue;
    for (const f of o.fds) if (f.access === 'w' || f.access === 'rw') add(entry(o, f.fd, f.access));
    if (o.maps.some((m) => m.perms[1] === 'w' && m.perms[3] === 's')) add(entry(o, null, 'mmap'));
  }
  for (const l of r.locks) {
    if (l.mode !== 'exclusive') continue;
    const lockKind = l.kernelClass.toLowerCase();
    const range = { start: l.range.start, length: l.range.end === null ? 0 : l.range.end - l.range.start + 1 };
    for (const h of l.holders) {
      if (h.pid === exclude) continue;
      const fd = h.fds?.[0] ?? null;
      const existing = [...out.values()].find((w) => w.pid === h.pid && w.startTime === h.startTime && w.fd === fd);
      const w = existing ?? add(entry(h, fd, 'lock'));
      w.role = 'holder';
      w.lockKind = lockKind;
      w.lockMode = 'exclusive';
      w.range = range;
    }
  }
  return out;
}
