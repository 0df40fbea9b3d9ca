/**
 * probe() and listLocks(): the portable front (validation, typed errors, tracing, record mapping).
 * Each platform's probe lives beside its locks (platform/<os>/probe.ts) behind the one
 * ProbeBackend contract (platform/types.ts), loaded on first use.
 */
import type { ProbeError } from '../errors.js';
import { probeErrors } from '../errors/factories.js';
import { PROBE_DEPTHS } from '../vocabulary.js';
import { checkPath } from '../path.js';
import { traceProbe } from '../diagnostics/trace.js';
import type { ProbeBackend, ProbeEngineOptions } from '../platform/types.js';
import type { RecordHolder } from '../record/index.js';
import type { ListLocksResult, ProbeDepth, ProbeLock, ProbeOptions, ProbeResult } from './types.js';

export type * from './types.js';
export { redactArgv, REDACTED } from './redact.js';

function invalid(fn: string, path: string | undefined, message: string): ProbeError {
  return probeErrors.invalidArgument(fn, path, message);
}

function unsupported(fn: string, path: string | undefined): ProbeError {
  const why = fn === 'listLocks' ? 'no OS interface lists lock owners there' : 'Linux, Windows and macOS only';
  return probeErrors.unsupported(fn, path, `${fn} is not supported on ${process.platform} (${why})`);
}

type ProbeLoader = () => Promise<ProbeBackend>;

function select(): ProbeLoader | null {
  // Read at load time from the process object, like platform/index.ts.
  switch (process.platform) {
    case 'linux':
      return async () => (await import('../platform/linux/probe.js')).linuxProbe;
    case 'win32':
      return async () => (await import('../platform/win32/probe.js')).win32Probe;
    case 'darwin':
      return async () => (await import('../platform/darwin/probe.js')).darwinProbe;
    default:
      return null;
  }
}

const loader = select();
let loaded: Promise<ProbeBackend> | null = null;

/** This platform's probe, imported on first use; null where lockscope has none. */
function probeBackend(): Promise<ProbeBackend> | null {
  if (loader === null) return null;
  return (loaded ??= loader());
}

function checkOptions(fn: string, path: string | undefined, o: unknown, defaultDepth: ProbeDepth): ProbeEngineOptions {
  if (o !== undefined && (o === null || typeof o !== 'object')) throw invalid(fn, path, 'options must be an object');
  const opt = (o ?? {}) as ProbeOptions;
  const depth = opt.depth ?? defaultDepth;
  if (!(PROBE_DEPTHS as readonly unknown[]).includes(depth))
    throw invalid(fn, path, `depth must be 'holders' or 'full', got ${String(depth)}`);
  const timeout = opt.timeout ?? Infinity;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) throw invalid(fn, path, 'timeout must be a number of ms >= 0');
  const sliceMs = opt.sliceMs ?? 4;
  if (typeof sliceMs !== 'number' || !(sliceMs > 0) || !Number.isFinite(sliceMs))
    throw invalid(fn, path, 'sliceMs must be a positive number');
  const redact = opt.redact ?? true;
  if (typeof redact !== 'boolean' && typeof redact !== 'function') throw invalid(fn, path, 'redact must be a boolean or a function');
  const maps = opt.maps ?? true;
  if (typeof maps !== 'boolean') throw invalid(fn, path, 'maps must be a boolean');
  const threads = opt.threads ?? 'auto';
  if (threads !== 1 && threads !== 2 && threads !== 'auto')
    throw invalid(fn, path, `threads must be 1, 2 or 'auto', got ${String(threads)}`);
  const signal = opt.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid(fn, path, 'signal must be an AbortSignal');
  return { depth, maps, timeout: timeout === 0 ? Infinity : timeout, signal, redact, sliceMs, threads };
}

/**
 * Who holds a lock on `path` and who has it open. Never throws because of one unreadable process:
 * what it could not see is listed in `unreadable` and makes `complete` false.
 */
