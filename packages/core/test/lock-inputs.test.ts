import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { lock, probe, tryLock, withLock, LockError } from '@lockscope/core';
import { CORE_DIST, fdCount, nodeChild, tempDir } from './helpers/lock-procs.js';
import { coreForOthers } from './helpers/core-for-others.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Both entry points fail the same way: tryLock throws, lock rejects. */
async function expectBoth(path: unknown, options: unknown, shape: Record<string, unknown>): Promise<LockError> {
  let thrown: unknown;
  try {
    tryLock(path as string, options as never);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(LockError);
  expect(thrown).toMatchObject(shape);
  const rejected = await lock(path as string, options as never).catch((e) => e);
  expect(rejected).toBeInstanceOf(LockError);
  expect(rejected).toMatchObject(shape);
  return rejected as LockError;
}

describe('bad paths', () => {
  it('empty path', async () => {
    const e = await expectBoth('', undefined, { reason: 'invalid-argument', code: 'EINVAL' });
    expect(e.syscall).toBe('lock'); // the public function, for argument errors
    expect(e.message).toMatch(/must not be empty/);
  });
  it('NUL byte', async () => {
    const e = await expectBoth(tmp.file('a\0b'), undefined, { reason: 'invalid-argument', code: 'EINVAL' });
    expect(e.message).toMatch(/NUL/);
  });
  it('not a string', async () => {
    await expectBoth(42, undefined, { reason: 'invalid-argument' });
    await expectBoth(new URL('http://example.com/x'), undefined, { reason: 'invalid-argument' });
  });
  it('a file: URL works', async () => {
    const h = await lock(new URL(`file://${tmp.file('url.lock')}`));
    expect(h.path).toBe(tmp.file('url.lock'));
    h.releaseSync();
  });
  it('a directory', async () => {
    await expectBoth(tmp.dir, undefined, { reason: 'invalid-argument', code: 'EISDIR', syscall: 'open', path: tmp.dir });
  });
  it('missing parent directory: not-found, nothing created', async () => {
    const p = tmp.file('no/such/dir/x.lock');
    const e = await expectBoth(p, undefined, { reason: 'not-found', code: 'ENOENT', syscall: 'open', path: p, kind: 'flock' });
    expect(e.message).toMatch(/parent directories are not created/);
  });
  it('create: false on a missing file: not-found', async () => {
    await expectBoth(tmp.file('missing.lock'), { create: false }, { reason: 'not-found', code: 'ENOENT' });
  });
  it('a created file gets fileMode (default 0o600)', async () => {
    const a = tmp.file('mode-default.lock');
    const b = tmp.file('mode-644.lock');
    (await lock(a)).releaseSync();
    (await lock(b, { fileMode: 0o644 })).releaseSync();
    const { statSync } = await import('node:fs');
    expect(statSync(a).mode & 0o777).toBe(0o600);
    expect(statSync(b).mode & 0o777).toBe(0o644 & ~process.umask());
  });
});

describe('invalid options', () => {
  const f = tmp.file('opts.lock');
  const bad: Array<[string, unknown]> = [
    ['mode', { mode: 'write' }],
    ['kind', { kind: 'fcntl' }],
    ['timeout negative', { timeout: -1 }],
    ['timeout NaN', { timeout: NaN }],
    ['timeout string', { timeout: '100' }],
    ['timeout beyond setTimeout', { timeout: 2 ** 31 }],
    ['signal', { signal: {} }],
    ['create', { create: 'yes' }],
    ['fileMode', { fileMode: 0o10000 }],
    ['fileMode fraction', { fileMode: 1.5 }],
    ['range with flock', { range: { start: 0, length: 1 } }],
    ['range negative', { kind: 'ofd', range: { start: -1, length: 1 } }],
    ['range fraction', { kind: 'posix', range: { start: 0, length: 0.5 } }],
    ['range not an object', { kind: 'posix', range: 5 }],
    ['range beyond 2^53', { kind: 'posix', range: { start: Number.MAX_SAFE_INTEGER, length: 1 } }],
    ['unknown option (typo)', { timout: 5 }],
    ['options not an object', 'exclusive'],
  ];
  for (const [name, opts] of bad) {
    it(name, async () => {
      const e = await expectBoth(f, opts, { reason: 'invalid-argument', code: 'EINVAL' });
      expect(e.message.length).toBeGreaterThan(10);
    });
  }
  it('withLock without a function', async () => {
    await expect(withLock(f, {})).rejects.toMatchObject({ reason: 'invalid-argument' });
  });
  it('timeout Infinity and valid ranges are accepted', async () => {
    (await lock(f, { timeout: Infinity })).releaseSync();
    (await lock(f, { kind: 'ofd', range: { start: 2 ** 40, length: 0 } })).releaseSync();
  });
});

function runAsNobody(source: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    'setpriv',
    ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '--input-type=module', '-e', source],
    { encoding: 'utf8', timeout: 20_000 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const isRoot = process.getuid?.() === 0;

/** A directory of root's that the unprivileged child can enter (and not write). */
function dirForOthers(name: string): string {
  const dir = tmp.file(name);
  mkdirSync(dir);
  chmodSync(tmp.dir, 0o755);
  chmodSync(dir, 0o755);
  return dir;
}

describe('permissions (unprivileged child via setpriv)', () => {
  it.skipIf(!isRoot)('a 0600 root file: permission / EACCES from open', () => {
    const dir = dirForOthers('perm');
    const secret = `${dir}/secret.lock`;
    writeFileSync(secret, '');
    chmodSync(secret, 0o600);
    const readable = `${dir}/readable.lock`;
    writeFileSync(readable, '');
    chmodSync(readable, 0o644);
    const r = runAsNobody(`
      import { tryLock } from '${coreForOthers().entry}';
      const out = {};
      const take = (name, path, opts) => {
        try { const h = tryLock(path, opts); out[name] = h ? 'locked' : 'busy'; h?.releaseSync(); }
        catch (e) { out[name] = { reason: e.reason, code: e.code, syscall: e.syscall, message: e.message }; }
      };
      take('secret', ${JSON.stringify(secret)});
      take('readableFlock', ${JSON.stringify(readable)});
      take('readableShared', ${JSON.stringify(readable)}, { kind: 'posix', mode: 'shared' });
      take('readableExclusivePosix', ${JSON.stringify(readable)}, { kind: 'posix' });
      take('createInRootDir', ${JSON.stringify(`${dir}/new.lock`)});
      console.log(JSON.stringify(out));
    `);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.secret).toMatchObject({ reason: 'permission', code: 'EACCES', syscall: 'open' });
    // flock and shared fcntl locks only need a read-only open
    expect(out.readableFlock).toBe('locked');
    expect(out.readableShared).toBe('locked');
    expect(out.readableExclusivePosix).toMatchObject({ reason: 'permission', code: 'EACCES' });
    expect(out.readableExclusivePosix.message).toMatch(/needs write access/);
    expect(out.createInRootDir).toMatchObject({ reason: 'permission', code: 'EACCES' });
  });
});

describe('special files: never opened in a way that blocks, never locked', () => {
  const notAFile = (what: RegExp) => ({ reason: 'invalid-argument', code: 'EINVAL', message: expect.stringMatching(what) });

  it('a FIFO, a socket, /dev/null and /dev/zero: invalid-argument naming what is there, no fd left open', async () => {
    const fifo = tmp.file('special.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const sock = tmp.file('special.sock');
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const fds = fdCount();
      for (const kind of ['flock', 'ofd', 'posix'] as const) {
        for (const mode of ['exclusive', 'shared'] as const) {
          await expectBoth(fifo, { kind, mode, timeout: 500 }, notAFile(/is a FIFO, not a regular file/));
          await expectBoth('/dev/null', { kind, mode, timeout: 500 }, notAFile(/is a character device/));
        }
      }
      await expectBoth('/dev/zero', { create: false }, notAFile(/is a character device/));
      await expectBoth(sock, undefined, notAFile(/is a socket/));
      expect(fdCount()).toBe(fds);
      // The probe only stats the path: it answers for a FIFO without opening it.
      const r = await probe(fifo);
      expect(r.openers).toEqual([]);
    } finally {
      server.close();
    }
  });

  it.skipIf(!isRoot)(
    'a FIFO another user may only read (read-write open refused, read-only fallback): lock, tryLock and probe answer, nothing blocks',
    () => {
      const dir = dirForOthers('fifo-ro');
      const fifo = `${dir}/readonly.fifo`;
      expect(spawnSync('mkfifo', ['-m', '0644', fifo]).status).toBe(0);
      const r = runAsNobody(`
      import { lock, tryLock, probe } from '${coreForOthers().entry}';
      const out = {};
      const shape = (e) => ({ reason: e.reason, code: e.code, message: e.message });
      try { out.tryLock = tryLock(${JSON.stringify(fifo)}) ? 'locked' : 'busy'; } catch (e) { out.tryLock = shape(e); }
      out.lock = await lock(${JSON.stringify(fifo)}, { timeout: 500 }).then(() => 'locked', shape);
      out.shared = await lock(${JSON.stringify(fifo)}, { kind: 'ofd', mode: 'shared' }).then(() => 'locked', shape);
      out.probe = await probe(${JSON.stringify(fifo)}).then((p) => p.openers.length, shape);
      console.log(JSON.stringify(out));
    `);
      // Before: the read-only open waited for a writer, and the child never printed (killed at 20 s).
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      const want = { reason: 'invalid-argument', code: 'EINVAL', message: expect.stringMatching(/is a FIFO/) };
      expect(out).toMatchObject({ tryLock: want, lock: want, shared: want, probe: 0 });
    },
  );
});

describe('read-only file system', () => {
  const mnt = tmp.file('ro');
  let mounted = false;
  let why: string;
  if (isRoot) {
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status === 0) {
      writeFileSync(`${mnt}/existing.lock`, '');
      const r = spawnSync('mount', ['-o', 'remount,ro', mnt], { encoding: 'utf8' });
      mounted = r.status === 0;
      why = r.stderr;
    } else why = m.stderr;
  } else why = 'not root';
  afterAll(() => {
    if (mounted || isRoot) spawnSync('umount', [mnt]);
  });

  it.skipIf(!mounted)(
    `flock works read-only, write needs fail with EROFS (skipped when mounting is impossible: ${why.trim()})`,
    async () => {
      const h = await lock(`${mnt}/existing.lock`);
      expect(h.fd).toBeGreaterThan(2);
      h.releaseSync();
      const s = await lock(`${mnt}/existing.lock`, { kind: 'ofd', mode: 'shared' });
      s.releaseSync();
      await expectBoth(`${mnt}/existing.lock`, { kind: 'posix' }, { reason: 'permission', code: 'EROFS', syscall: 'open' });
      await expectBoth(`${mnt}/new.lock`, undefined, { reason: 'permission', code: 'EROFS' });
    },
  );
});

