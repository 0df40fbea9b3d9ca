/** Real foreign processes for lock tests: flock(1), python3 fcntl holders, child Node scripts. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../../../../test-support/sleep.js';
import { wrapHolder, type Holder } from '../../../../test-support/holders.js';

export { flockHolder, flockTry, pythonHolder, pythonTry, type Holder, type Method } from '../../../../test-support/holders.js';

/** The built package, for child Node processes (tests themselves import it by name). */
export const CORE_DIST = new URL('../../dist/index.js', import.meta.url).href;

export function tempDir(prefix = 'lockscope-test-'): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A child Node process running an ES module source that can import CORE_DIST. */
export function nodeChild(source: string, opts: { args?: string[]; env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}): Holder {
  const proc = spawn(process.execPath, [...(opts.args ?? []), '--input-type=module', '-e', source], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    uid: opts.uid,
    gid: opts.gid,
  });
  return wrapHolder(proc);
}

export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * This process's fds open on `path`. A leak check on the lock file itself: the process's total fd
 * count also moves with the waiter-thread pool (threads start and retire on their own schedule)
 * and with the stdio pipes of child processes that exited but are not closed yet.
 */
export function fdsOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // closed since the listing
    }
  }
  return n;
}

export function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

export { sleep };

/** Poll `cond` until true or the (generous) bound passes. */
export async function until(cond: () => boolean, boundMs = 5_000, what = 'condition'): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > boundMs) throw new Error(`${what} not reached in ${boundMs} ms`);
    await sleep(5);
  }
}