export function probe(path: string | URL, options?: ProbeOptions): Promise<ProbeResult> {
  let p: string;
  let o: ProbeEngineOptions;
  try {
    p = checkPath('probe', path, probeErrors);
    o = checkOptions('probe', p, options, 'full');
  } catch (e) {
    return Promise.reject(e);
  }
  const run = async (): Promise<ProbeResult> => {
    const backend = probeBackend();
    if (backend === null) throw unsupported('probe', p);
    return (await backend).probe({ api: 'probe', path: p, dev: null, ino: null }, o);
  };
  return traceProbe(p, options, run, (r) => ({ dev: r.dev, ino: r.ino, holders: toRecordHolders(r), complete: r.complete }));
}

/** Every lock on the host with its holders and the file's path (what lslocks 2.40 prints). */
export async function listLocks(options?: ProbeOptions): Promise<ListLocksResult> {
  const o = checkOptions('listLocks', undefined, options, 'holders');
  const backend = await probeBackend();
  if (!backend?.listLocks) throw unsupported('listLocks', undefined);
  return backend.listLocks(o);
}

function recordRange(l: ProbeLock): RecordHolder['range'] {
  return { start: l.range.start, length: l.range.end === null ? 0 : l.range.end - l.range.start + 1 };
}

/**
 * A probe result as the holders of a lockscope record (role holder, waiter, or opener), each
 * process once per role and lock. Processes that only have the file open come last.
 */
export function toRecordHolders(result: Pick<ProbeResult, 'locks'> & { openers?: ProbeResult['openers'] }): RecordHolder[] {
  const out: RecordHolder[] = [];
  const holding = new Set<number>();
  for (const l of result.locks) {
    const lockKind = l.kernelClass.toLowerCase();
    const lockMode = l.mode === 'unlock' ? null : l.mode;
    for (const h of l.holders) {
      holding.add(h.pid);
      out.push({
        pid: h.pid,
        startTime: h.startTime,
        command: h.command,
        argv: h.argv,
        uid: h.uid,
        user: h.user,
        lockKind,
        lockMode,
        role: 'holder',
        fd: h.fds?.[0] ?? null,
        range: recordRange(l),
      });
    }
    for (const w of l.waiters) {
      // An OFD waiter the probe could not name (pid -1) is no process to list; the result says incomplete.
      if (w.pid <= 0) continue;
      out.push({
        pid: w.pid,
        startTime: w.startTime,
        command: w.command,
        argv: w.argv,
        uid: w.uid,
        user: w.user,
        lockKind,
        lockMode: w.mode === 'unlock' ? null : w.mode,
        role: 'waiter',
        fd: null,
        range: { start: w.range.start, length: w.range.end === null ? 0 : w.range.end - w.range.start + 1 },
      });
    }
  }
  for (const o of result.openers ?? []) {
    if (holding.has(o.pid)) continue;
    out.push({
      pid: o.pid,
      startTime: o.startTime,
      command: o.command,
      argv: o.argv,
      uid: o.uid,
      user: o.user,
      lockKind: null,
      lockMode: null,
      role: 'opener',
      fd: o.fds[0]?.fd ?? null,
      range: null,
    });
  }
  return out;
}

/**
 * A holder resolver for the instrumentation (`setHolderResolver(probeHolderResolver)`): the cheap
 * route (depth 'holders') within `deadlineMs`, mapped to record holders. Uses dev/ino when known,
 * so a path replaced since the lock was taken still finds the locked inode.
 */
export async function probeHolderResolver(
  path: string,
  dev: number | null,
  ino: number | null,
  options: { deadlineMs: number },
): Promise<{ holders: RecordHolder[]; complete: boolean }> {
  const backend = await probeBackend();
  if (!backend?.namesLockHolders) return { holders: [], complete: false };
  const p = checkPath('probeHolderResolver', path, probeErrors);
  const r = await backend.probe(
    { api: 'probeHolderResolver', path: p, dev, ino },
    { depth: 'holders', maps: false, timeout: Math.max(1, options.deadlineMs), signal: undefined, redact: true, sliceMs: 4, threads: 1 },
  );
  return { holders: toRecordHolders(r), complete: r.complete };
}
