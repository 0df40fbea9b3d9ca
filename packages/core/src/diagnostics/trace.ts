import { performance } from 'node:perf_hooks';
import { buildRecord, recordError } from '../record/build.js';
import type { AcquireContext, ProbeContext, RecordHolder } from '../record/index.js';
import { acquireChannel, probeChannel } from './channels.js';
import { instrumentationActive } from './listening.js';
import { beginWait, busyWait, deliverTerminal, endWait, failWait, type InstrumentedRequest, type Wait } from './tracker.js';

function context(w: Wait, sync: boolean): AcquireContext {
  return { path: w.path, kind: w.kind, mode: w.mode, range: w.range, label: w.label, sync, waitId: w.id };
}

/**
 * Wraps the engine's async acquire. `run` receives the Wait (undefined when nobody listens) and
 * must call `w?.refused(error)` at each refused attempt (the contended record's `error`),
 * `w?.blocked(dev, ino)` when it starts waiting and `onHeld(..., w)` once it holds the lock.
 * With no subscriber this is one check and a direct call.
 */
export function traceLock<H>(
  path: string,
  req: InstrumentedRequest,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  caller: Function | undefined,
  run: (w: Wait | undefined) => Promise<H>,
): Promise<H> {
  if (!instrumentationActive()) return run(undefined);
  const w = beginWait(path, req, caller ?? traceLock);
  if (w === undefined) return run(undefined);
  const body = async (): Promise<H> => {
    let h: H;
    try {
      h = await run(w);
    } catch (e) {
      const p = failWait(w, e);
      if (p) await p;
      deliverTerminal(w);
      throw e;
    }
    const p = endWait(w);
    if (p) await p;
    deliverTerminal(w);
    return h;
  };
  if (!acquireChannel.hasSubscribers) return body();
  w.ctx = context(w, false);
  return acquireChannel.tracePromise(body, w.ctx);
}

/** Wraps the engine's tryLock: `run` returns the handle or null when the lock is busy. */
export function traceTryLock<H>(
  path: string,
  req: InstrumentedRequest,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  caller: Function | undefined,
  run: (w: Wait | undefined) => H | null,
): H | null {
  if (!instrumentationActive()) return run(undefined);
  const w = beginWait(path, req, caller ?? traceTryLock);
  if (w === undefined) return run(undefined);
  const body = (): H | null => {
    let h: H | null;
    try {
      h = run(w);
    } catch (e) {
      void failWait(w, e); // never blocked: settles synchronously
      deliverTerminal(w);
      throw e;
    }
    if (h === null) busyWait(w);
    else void endWait(w);
    deliverTerminal(w);
    return h;
  };
  if (!acquireChannel.hasSubscribers) return body();
  w.ctx = context(w, true);
  return acquireChannel.traceSync(body, w.ctx);
}

/** What a probe result says, for its `probe` record. */
export interface ProbeSummary {
  dev?: number | null;
  ino?: number | null;
  holders: RecordHolder[];
  complete: boolean;
}

/** Wraps probe(): a TracingChannel around it with a `probe` record on the context. */
export function traceProbe<R>(path: string, options: unknown, run: () => Promise<R>, summarize?: (r: R) => ProbeSummary): Promise<R> {
  if (!probeChannel.hasSubscribers) return run();
  const ctx: ProbeContext = { path, options };
  const t0 = performance.now();
  const body = async (): Promise<R> => {
    try {
      const r = await run();
      try {
        const s = summarize?.(r);
        ctx.record = buildRecord('probe', {
          path,
          dev: s?.dev ?? null,
          ino: s?.ino ?? null,
          holders: s?.holders ?? [],
          holdersComplete: s ? s.complete : null,
          waitedMs: performance.now() - t0,
        });
      } catch {
        // a summary that fails leaves the record out, never the result
      }
      return r;
    } catch (e) {
      ctx.record = buildRecord('probe', { path, error: recordError(e), waitedMs: performance.now() - t0 });
      throw e;
    }
  };
  return probeChannel.tracePromise(body, ctx);
}
