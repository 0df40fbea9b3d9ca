// One uniform face over lockscope and its peers, so every bench measures them the same way.
// Each impl: { name, note, trySync?(path) -> token|null, releaseSync?(token),
//              acquire(path) -> Promise<token> (waits), release(token) -> Promise<void> }
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import koffi from 'koffi';

const require = createRequire(import.meta.url);
const optional = (name) => {
  try {
    return require(name);
  } catch {
    return null;
  }
};

const O_RDWR = 2,
  O_CREAT = 0o100,
  O_CLOEXEC = 0o2000000;
const LOCK_EX = 2,
  LOCK_NB = 4,
  LOCK_UN = 8;

export async function loadImpls() {
  const impls = {};
  const core = await import('@lockscope/core');

  impls.lockscope = {
    name: 'lockscope',
    note: 'flock; waits on a dedicated thread',
    trySync: (p) => core.tryLock(p),
    releaseSync: (h) => h.releaseSync(),
    acquire: (p) => core.lock(p),
    release: (h) => h.release(),
  };

  const libc = koffi.load('libc.so.6');
  const open = libc.func('int open(const char *, int, int)');
  const flock = libc.func('int flock(int, int)');
  const close = libc.func('int close(int)');
  impls.raw = {
    name: 'raw koffi',
    note: 'open+flock(LOCK_NB)+flock(LOCK_UN)+close, no checks',
    trySync: (p) => {
      const fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0o600);
      if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
        close(fd);
        return null;
      }
      return fd;
    },
    releaseSync: (fd) => {
      flock(fd, LOCK_UN);
      close(fd);
    },
  };

  const fsext = optional('fs-ext');
  if (fsext) {
    const flockAsync = promisify(fsext.flock);
    impls['fs-ext'] = {
      name: 'fs-ext',
      note: 'native flock; async waits block a libuv threadpool thread',
      trySync: (p) => {
        const fd = fs.openSync(p, 'a+');
        try {
          fsext.flockSync(fd, 'exnb');
          return fd;
        } catch {
          fs.closeSync(fd);
          return null;
        }
      },
      releaseSync: (fd) => {
        fsext.flockSync(fd, 'un');
        fs.closeSync(fd);
      },
      acquire: async (p) => {
        const fd = fs.openSync(p, 'a+');
        await flockAsync(fd, 'ex');
        return fd;
      },
      release: async (fd) => {
        await flockAsync(fd, 'un');
        fs.closeSync(fd);
      },
    };
  }

  const oslock = optional('os-lock');
  if (oslock) {
    impls['os-lock'] = {
      name: 'os-lock',
      note: 'native POSIX fcntl; waits block a libuv threadpool thread; async only',
      acquire: async (p) => {
        const fd = fs.openSync(p, 'r+');
        await oslock.lock(fd, { exclusive: true });
        return fd;
      },
      release: async (fd) => {
        await oslock.unlock(fd);
        fs.closeSync(fd);
      },
      acquireTry: async (p) => {
        const fd = fs.openSync(p, 'r+');
        try {
          await oslock.lock(fd, { exclusive: true, immediate: true });
          return fd;
        } catch (e) {
          fs.closeSync(fd);
          throw e;
        }
      },
    };
  }

  const plf = optional('proper-lockfile');
  if (plf) {
    const retries = { retries: 1_000_000, factor: 1, minTimeout: 10, maxTimeout: 10 };
    impls['proper-lockfile'] = {
      name: 'proper-lockfile',
      note: 'mkdir lock + mtime heartbeat; waits poll (retries every 10 ms here)',
      trySync: (p) => {
        try {
          return plf.lockSync(p, { realpath: false });
        } catch {
          return null;
        }
      },
      releaseSync: (release) => release(),
      acquire: (p) => plf.lock(p, { realpath: false, retries }),
      release: (release) => release(),
      acquireTry: (p) => plf.lock(p, { realpath: false }),
    };
  }

  // Python filelock's default: try LOCK_NB, sleep 50 ms, repeat.
  impls['poll-50ms'] = {
    name: 'poll 50 ms',
    note: 'LOCK_NB retried every 50 ms (Python filelock default)',
    acquire: async (p) => {
      for (;;) {
        const fd = impls.raw.trySync(p);
        if (fd !== null) return fd;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    release: async (fd) => impls.raw.releaseSync(fd),
  };
  return impls;
}
