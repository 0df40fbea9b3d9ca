/**
 * Shared by the pino, winston and OTel adapter tests: the ONE place that "produces a contention".
 *
 * A real foreign process (`flock(1)`) holds an exclusive flock on a real file. Then either:
 * - mode 'real' (LOCKSCOPE_CONTENTION=real): this process calls core's `lock()` against it and core
 *   publishes the records itself; or
 * - mode 'simulated' (default until the engine and its instrumentation land): this helper publishes
 *   on the real diagnostics channels exactly as core does (AcquireContext on the acquire TracingChannel, the record itself on plain
 *   channels),
 *   with the holder read from /proc (pid, start time, command, argv) and records made by core's own
 *   `buildRecord`.
 * TODO(lead): flip the default to 'real' once `lock()` publishes on the channels.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as core from '@lockscope/core';
import { buildRecord, recordError } from '@lockscope/core/record';
import type { AcquireContext, LockscopeRecord, RecordHolder } from '@lockscope/core/record';

export const CONTENTION_MODE: 'real' | 'simulated' =
  process.env.LOCKSCOPE_CONTENTION === 'real' ? 'real' : 'simulated';

export interface Holder {
  pid: number;
  /** /proc/PID/comm */
  command: string;
  argv: string[];
  child: ChildProcess;
  kill(): Promise<void>;
}

export interface Contention {
  path: string;
  holder: Holder;
  outcome: 'acquired' | 'timeout';
  /** The error lock() rejected with (timeout), else null. */
  error: unknown;
  /** How long this process waited (ms). */
  waitedMs: number;
}

export interface ContentionOptions {
  /** 'timeout': the holder never lets go; 'acquired': the holder is killed after `holdMs`. */
  outcome: 'acquired' | 'timeout';
  /** Wait before the contended record (ms). */
  thresholdMs?: number;
  /** timeout given to lock() (outcome 'timeout'). */
  timeoutMs?: number;
  /** How long the holder keeps the lock (outcome 'acquired'). */
  holdMs?: number;
  /** How long to keep the acquired lock before release. */
  keepMs?: number;
  label?: string;
}

const dirs: string[] = [];

