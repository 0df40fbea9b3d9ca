/**
 * Foreign processes for the probe tests: python3 fcntl/mmap holders, flock(1), child Node
 * processes, optionally as another uid (setpriv). Each prints `ready <pid>` once it holds/opens
 * the file; stop() kills exactly the processes it started (by pid).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreForOthers } from './core-for-others.js';
import { sleep } from '../../../../test-support/sleep.js';

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

export interface SpawnOpts {
  /** Run as this uid/gid (requires root): setpriv --reuid --regid --clear-groups. */
  uid?: number;
  gid?: number;
  /** Resolve once the process says 'waiting' (blocked lock) instead of 'ready'. */
  waiting?: boolean;
}

function wrap(cmd: string, args: string[], o: SpawnOpts): [string, string[]] {
  if (o.uid === undefined) return [cmd, args];
  return ['setpriv', [`--reuid=${o.uid}`, `--regid=${o.gid ?? o.uid}`, '--clear-groups', cmd, ...args]];
}

function waitLine(child: ChildProcess, word: string, ignoreExit = false, timeoutMs = 15_000): Promise<Record<string, number>> {
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

async function stopChild(child: ChildProcess, extra: number[] = []): Promise<void> {
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
  const [cmd, args] = wrap(py, ['-c', PY, kind, path], o);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = await waitLine(child, o.waiting ? 'waiting' : 'ready', kind === 'fork-flock');
  const pid = o.waiting ? seen.waiting! : seen.ready!;
  const extra = kind === 'fork-flock' || kind === 'zombie-flock' ? [pid] : [];
  return { pid, parentPid: seen.parent, child, stop: () => stopChild(child, extra) };
}

/** flock(1) taking the lock and running `sleep`: both hold it (sleep inherits the fd). */
export async function flockCmd(path: string, o: SpawnOpts = {}): Promise<Proc & { sleepPid: number }> {
  const [cmd, args] = wrap('flock', ['-x', path, 'sh', '-c', 'echo ready $$; exec sleep 300'], o);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = await waitLine(child, 'ready');
  return { pid: child.pid!, sleepPid: seen.ready!, child, stop: () => stopChild(child, [seen.ready!]) };
}

const NODE_OPENER = String.raw`
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const [path, how] = process.argv.slice(1);
const fd = fs.openSync(path, 'r+');
if (how === 'inherit-flock') {
  // flock(1) locks the description it inherits on fd 3 and exits: node is left holding it.
  const r = spawnSync('flock', ['-x', '-n', '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] });
  if (r.status !== 0) { console.error('flock failed', r.status); process.exit(1); }
  console.log('locker', r.pid);
}
console.log('ready', process.pid);
setInterval(() => {}, 1 << 30);
`;

/** A child Node process that keeps `path` open; with inherit-flock it also holds a flock on it. */
export async function nodeHolder(path: string, how: 'open' | 'inherit-flock', o: SpawnOpts = {}): Promise<Proc & { lockerPid?: number }> {
  const [cmd, args] = wrap(process.execPath, ['-e', NODE_OPENER, path, how], o);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = await waitLine(child, 'ready');
  return { pid: seen.ready!, lockerPid: seen.locker, child, stop: () => stopChild(child) };
}

/**
 * A child Node process (any binary: `node`, default this one) holding an exclusive flock on
 * `path` through lockscope itself.
 */
export async function nodeLockHolder(path: string, o: SpawnOpts & { node?: string } = {}): Promise<Proc> {
  const code =
    `import(${JSON.stringify(coreForOthers().entry)}).then((m) => m.lock(${JSON.stringify(path)}))` +
    `.then((h) => { globalThis.held = h; console.log('ready', process.pid); setInterval(() => {}, 1 << 30); }, ` +
    `(e) => { console.error(e); process.exit(9); })`;
  const [cmd, args] = wrap(o.node ?? process.execPath, ['-e', code], o);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = await waitLine(child, 'ready');
  return { pid: seen.ready!, child, stop: () => stopChild(child, [seen.ready!]) };
}

export function tmpDir(prefix: string, shared = false): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  if (shared) chmodSync(d, 0o777);
  return d;
}

export function makeFile(dir: string, name: string, shared = false): string {
  const f = join(dir, name);
  writeFileSync(f, '');
  if (shared) chmodSync(f, 0o666);
  return f;
}

/** An unprivileged user for the other-uid tests; created with useradd when missing (root only). */
export function ensureUser(name: string): { uid: number; gid: number } | null {
  let r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (process.getuid?.() !== 0) return null;
    spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { encoding: 'utf8' });
    r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (r.status !== 0) return null;
  }
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// ---- the classic tools, parsed ------------------------------------------------------------

/** PIDs `lsof <path>` reports (any fd type, maps included). */
export function lsofPids(path: string): number[] {
  const r = spawnSync('lsof', ['-w', '-F', 'p', path], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/^p(\d+)$/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** PIDs `fuser <path>` reports (it prints PIDs on stdout, access letters on stderr). */
export function fuserPids(path: string): number[] {
  const r = spawnSync('fuser', [path], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** Lines `lslocks` prints for inode `ino`: its PID column (may be -1 or dead) and type. */
export function lslocksFor(ino: number): Array<{ pid: number; type: string }> {
  const r = spawnSync('lslocks', ['--json', '--output', 'PID,TYPE,INODE', '--notruncate'], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout || '{"locks":[]}') as { locks: Array<{ pid: number | string; type: string; inode: number | string }> };
  return j.locks.filter((l) => Number(l.inode) === ino).map((l) => ({ pid: Number(l.pid), type: l.type }));
}

/** Whether `pid` runs: a zombie (exited, not yet reaped by its parent) does not. */
export function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  const state = stat[stat.lastIndexOf(') ') + 2];
  return state !== 'Z' && state !== 'X';
}

export { sleep };

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
