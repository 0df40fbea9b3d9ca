/** Real foreign processes for lock tests: flock(1), python3 fcntl holders, child Node scripts. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOLDER_PY = fileURLToPath(new URL('./lock-holder.py', import.meta.url));
/** The built package, for child Node processes (tests themselves import it by name). */
export const CORE_DIST = new URL('../../dist/index.js', import.meta.url).href;

export type Method = 'flock' | 'lockf' | 'ofd';

export function tempDir(prefix = 'lockscope-test-'): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Holder {
  proc: ChildProcess;
  /** Resolves when the holder printed `word` (e.g. 'ready' once it holds the lock). */
  waitFor(word: string, timeoutMs?: number): Promise<number>;
  /** Ask a python holder to release (it prints 'released'); flock(1) holders are killed. */
  release(): void;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

function wrap(proc: ChildProcess, group = false): Holder {
  let out = '';
  const waiters: Array<() => void> = [];
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    exited,
    waitFor(word, timeoutMs = 10_000) {
      const t0 = performance.now();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`holder did not print '${word}' in ${timeoutMs} ms; stdout=${out} stderr=${err}`)), timeoutMs);
        const check = () => {
          if (out.split('\n').includes(word)) {
            clearTimeout(timer);
            resolve(performance.now() - t0);
          } else waiters.push(check);
        };
        proc.on('exit', () => {
          if (!out.split('\n').includes(word)) {
            clearTimeout(timer);
            reject(new Error(`holder exited before '${word}'; stdout=${out} stderr=${err}`));
          }
        });
        check();
      });
    },
    release() {
      if (proc.stdin && !proc.stdin.destroyed) proc.stdin.end('release\n');
      else proc.kill('SIGTERM');
    },
    kill(signal = 'SIGKILL') {
      // flock(1) runs its command as a child that shares the locked description: kill the group.
      if (group && proc.pid !== undefined) {
        try {
          process.kill(-proc.pid, signal);
        } catch {
          // the group has already exited
        }
      } else proc.kill(signal);
    },
  };
}

/** python3 process that blocks until it holds the lock (prints 'ready'), holds until release(). */
export function pythonHolder(path: string, method: Method, share: 'ex' | 'sh' = 'ex', range?: { start: number; length: number }): Holder {
  const args = [HOLDER_PY, 'hold', method, share, path];
  if (range) args.push(String(range.start), String(range.length));
  return wrap(spawn('python3', args, { stdio: ['pipe', 'pipe', 'pipe'] }));
}

/** One non-blocking attempt by a foreign python3 process: 'locked' (it could) or 'busy'. */
export function pythonTry(path: string, method: Method, share: 'ex' | 'sh' = 'ex', range?: { start: number; length: number }): 'locked' | 'busy' {
  const args = [HOLDER_PY, 'try', method, share, path];
  if (range) args.push(String(range.start), String(range.length));
  const r = spawnSync('python3', args, { encoding: 'utf8', timeout: 10_000 });
  const word = r.stdout.trim();
  if (word !== 'locked' && word !== 'busy') throw new Error(`python try failed: ${r.stdout} ${r.stderr}`);
  return word;
}

/** flock(1) holding the file while `sleep` runs (prints 'ready' once it holds it). */
export function flockHolder(path: string, share: 'ex' | 'sh' = 'ex', seconds = 30): Holder {
  const args = [share === 'sh' ? '-s' : '-x', path, 'sh', '-c', `echo ready; exec sleep ${seconds}`];
  return wrap(spawn('flock', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true }), true);
}

/** One non-blocking flock(1) attempt: 'locked' or 'busy'. */
export function flockTry(path: string, share: 'ex' | 'sh' = 'ex'): 'locked' | 'busy' {
  const r = spawnSync('flock', ['-n', share === 'sh' ? '-s' : '-x', path, 'true'], { timeout: 10_000, encoding: 'utf8' });
  if (r.status === 0) return 'locked';
  if (r.status === 1) return 'busy';
  throw new Error(`flock(1) failed: status ${r.status} ${r.stderr}`);
}

/** A child Node process running an ES module source that can import CORE_DIST. */
export function nodeChild(source: string, opts: { args?: string[]; env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}): Holder {
  const proc = spawn(process.execPath, [...(opts.args ?? []), '--input-type=module', '-e', source], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    uid: opts.uid,
    gid: opts.gid,
  });
  return wrap(proc);
}

export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

export function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `cond` until true or the (generous) bound passes. */
export async function until(cond: () => boolean, boundMs = 5_000, what = 'condition'): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > boundMs) throw new Error(`${what} not reached in ${boundMs} ms`);
    await sleep(5);
  }
}
