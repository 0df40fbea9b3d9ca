/**
 * Shared by the pino, winston and OTel adapter tests: the one place that produces a contention.
 *
 * `produceContention` is REAL: a foreign process (`flock -x FILE sleep 600`, in its own process
 * group) holds an exclusive flock on a real file, and this process calls core's `lock()` against
 * it with a low `contentionThreshold`; core publishes the records, the adapters under test log
 * them. Outcome 'timeout': the holder never lets go. Outcome 'acquired': the holder group is
 * killed after `holdMs`, the lock is granted, kept `keepMs`, released.
 *
 * `publishSyntheticRecords` is for tests about adapter MECHANICS only (nothing lost at exit,
 * volume): it publishes core-built records on the real channel without any lock.
 */
import { spawn, spawnSync } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { CHANNELS, lock, waitIdle, type IdleResult } from '@lockscope/core';
import { buildRecord, type RecordHolder } from '@lockscope/core/record';
import { blockLoopRepeatedly } from './event-loop.js';
import { wrapHolder, type Holder } from './holders.js';
import { sleep } from './sleep.js';

/** The flock(1) holder of a contention, with the names the probe should report for it. */
export interface FlockHolder extends Holder {
  /** /proc/PID/comm of the flock(1) process. */
  command: string;
  argv: string[];
}

export interface Contention {
  path: string;
  holder: FlockHolder;
  outcome: 'acquired' | 'timeout';
  /** The error lock() rejected with (timeout), else null. */
  error: unknown;
  /** How long this process waited (ms). */
  waitedMs: number;
}

export interface ContentionOptions {
  /** 'timeout': the holder never lets go; 'acquired': the holder is killed after `holdMs`. */
  outcome: 'acquired' | 'timeout';
  /** contentionThreshold given to lock() (ms). */
  thresholdMs?: number;
  /** timeout given to lock() (outcome 'timeout'). */
  timeoutMs?: number;
  /** How long the holder keeps the lock once we wait (outcome 'acquired'). */
  holdMs?: number;
  /** How long to keep the acquired lock before release. */
  keepMs?: number;
  label?: string;
  /** While lock() waits, block this process's event loop `ms` at a time, every `everyMs`. */
  blockLoop?: { ms: number; everyMs: number };
}

const dirs: string[] = [];
const holders = new Set<Holder>();

export function tempDir(prefix = 'lockscope-adapter-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Kills holders a failed test left behind and removes the temp dirs (idempotent). */
export async function cleanupTempDirs(): Promise<void> {
  await Promise.all([...holders].map((h) => h.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
// Every test file that imports this module (vitest evaluates it once per file) cleans up after itself.
afterAll(cleanupTempDirs);

/** Starts `flock -x path sleep 600` (own process group) and resolves once it holds the lock. */
export async function startFlockHolder(path: string): Promise<FlockHolder> {
  const child = spawn('flock', ['-x', path, 'sleep', '600'], { stdio: 'ignore', detached: true });
  if (child.pid === undefined) throw new Error('could not spawn flock(1)');
  // stop() kills the whole group (flock(1) and its `sleep`, which shares the locked file description).
  const holder: FlockHolder = Object.assign(wrapHolder(child, true), { command: '', argv: [] as string[] });
  holders.add(holder);
  void holder.exited.then(() => holders.delete(holder));
  const deadline = Date.now() + 10_000;
  // flock -n exits 99 (-E) while someone else holds it: that is our signal it is held.
  while (spawnSync('flock', ['-n', '-E', '99', path, 'true']).status !== 99) {
    if (Date.now() > deadline) {
      await holder.stop();
      throw new Error('flock(1) holder never took the lock');
    }
    await sleep(10);
  }
  holder.command = readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim();
  holder.argv = readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  return holder;
}

/** One real cross-process contention on a fresh file. */
export async function produceContention(opts: ContentionOptions): Promise<Contention> {
  const path = join(tempDir(), 'contended.lock');
  writeFileSync(path, '');
  const holder = await startFlockHolder(path);
  const started = performance.now();
  let letGo: NodeJS.Timeout | undefined;
  if (opts.outcome === 'acquired') letGo = setTimeout(() => void holder.stop(), opts.holdMs ?? 300);
  const unblock = opts.blockLoop ? blockLoopRepeatedly(opts.blockLoop.ms, opts.blockLoop.everyMs) : undefined;
  try {
    const handle = await lock(path, {
      timeout: opts.outcome === 'timeout' ? (opts.timeoutMs ?? 400) : 30_000,
      contentionThreshold: opts.thresholdMs ?? 100,
      ...(opts.label !== undefined ? { label: opts.label } : {}),
    });
    const waitedMs = performance.now() - started;
    await sleep(opts.keepMs ?? 20);
    await handle.release();
    return { path, holder, outcome: 'acquired', error: null, waitedMs };
  } catch (error) {
    return { path, holder, outcome: 'timeout', error, waitedMs: performance.now() - started };
  } finally {
    unblock?.();
    clearTimeout(letGo);
    await holder.stop();
  }
}

/** The `error` of the contended record of a wait behind the flock(1) holder: what flock(LOCK_NB) met. */
export const CONTENDED_BY_FLOCK = { code: 'EWOULDBLOCK', errno: osConstants.errno.EAGAIN, syscall: 'flock', reason: 'contended' } as const;

export interface Idle {
  path: string;
  /** pid of the foreign writer waitIdle() waited for. */
  writerPid: number;
  result: IdleResult;
}

/**
 * One real waitIdle(): a foreign sh process holds a fresh file open for writing (0.8 s: long
 * enough for the probe to see it on a loaded machine), appends for ~200 ms, closes it and sleeps;
 * core's waitIdle (quietMs 100) resolves and publishes the `idle` record.
 */
export async function produceIdle(): Promise<Idle> {
  const path = join(tempDir(), 'app.log');
  writeFileSync(path, '');
  const child = spawn(
    'sh',
    [
      '-c',
      'exec 3>>"$1"; echo ready; sleep 0.8; for i in 1 2 3 4; do echo line >&3; sleep 0.05; done; exec 3>&-; exec sleep 600',
      'sh',
      path,
    ],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const result = await waitIdle(path, { quietMs: 100, timeout: 20_000 });
    return { path, writerPid: child.pid!, result };
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

/** The record's entry for `pid` with role holder (the probe also lists this process as a waiter). */
export function holderEntry(record: { holders: RecordHolder[] }, pid: number): RecordHolder | undefined {
  return record.holders.find((h) => h.pid === pid && h.role === 'holder');
}

/** Mechanics only (no lock is taken): `n` core-built `released` records on the real channel. */
export function publishSyntheticRecords(n: number, path = (i: number) => `/synthetic/${i}`): void {
  const ch = diagnosticsChannel.channel(CHANNELS.released);
  for (let i = 0; i < n; i++) ch.publish(buildRecord('released', { path: path(i), heldMs: i }));
}

export { assertValidRecord, schemaErrors } from './records.js';
