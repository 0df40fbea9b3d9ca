/**
 * Test-only helpers for the instrumentation tests: a minimal holder resolver (the real one is the
 * probe, wired by the engine) and real foreign holder processes.
 * The resolver reads /proc/locks for candidate PIDs, adds the PIDs a test spawned, and confirms
 * each through /proc/PID/fdinfo `lock:` lines on an fd of the same (dev, ino).
 */
import { createHook } from 'node:async_hooks';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach } from 'vitest';
import { configure, lock, LockError, resetConfig } from '@lockscope/core';
// Engine-facing hooks are internal (not in the package's exports): the built module by path.
import * as diag from '../dist/diagnostics/index.js';
import { subscribeRecords, type LockscopeRecord, type RecordHolder } from '@lockscope/core/record';
import { assertValidRecord } from '../../../test-support/records.js';
import { TEST_HOLDERS_DEADLINE } from '../../../test-support/vitest-setup.js';
import { flockHolder as sharedFlockHolder, spawnHolder, type Holder } from '../../../test-support/holders.js';

export { spawnHolder, type Holder } from '../../../test-support/holders.js';

export { assertValidRecord, isValidRecord, schemaPath } from '../../../test-support/records.js';

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

/** python3 holding fcntl.flock(LOCK_EX) on `file` until stdin closes or it is killed. */
export function pythonFlockHolder(file: string): Promise<Holder> {
  const py = `import fcntl,sys\nf=open(sys.argv[1],'a+')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('ready',flush=True)\nsys.stdin.read()\n`;
  return spawnHolder('python3', ['-c', py, file]);
}

/** flock(1) holding an exclusive lock on `file` while `sleep` runs, the lock shared with `sleep`. */
export async function flockHolder(file: string, seconds = 600): Promise<Holder> {
  const holder = sharedFlockHolder(file, 'ex', seconds, { withCommand: true });
  await holder.waitFor('ready', 20_000);
  return holder;
}

const CORE_ROOT = fileURLToPath(new URL('../', import.meta.url));
const HERE = fileURLToPath(import.meta.url);
const OWN_MODULE = new RegExp(`${CORE_ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:dist|src)/(.+?)\\.(?:js|ts):`);

/**
 * Timers (setTimeout/setInterval, ref'd or not) that lockscope's own modules create from now on,
 * each named by its module ('diagnostics/tracker'). Counting the process's Timeouts instead counts
 * the test runner's own timers, which come and go, and misses unref'd ones. A timer is lockscope's
 * when the first frame that created it outside Node's internals is in core's dist or src.
 */
export function ownTimers(): { created(area?: string): string[]; live(area?: string): string[]; stop(): void } {
  const timers: Array<{ module: string; timer: { _destroyed?: boolean } }> = [];
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type !== 'Timeout') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 30;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
      const frame = stack
        .split('\n')
        .slice(1)
        .find((l) => l.includes('/') && !l.includes('node:') && !l.includes(HERE));
      const module = frame === undefined ? undefined : OWN_MODULE.exec(frame)?.[1];
      if (module !== undefined) timers.push({ module, timer: resource });
    },
  }).enable();
  const select = (area: string | undefined, t: (typeof timers)[number]) => area === undefined || t.module.startsWith(`${area}/`);
  return {
    created: (area) => timers.filter((t) => select(area, t)).map((t) => t.module),
    // Node marks a Timeout _destroyed once it fired (and does not repeat) or was cleared.
    live: (area) => timers.filter((t) => select(area, t) && t.timer._destroyed !== true).map((t) => t.module),
    stop: () => void hook.disable(),
  };
}

export { sleep } from '../../../test-support/sleep.js';

type Publisher = { name: string | symbol; publish: (message: unknown) => void };

/** Every channel lockscope publishes on (records and both tracing channels): what "nothing published" counts. */
export function everyChannel(): Publisher[] {
  const tracing = [diag.acquireChannel, diag.probeChannel];
  return [
    diag.contendedChannel,
    diag.releasedChannel,
    diag.heldTooLongChannel,
    diag.leakedChannel,
    ...tracing.flatMap((t) => [t.start, t.end, t.asyncStart, t.asyncEnd, t.error]),
  ];
}

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

/**
 * The scratch an instrumentation test file shares: a temp dir (removed after all tests), its
 * `cards` dir, and after each test the processes it kept stopped, the configuration reset (with
 * the suite's holders deadline), then `after()`, the file's own reset.
 */
export function diagScratch(
  prefix: string,
  after: () => void,
): { dir: string; cardDir: string; keep: <T extends { stop(): Promise<void> }>(h: T) => T } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const kept: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    for (const h of kept.splice(0)) await h.stop();
    resetConfig();
    configure({ holdersDeadline: TEST_HOLDERS_DEADLINE });
    after();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, cardDir: join(dir, 'cards'), keep: (h) => (kept.push(h), h) };
}
