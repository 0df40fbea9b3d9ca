/**
 * Foreign processes for every package's tests beside holders.ts: python3 fcntl/mmap holders of
 * every lock kind (also as another uid), flock(1) with its command, a running executable. Each
 * prints `ready <pid>` once it holds/opens the file; stop() kills exactly the processes it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { asUser, flockHolder, type SpawnOpts } from './holders.js';
import { sleep } from './sleep.js';

export type { SpawnOpts } from './holders.js';

export type HolderKind =
  | 'flock' // python fcntl.flock LOCK_EX
  | 'flock-sh' // python fcntl.flock LOCK_SH
  | 'lockf' // python fcntl.lockf (POSIX) on bytes 10..19
  | 'ofd' // python F_OFD_SETLK write lock, whole file
  | 'ofd-wait' // python F_OFD_SETLKW read lock: blocks behind a writer
  | 'flock-wait' // python flock LOCK_EX, blocking
  | 'fork-flock' // python: flock, fork, parent exits, child keeps it (dead PID in /proc/locks)
  | 'zombie-flock' // python: a child flocks, forks, exits unreaped: a zombie in /proc/locks, its child keeps it
  | 'mmap' // python mmap of the file, fd closed
  | 'open'; // python: just open read-only

const PY = String.raw`
import fcntl, mmap, os, struct, sys, time
kind, path = sys.argv[1], sys.argv[2]
def ready(): print('ready', os.getpid(), flush=True)
if kind == 'open':
    fd = os.open(path, os.O_RDONLY); ready()
elif kind in ('flock', 'flock-sh', 'flock-wait'):
    fd = os.open(path, os.O_RDWR)
    if kind == 'flock-wait': print('waiting', os.getpid(), flush=True)
    fcntl.flock(fd, fcntl.LOCK_SH if kind == 'flock-sh' else fcntl.LOCK_EX); ready()
elif kind == 'lockf':
    fd = os.open(path, os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX, 10, 10); ready()
elif kind in ('ofd', 'ofd-wait'):
    fd = os.open(path, os.O_RDWR)
    t = fcntl.F_WRLCK if kind == 'ofd' else fcntl.F_RDLCK
    cmd = fcntl.F_OFD_SETLK if kind == 'ofd' else fcntl.F_OFD_SETLKW
    if kind == 'ofd-wait': print('waiting', os.getpid(), flush=True)
    fcntl.fcntl(fd, cmd, struct.pack('hhqqi4x', t, 0, 0, 0, 0)); ready()
elif kind == 'fork-flock':
    fd = os.open(path, os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX)
    r, w = os.pipe()
    if os.fork() > 0:
        os.close(w); os.read(r, 1); os._exit(0)
    os.close(r); os.setsid()
    ppid = os.getppid()
    print('parent', ppid, flush=True)
    os.close(w)
    def parent_alive():
        try: return open('/proc/%d/stat' % ppid).read().rsplit(') ', 1)[1][0] not in 'ZX'
        except OSError: return False
    while parent_alive(): time.sleep(0.01)
    ready()
elif kind == 'zombie-flock':
    r, w = os.pipe()
    z = os.fork()
    if z == 0:
        fd = os.open(path, os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fork() == 0:
            os.write(w, b'%d' % os.getpid())
            while True: time.sleep(60)
        os._exit(0)
    os.close(w); holder = int(os.read(r, 32))
    while open('/proc/%d/stat' % z).read().rsplit(') ', 1)[1][0] != 'Z': time.sleep(0.01)
    print('parent', z, flush=True); print('ready', holder, flush=True)
elif kind == 'mmap':
    fd = os.open(path, os.O_RDWR)
    if os.fstat(fd).st_size == 0: os.write(fd, b'x' * 4096)
    # Python's mmap keeps a dup of the fd: close every fd so only the mapping remains.
    m = mmap.mmap(fd, 4096); os.closerange(3, 1024); ready()
sys.stdout.flush()
while True: time.sleep(60)
`;

export interface Proc {
  /** pid of the process that holds/opens the file (for fork-flock: the surviving child). */
  pid: number;
  /** fork-flock, zombie-flock: the dead parent's pid (what /proc/locks shows). */
  parentPid?: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function waitLine(child: ChildProcess, word: string, ignoreExit = false, timeoutMs = 15_000): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const seen: Record<string, number> = {};
    const t = setTimeout(() => reject(new Error(`no '${word}' from child in ${timeoutMs} ms; got: ${buf}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString();
      for (const m of buf.matchAll(/^(\w+) (\d+)$/gm)) seen[m[1]!] = Number(m[2]);
      if (seen[word] !== undefined) {
        clearTimeout(t);
        child.stdout!.off('data', onData);
        resolve(seen);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      if (seen[word] === undefined && !ignoreExit) {
        clearTimeout(t);
        reject(new Error(`child exited (${code}) before '${word}'; output: ${buf}`));
      }
    });
  });
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function stopChild(child: ChildProcess, extra: number[] = []): Promise<void> {
  for (const p of extra) killPid(p);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await done;
}

/** A python3 process holding/opening `path` as `kind`. */
export async function pyHolder(kind: HolderKind, path: string, o: SpawnOpts = {}): Promise<Proc> {
  // Another uid may not reach a per-user python (pyenv under /root): use the system one then.
  const py = o.uid !== undefined && existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const [cmd, args] = asUser(py, ['-c', PY, kind, path], o);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = await waitLine(child, o.waiting ? 'waiting' : 'ready', kind === 'fork-flock');
  const pid = o.waiting ? seen.waiting! : seen.ready!;
  const extra = kind === 'fork-flock' || kind === 'zombie-flock' ? [pid] : [];
  return { pid, parentPid: seen.parent, child, stop: () => stopChild(child, extra) };
}

/** flock(1) taking the lock and running `sleep`: both hold it (sleep inherits the fd). */
export async function flockCmd(path: string, o: SpawnOpts = {}): Promise<Proc & { sleepPid: number }> {
  const h = flockHolder(path, 'ex', 300, { withCommand: true, uid: o.uid, gid: o.gid });
  await h.waitFor('ready', 15_000);
  return Object.assign(h, { sleepPid: h.said('ready')! });
}

/**
 * A copy of /bin/sleep, running: opening it for writing fails with a real ETXTBSY. Resolves once
 * the kernel runs the copy (before that, a write open would make the exec fail instead).
 */
export async function runningExecutable(dir: string): Promise<Proc & { path: string }> {
  const path = join(dir, 'busy-sleep');
  copyFileSync('/bin/sleep', path);
  chmodSync(path, 0o755);
  const child = spawn(path, ['300'], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      if (readlinkSync(`/proc/${child.pid}/exe`) === path) break;
    } catch {
      // not there yet
    }
    if (i > 1000) throw new Error(`${path} did not start`);
    await sleep(10);
  }
  return { pid: child.pid!, path, child, stop: () => stopChild(child) };
}