describe('platforms without a backend', () => {
  /** The JSON line a child prints; the child must exit 0. */
  async function jsonOf(c: ReturnType<typeof nodeChild>): Promise<string[]> {
    let text = '';
    let err = '';
    c.proc.stdout!.on('data', (d) => (text += d));
    c.proc.stderr!.on('data', (d) => (err += d));
    expect(await c.exited, err).toBe(0);
    return JSON.parse(text) as string[];
  }

  it('fail with reason unsupported (non-Linux simulated: process.platform overridden in a child)', async () => {
    // koffi itself picks its native module by process.platform: load it before faking.
    const koffiEsm = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('koffi')), 'index.js')).href;
    const c = nodeChild(`
      await import('${koffiEsm}');
      Object.defineProperty(process, 'platform', { value: 'freebsd' });
      const { lock, tryLock } = await import('${CORE_DIST}');
      const out = [];
      try { tryLock('/tmp/x.lock'); } catch (e) { out.push(e.reason + ' ' + e.code + ' ' + e.message); }
      await lock('/tmp/x.lock').catch((e) => out.push(e.reason + ' ' + e.code));
      console.log(JSON.stringify(out));
    `);
    const out = await jsonOf(c);
    expect(out[0]).toMatch(/^unsupported ENOTSUP .*not supported on freebsd/);
    expect(out[1]).toBe('unsupported ENOTSUP');
  });

  for (const platform of ['darwin', 'win32']) {
    it(
      `${platform} without a koffi prebuild: importing works, calls fail with reason unsupported ` +
        '(simulated: process.platform overridden, koffi not preloaded)',
      async () => {
        // This machine has only koffi's Linux binary: koffi throws at load when it believes it runs on
        // ${platform}. The backends load koffi lazily, so only the calls may fail, not the import.
        const c = nodeChild(`
        Object.defineProperty(process, 'platform', { value: '${platform}' });
        const { lock, tryLock } = await import('${CORE_DIST}');
        const out = [];
        try { tryLock('C:\\\\data\\\\x.lock'); } catch (e) { out.push([e.reason, e.code, e.path, e.message]); }
        await lock('/tmp/x.lock').catch((e) => out.push([e.reason, e.code]));
        console.log(JSON.stringify(out));
      `);
        const out = (await jsonOf(c)) as unknown as string[][];
        expect(out[0]!.slice(0, 2)).toEqual(['unsupported', 'ENOTSUP']);
        expect(out[0]![3]).toMatch(/native layer did not load/);
        if (platform === 'win32') expect(out[0]![2]).toBe('C:\\data\\x.lock'); // a drive path is absolute, not cwd-relative
        expect(out[1]).toEqual(['unsupported', 'ENOTSUP']);
      },
    );
  }
});
