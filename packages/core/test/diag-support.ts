/**
 * Test-only helpers for the instrumentation tests: a minimal holder resolver (the real one is the
 * probe, wired by the engine) and real foreign holder processes.
 * The resolver reads /proc/locks for candidate PIDs, adds the PIDs a test spawned, and confirms
 * each through /proc/PID/fdinfo `lock:` lines on an fd of the same (dev, ino).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { lock, LockError } from '@lockscope/core';
import { subscribeRecords, type LockscopeRecord, type RecordHolder } from '@lockscope/core/record';

function devString(dev: number): string {
  const major = ((dev >>> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

export function procLocksPids(dev: number, ino: number): number[] {
  const key = `${devString(dev)}:${ino}`;
  const pids = new Set<number>();
  for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
    if (line.includes('->')) continue;
    const f = line.trim().split(/\s+/);
    if (f[5] === key && f[4] !== '-1') pids.add(Number(f[4]));
  }
  return [...pids];
}

export function makeTestResolver(extraPids: () => number[] = () => []) {
  const calls: Array<{ path: string; dev: number | null; ino: number | null }> = [];
  const resolver = async (path: string, dev: number | null, ino: number | null) => {
    calls.push({ path, dev, ino });
    if (dev === null || ino === null) return { holders: [], complete: false };
    const key = `${devString(dev)}:${ino}`;
    const holders: RecordHolder[] = [];
    for (const pid of new Set([...procLocksPids(dev, ino), ...extraPids()])) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const st = statSync(`/proc/${pid}/fd/${fd}`);
          if (st.dev !== dev || st.ino !== ino) continue;
          const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
          const lock = info.split('\n').find((l) => l.startsWith('lock:') && l.includes(key));
          if (!lock) continue;
          const f = lock.replace(/^lock:\s*\d+:\s*/, '').split(/\s+/);
          holders.push({
            pid,
            startTime: null,
            command: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
            argv: null,
            uid: st.uid,
            user: null,
            lockKind: (f[0] ?? '').toLowerCase(),
            lockMode: f[2] === 'WRITE' ? 'exclusive' : 'shared',
            role: 'holder',
            fd: Number(fd),
            range: null,
          });
        } catch {
          // fd closed or process gone mid-scan
        }
      }
    }
    // Let an event-loop turn pass, as a real probe would.
    await new Promise((r) => setImmediate(r));
    return { holders, complete: true };
  };
  return { resolver, calls };
}

export interface Holder {
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

/** Spawns a process that holds a lock and prints "ready" once it does. */
export async function spawnHolder(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Holder> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, detached: true });
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`holder not ready: ${err}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`holder exited ${code}: ${err}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        // The whole group: flock(1)'s command inherits the lock and would outlive flock itself.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }),
  };
}

/** python3 holding fcntl.flock(LOCK_EX) on `file` until stdin closes or it is killed. */
export function pythonFlockHolder(file: string): Promise<Holder> {
  const py = `import fcntl,sys\nf=open(sys.argv[1],'a+')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('ready',flush=True)\nsys.stdin.read()\n`;
  return spawnHolder('python3', ['-c', py, file]);
}

/** flock(1) holding an exclusive lock on `file` while `sleep` runs. */
export function flockHolder(file: string): Promise<Holder> {
  return spawnHolder('flock', ['-x', file, 'sh', '-c', 'echo ready; exec sleep 600']);
}

/** Number of live `Timeout` resources in this process. */
export function timeoutCount(): number {
  return process.getActiveResourcesInfo().filter((t) => t === 'Timeout').length;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Publisher = { name: string | symbol; publish: (message: unknown) => void };

/**
 * Counts every publish on `channels` (names pushed to `published`) by shadowing each channel's
 * prototype `publish` with an own property; `restore()` deletes the shadow again.
 */
export function countPublishes(channels: Publisher[]): { published: string[]; restore: () => void } {
  const published: string[] = [];
  for (const ch of channels) {
    const original = ch.publish;
    ch.publish = function (this: unknown, m: unknown) {
      published.push(ch.name as string);
      return original.call(this, m);
    };
  }
  return { published, restore: () => channels.forEach((ch) => delete (ch as { publish?: unknown }).publish) };
}

/** The fd link of a pid, for sanity checks in assertions. */
export function fdTarget(pid: number, fd: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return null;
  }
}

import { createRequire } from 'node:module';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const require_ = createRequire(import.meta.url);
/** The schema as the package exports it (`@lockscope/core/record.schema.json`). */
export const schemaPath = require_.resolve('@lockscope/core/record.schema.json');
export const recordSchema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
const ajv = new Ajv2020({ strict: true, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(recordSchema);

/** Throws with ajv's messages when `r` is not a valid version-1 record. */
export function assertValidRecord(r: unknown): void {
  if (!validate(r)) throw new Error(`record fails the schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(r)}`);
}
export function isValidRecord(r: unknown): boolean {
  return validate(r) === true;
}

/**
 * A real lock() on `file`, held by another process, that waits past its contention threshold and
 * times out. Returns the wait's contended record, valid against the schema.
 */
export async function contendedRecord(file: string, o: { contentionThreshold: number; timeout: number }): Promise<LockscopeRecord> {
  const seen: LockscopeRecord[] = [];
  const stop = subscribeRecords((r) => seen.push(r));
  let err: unknown;
  try {
    (await lock(file, o)).releaseSync();
  } catch (e) {
    err = e;
  } finally {
    stop();
  }
  if (!(err instanceof LockError) || err.reason !== 'timeout') throw new Error(`expected the wait to time out, got ${String(err)}`);
  const c = seen.find((r) => r.event === 'contended');
  if (c === undefined) throw new Error(`no contended record among ${seen.map((r) => r.event).join(', ')}`);
  assertValidRecord(c);
  return c;
}