export function tempDir(prefix = 'lockscope-adapter-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Starts `flock -x path sleep 600` and resolves once it holds the lock. */
export async function startFlockHolder(path: string): Promise<Holder> {
  const child = spawn('flock', ['-x', path, 'sleep', '600'], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn flock(1)');
  const deadline = Date.now() + 10_000;
  // flock -n exits 99 (-E) while someone else holds it: that is our signal it is held.
  while (spawnSync('flock', ['-n', '-E', '99', path, 'true']).status !== 99) {
    if (Date.now() > deadline) throw new Error('flock(1) holder never took the lock');
    await sleep(10);
  }
  const command = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  return {
    pid,
    command,
    argv,
    child,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** Produces one contention on a fresh file and returns what happened. */
export async function produceContention(opts: ContentionOptions): Promise<Contention> {
  const path = join(tempDir(), 'contended.lock');
  writeFileSync(path, '');
  const holder = await startFlockHolder(path);
  try {
    return CONTENTION_MODE === 'real' ? await realContention(path, holder, opts) : await simulatedContention(path, holder, opts);
  } finally {
    await holder.kill();
  }
}

async function realContention(path: string, holder: Holder, opts: ContentionOptions): Promise<Contention> {
  const api = core as unknown as {
    lock: (p: string, o: object) => Promise<{ release(): Promise<void> }>;
  };
  const started = performance.now();
  if (opts.outcome === 'acquired') setTimeout(() => void holder.kill(), opts.holdMs ?? 300);
  try {
    const handle = await api.lock(path, {
      timeout: opts.outcome === 'timeout' ? (opts.timeoutMs ?? 400) : 30_000,
      contentionThreshold: opts.thresholdMs ?? 100,
      label: opts.label,
    });
    const waitedMs = performance.now() - started;
    await sleep(opts.keepMs ?? 20);
    await handle.release();
    return { path, holder, outcome: 'acquired', error: null, waitedMs };
  } catch (error) {
    return { path, holder, outcome: 'timeout', error, waitedMs: performance.now() - started };
  }
}

const acquire = diagnosticsChannel.tracingChannel(core.CHANNELS.acquire);
const contended = diagnosticsChannel.channel(core.CHANNELS.contended);
const released = diagnosticsChannel.channel(core.CHANNELS.released);
let nextWaitId = 1_000_000;

/** Publishes what core will publish for one `lock()` call that waits on `holder`. */
async function simulatedContention(path: string, holder: Holder, opts: ContentionOptions): Promise<Contention> {
  const st = statSync(path);
  const waitId = nextWaitId++;
  const holdId = nextWaitId++;
  const base = {
    path,
    dev: st.dev,
    ino: st.ino,
    kind: 'flock' as const,
    mode: 'exclusive' as const,
    label: opts.label ?? null,
    waitId,
  };
  const holders = [holderRecord(holder)];
  const ctx: AcquireContext = { path, kind: 'flock', mode: 'exclusive', range: null, label: base.label, sync: false, waitId };
  const started = performance.now();
  const threshold = opts.thresholdMs ?? 100;
  let acquiredAt = 0;
  try {
    await acquire.tracePromise(async () => {
      await sleep(threshold);
      contended.publish(
        buildRecord('contended', { ...base, waitedMs: performance.now() - started, holders, holdersComplete: true, snapshot: snapshot(new Error('waiting').stack ?? null) }),
      );
      if (opts.outcome === 'timeout') {
        const timeout = opts.timeoutMs ?? 400;
        await sleep(Math.max(0, timeout - (performance.now() - started)));
        const waitedMs = performance.now() - started;
        const err = core.lockErrorFromErrno('flock', core.errnoNumber('ETIMEDOUT') ?? 110, path, 'flock', {
          waitedMs,
          message: `ETIMEDOUT: lock not acquired within ${timeout} ms, flock '${path}'`,
        });
        err.holders = holders;
        ctx.record = buildRecord('timeout', { ...base, waitedMs, error: recordError(err), holders, holdersComplete: true });
        throw err;
      }
      await sleep(Math.max(0, (opts.holdMs ?? 300) - threshold));
      await holder.kill();
      acquiredAt = performance.now();
      ctx.record = buildRecord('acquired', { ...base, holdId, waitedMs: acquiredAt - started });
      return { path };
    }, ctx);
  } catch (error) {
    return { path, holder, outcome: 'timeout', error, waitedMs: performance.now() - started };
  }
  const waitedMs = acquiredAt - started;
  await sleep(opts.keepMs ?? 20);
  released.publish(buildRecord('released', { ...base, holdId, heldMs: performance.now() - acquiredAt }));
  return { path, holder, outcome: 'acquired', error: null, waitedMs };
}

function holderRecord(h: Holder): RecordHolder {
  return {
    pid: h.pid,
    startTime: processStartTime(h.pid),
    command: h.command,
    argv: h.argv,
    uid: process.getuid?.() ?? null,
    user: null,
    lockKind: 'flock',
    lockMode: 'exclusive',
    role: 'holder',
    fd: null,
    range: null,
  };
}

function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Math.round(btime * 1000 + (ticks * 1000) / 100);
  } catch {
    return null;
  }
}

function snapshot(stack: string | null): LockscopeRecord['snapshot'] {
  const counts: Record<string, number> = {};
  for (const t of process.getActiveResourcesInfo()) counts[t] = (counts[t] ?? 0) + 1;
  const m = process.memoryUsage();
  return {
    stack,
    activeResources: counts,
    inProcess: [],
    eventLoopDelay: null,
    memory: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external },
    costMs: 0.1,
  };
}

// ---- record schema ----

type Validate = ((r: unknown) => boolean) & { errors?: unknown };
let validator: Validate | undefined;

/**
 * Validates against core's shipped JSON Schema (`@lockscope/core/record.schema.json`). Until that
 * file exists, checks the required fields by hand. TODO(lead): drop the fallback once it ships.
 */
export function assertValidRecord(record: unknown): asserts record is LockscopeRecord {
  validator ??= loadValidator();
  if (!validator(record)) {
    throw new Error(`record does not match schema v1: ${JSON.stringify(validator.errors)}\n${JSON.stringify(record)}`);
  }
}

function loadValidator(): Validate {
  const require = createRequire(import.meta.url);
  const schemaPath = join(require.resolve('@lockscope/core/package.json'), '..', 'schema', 'record.v1.schema.json');
  if (existsSync(schemaPath)) {
    const Ajv = require('ajv/dist/2020') as new (o: object) => { compile(s: unknown): Validate };
    const addFormats = require('ajv-formats') as (a: unknown) => void;
    let ajv: { compile(s: unknown): Validate };
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as { $schema?: string };
    if (schema.$schema?.includes('2020-12')) ajv = new Ajv({ allErrors: true, strict: false });
    else {
      const AjvDraft7 = require('ajv') as new (o: object) => { compile(s: unknown): Validate };
      ajv = new AjvDraft7({ allErrors: true, strict: false });
    }
    addFormats(ajv);
    return ajv.compile(schema);
  }
  const fn: Validate = (r: unknown) => {
    const o = r as Record<string, unknown>;
    const missing = REQUIRED.filter((k) => !(k in (o ?? {})));
    const bad =
      missing.length > 0 ||
      o.schemaVersion !== 1 ||
      typeof o.event !== 'string' ||
      typeof o.path !== 'string' ||
      typeof o.pid !== 'number' ||
      !Array.isArray(o.holders) ||
      Number.isNaN(Date.parse(String(o.time)));
    fn.errors = bad ? { missing } : undefined;
    return !bad;
  };
  return fn;
}

const REQUIRED = [
  'schemaVersion', 'event', 'time', 'path', 'dev', 'ino', 'kind', 'mode', 'range', 'pid',
  'label', 'waitedMs', 'heldMs', 'error', 'holders', 'holdersComplete', 'snapshot',
];
