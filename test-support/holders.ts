/**
 * Real foreign processes that hold locks, for every package's tests: flock(1), python3 fcntl
 * holders (lock-holder.py) and spawned commands that print 'ready', all behind one Holder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HOLDER_PY = fileURLToPath(new URL('./lock-holder.py', import.meta.url));

export type Method = 'flock' | 'lockf' | 'ofd';

/** A foreign process holding (or trying for) a lock, whoever started it. */
export interface Holder {
  proc: ChildProcess;
  /** The same process as `proc`. */
  child: ChildProcess;
  pid: number;
  /** Resolves when the holder printed a line `word` or `word N` (e.g. 'ready' once it holds the lock). */
  waitFor(word: string, timeoutMs?: number): Promise<number>;
  /** Ask a python holder to release (it prints 'released'); flock(1) holders are killed. */
  release(): void;
  kill(signal?: NodeJS.Signals): void;
  /** SIGKILLs it (its whole group when it has one) and resolves once it exited. */
  stop(): Promise<void>;
  exited: Promise<number | null>;
  /** The number it printed on a line `word N` (its last such line), if any. */
  said(word: string): number | undefined;
}

export interface SpawnOpts {
  /** Run as this uid/gid (requires root): setpriv --reuid --regid --clear-groups. */
  uid?: number;
  gid?: number;
  /** Resolve once the process says 'waiting' (blocked lock) instead of 'ready'. */
  waiting?: boolean;
}

/** The command line that runs `cmd` as `o.uid`/`o.gid` (setpriv: requires root), or `cmd` itself. */
export function asUser(cmd: string, args: string[], o: SpawnOpts): [string, string[]] {
  if (o.uid === undefined) return [cmd, args];
  return ['setpriv', [`--reuid=${o.uid}`, `--regid=${o.gid ?? o.uid}`, '--clear-groups', cmd, ...args]];
}

/** A Holder around a spawned process; `group`: it leads its own process group (spawned detached). */
export function wrapHolder(proc: ChildProcess, group = false): Holder {
  let out = '';
  const waiters: Array<() => void> = [];
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (d: string) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const said = (word: string): number | undefined => {
    const m = [...out.matchAll(new RegExp(`^${word} (\\d+)$`, 'gm'))].at(-1);
    return m === undefined ? undefined : Number(m[1]);
  };
  const printed = (word: string): boolean => said(word) !== undefined || out.split('\n').includes(word);
  const holder: Holder = {
    proc,
    child: proc,
    pid: proc.pid!,
    exited,
    said,
    waitFor(word, timeoutMs = 10_000) {
      const t0 = performance.now();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`holder did not print '${word}' in ${timeoutMs} ms; stdout=${out} stderr=${err}`)),
          timeoutMs,
        );
        const check = () => {
          if (printed(word)) {
            clearTimeout(timer);
            resolve(performance.now() - t0);
          } else waiters.push(check);
        };
        proc.on('exit', () => {
          if (!printed(word)) {
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
      // flock(1) runs its command (sleep) as a child: kill the group, or the sleep lingers.
      if (group && proc.pid !== undefined) {
        try {
          process.kill(-proc.pid, signal);
        } catch {
          // the group has already exited
        }
      } else proc.kill(signal);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) holder.kill('SIGKILL');
      await exited;
    },
  };
  return holder;
}

/** python3 process that blocks until it holds the lock (prints 'ready'), holds until release(). */
export function pythonHolder(path: string, method: Method, share: 'ex' | 'sh' = 'ex', range?: { start: number; length: number }): Holder {
  const args = [HOLDER_PY, 'hold', method, share, path];
  if (range) args.push(String(range.start), String(range.length));
  return wrapHolder(spawn('python3', args, { stdio: ['pipe', 'pipe', 'pipe'] }));
}

/** One non-blocking attempt by a foreign python3 process: 'locked' (it could) or 'busy'. */
export function pythonTry(
  path: string,
  method: Method,
  share: 'ex' | 'sh' = 'ex',
  range?: { start: number; length: number },
): 'locked' | 'busy' {
  const args = [HOLDER_PY, 'try', method, share, path];
  if (range) args.push(String(range.start), String(range.length));
  const r = spawnSync('python3', args, { encoding: 'utf8', timeout: 10_000 });
  const word = r.stdout.trim();
  if (word !== 'locked' && word !== 'busy') throw new Error(`python try failed: ${r.stdout} ${r.stderr}`);
  return word;
}

/**
 * flock(1) holding the file while `sleep` runs (prints `ready N` once it holds it, N the
 * command's pid). `-o`: only flock(1) itself keeps the locked description, so the lock is free
 * once `exited` resolves (the command, a child that would share it, can outlive flock(1) for a
 * moment when the group is killed). `withCommand`: no `-o`, the command shares the lock, as
 * `flock -x FILE CMD` does by default (two processes in the lock table). `uid`/`gid`: as that user.
 * `scriptArgs`: more words on the command line (`sh -c SCRIPT ...scriptArgs`).
 */
export function flockHolder(
  path: string,
  share: 'ex' | 'sh' = 'ex',
  seconds = 30,
  o: { withCommand?: boolean; uid?: number | undefined; gid?: number | undefined; scriptArgs?: string[] } = {},
): Holder {
  const script = ['sh', '-c', `echo ready $$; exec sleep ${seconds}`, ...(o.scriptArgs ?? [])];
  const [cmd, args] = asUser('flock', [...(o.withCommand ? [] : ['-o']), share === 'sh' ? '-s' : '-x', path, ...script], o);
  return wrapHolder(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true }), true);
}

/** One non-blocking flock(1) attempt: 'locked' or 'busy'. */
export function flockTry(path: string, share: 'ex' | 'sh' = 'ex'): 'locked' | 'busy' {
  const r = spawnSync('flock', ['-n', share === 'sh' ? '-s' : '-x', path, 'true'], { timeout: 10_000 });
  if (r.status === 0) return 'locked';
  if (r.status === 1) return 'busy';
  throw new Error(`flock(1) failed: status ${r.status} ${r.stderr.toString()}`);
}

/** Spawns a process (own process group) that holds a lock and prints "ready" once it does. */
export async function spawnHolder(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Holder> {
  const holder = wrapHolder(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, detached: true }), true);
  await holder.waitFor('ready', 20_000);
  return holder;
}
