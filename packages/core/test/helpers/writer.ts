/**
 * A python3 writer driven line by line over stdin, for the waitIdle tests and bench/idle.mjs:
 *   open PATH        open for appending (O_WRONLY|O_APPEND|O_CREAT), replacing the current fd
 *   write N          write N bytes
 *   burst N MIN MAX  N writes of 16 bytes, MIN..MAX ms apart (random)
 *   close            close the fd
 *   mmap PATH        map the file MAP_SHARED writable (4096 bytes), close the fd, write through the map
 *   flock PATH       open read-only and take LOCK_EX (flock(1) does the same)
 * Every command answers `ok <epoch ms>` when done, with the time taken just BEFORE it ran: a lower
 * bound of when it happened (a "resolved after the close" check must not trust a time the writer
 * took after a close it may have been descheduled right after).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const PY = String.raw`
import fcntl, mmap, os, random, sys, time
fd = -1
m = None
t0 = 0
def ok(): print('ok %.3f' % t0, flush=True)
print('ready %d' % os.getpid(), flush=True)
for line in sys.stdin:
    a = line.split()
    if not a: continue
    c = a[0]
    t0 = time.time() * 1000
    if c == 'open':
        if fd >= 0: os.close(fd)
        fd = os.open(a[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    elif c == 'write':
        os.write(fd, b'x' * int(a[1]))
    elif c == 'burst':
        n, lo, hi = int(a[1]), float(a[2]), float(a[3])
        for i in range(n):
            os.write(fd, b'0123456789abcde\n')
            time.sleep(random.uniform(lo, hi) / 1000)
    elif c == 'close':
        os.close(fd); fd = -1
    elif c == 'mmap':
        f = os.open(a[1], os.O_RDWR)
        if os.fstat(f).st_size < 4096: os.ftruncate(f, 4096)
        m = mmap.mmap(f, 4096); os.close(f)
        m[0:1] = b'y'
    elif c == 'flock':
        fd = os.open(a[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX)
    elif c == 'exit':
        ok(); sys.exit(0)
    ok()
`;

export interface Writer {
  pid: number;
  child: ChildProcess;
  /** Send one command; resolves with the epoch ms the child took just before running it. */
  send(cmd: string): Promise<number>;
  stop(): Promise<void>;
}

/** `uid`: run as that uid (and gid) through setpriv (needs root). */
export async function startWriter(uid?: number): Promise<Writer> {
  const py =
    uid === undefined
      ? ['python3', '-c', PY]
      : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '/usr/bin/python3', '-c', PY];
  const child = spawn(py[0]!, py.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const queue: Array<(line: string) => void> = [];
  lines.on('line', (l) => queue.shift()?.(l));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const onExit = () => reject(new Error('writer exited'));
      child.once('exit', onExit);
      queue.push((l) => {
        child.off('exit', onExit);
        resolve(l);
      });
    });
  const first = await next();
  const pid = Number(/^ready (\d+)$/.exec(first)?.[1]);
  return {
    pid,
    child,
    async send(cmd: string) {
      const p = next();
      child.stdin.write(`${cmd}\n`);
      const l = await p;
      const m = /^ok ([\d.]+)$/.exec(l);
      if (!m) throw new Error(`writer: unexpected '${l}' after '${cmd}'`);
      return Number(m[1]);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await done;
    },
  };
}
