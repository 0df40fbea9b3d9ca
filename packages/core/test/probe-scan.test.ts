/**
 * The full probe's scan: the maps token match, and the native /proc scan (koffi) against the
 * node:fs route on real processes (same fds, same errors, same probe answer).
 * Internal modules by path into the built dist.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { probe, type ProbeResult } from '@lockscope/core';
import { findMaps, mapsToken, procDev } from '../dist/platform/linux/probe-proc.js';
import { scanFdsFs } from '../dist/platform/linux/probe-scan.js';
import { closeScanWorker } from '../dist/platform/linux/probe-parallel.js';
import { procfsNative, resetDentsBufferForTest, scanFdsNative, setDentsBufferSizeForTest } from '../dist/platform/linux/procfs.js';
import { makeFile, pyHolder, tmpDir, type Proc } from './helpers/probe-procs.js';

const linux = process.platform === 'linux';
const dir = tmpDir('lockscope-probe-scan-');
const procs: Proc[] = [];
const keep = <T extends Proc>(p: T): T => (procs.push(p), p);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe('maps: exact (device, inode) token match', () => {
  const text = Buffer.from(
    [
      '55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 2146471                    /usr/bin/target', // hit
      '55d0c0a02000-55d0c0a07000 r-xp 00002000 fe:00 21464710                   /usr/bin/longer-inode',
      '55d0c0a07000-55d0c0a09000 r--p 00000000 1fe:00 2146471                   /other/device',
      '7f0000000000-7f0000001000 rw-s 00000000 00:05 77                         /tmp/a fe:00 2146471 b', // in the path
      '7f0000001000-7f0000002000 rw-p 00000000 00:00 0 ',
      '7f0000002000-7f0000004000 rw-s 0000a000 fe:00 2146471                    /usr/bin/target (deleted)', // hit
      '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]',
      'ffffffffff600000-ffffffffff601000 --xp 00000000 fe:00 2146471 ', // hit, last line without newline
    ].join('\n'),
    'latin1',
  );

  it('finds the lines of that file only, with their range, perms and offset', () => {
    expect(findMaps(text, mapsToken('fe:00', 2146471))).toEqual([
      { start: '55d0c0a00000', end: '55d0c0a02000', perms: 'r--p', offset: 0 },
      { start: '7f0000002000', end: '7f0000004000', perms: 'rw-s', offset: 0xa000 },
      { start: 'ffffffffff600000', end: 'ffffffffff601000', perms: '--xp', offset: 0 },
    ]);
  });

  it('a prefix of a longer inode or device, or the token inside a path, is no match', () => {
    expect(findMaps(text, mapsToken('fe:00', 214647))).toEqual([]);
    expect(findMaps(text, mapsToken('e:00', 2146471))).toEqual([]);
    expect(findMaps(text, mapsToken('00:05', 7))).toEqual([]);
    expect(findMaps(text, mapsToken('00:05', 77))).toHaveLength(1);
    expect(findMaps(Buffer.alloc(0), mapsToken('fe:00', 1))).toEqual([]);
  });

  it.skipIf(!linux)('a real mmap: /proc/PID/maps spells the device as /proc/locks does (procDev of stat().dev)', async () => {
    const f = makeFile(dir, 'mapped');
    const h = keep(await pyHolder('mmap', f));
    const st = statSync(f);
    const maps = readFileSync(`/proc/${h.pid}/maps`);
    const found = findMaps(maps, mapsToken(procDev(st.dev), st.ino));
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.perms).toMatch(/^r/);
    // /proc/locks uses the same spelling: lock the file and look for `dev:ino`.
    const locker = keep(await pyHolder('flock', f));
    expect(locker.pid).toBeGreaterThan(0);
    expect(readFileSync('/proc/locks', 'latin1')).toContain(` ${procDev(st.dev)}:${st.ino} `);
  });
});

/** A python process holding `n` fds of `file` (plus its own stdio). */
async function manyFds(file: string, n: number): Promise<Proc> {
  const py =
    `import os,sys,time\nfds=[os.open(sys.argv[1], os.O_RDONLY) for _ in range(${n})]\n` +
    `print('ready', os.getpid(), flush=True)\ntime.sleep(600)`;
  const c = spawn('python3', ['-c', py, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    c.stdout.once('data', () => res());
    c.once('exit', (code) => rej(new Error(`python exited ${code}`)));
  });
  return {
    pid: c.pid!,
    child: c,
    stop: async () => {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await new Promise((r) => c.once('exit', r));
      }
    },
  };
}

const norm = (r: {
  error: string | null;
  denied: string | null;
  scanned: number;
  hits: Array<{ fd: number; dev: number; ino: number }>;
}) => ({
  error: r.error,
  denied: r.denied,
  scanned: r.scanned,
  hits: [...r.hits].sort((a, b) => a.fd - b.fd),
});

describe.skipIf(!linux)('native /proc scan (koffi) and the node:fs route agree', () => {
  it('koffi loads here', () => {
    expect(procfsNative()).toBe(true);
  });

  it('same fds, devices and inodes for real processes, also across several getdents64 calls', async () => {
    const f = makeFile(dir, 'many');
    const st = statSync(f);
    const big = keep(await manyFds(f, 300));
    const small = keep(await pyHolder('open', f));
    const inos = new Set([st.ino]);
    for (const dents of [8 * 1024, 300]) {
      setDentsBufferSizeForTest(dents);
      try {
        // Not this process: the native scan's own directory fd is one of its fds while it lists them.
        for (const pid of [big.pid, small.pid]) {
          const a = norm(scanFdsNative(pid, inos));
          const b = norm(scanFdsFs(pid, inos));
          expect(a).toEqual(b);
          expect(a.error).toBeNull();
          for (const h of a.hits) expect([h.dev, h.ino]).toEqual([st.dev, st.ino]);
        }
        expect(scanFdsNative(big.pid, inos).hits).toHaveLength(300);
        expect(scanFdsNative(small.pid, inos).hits).toHaveLength(1);
      } finally {
        resetDentsBufferForTest();
      }
    }
    // Every inode of interest: this process's own fds compared one by one.
    const all = new Set<number>();
    for (const n of readdirSync('/proc/self/fd')) {
      try {
        all.add(statSync(`/proc/self/fd/${n}`).ino);
      } catch {
        // the readdir fd itself, gone by now
      }
    }
    const a = norm(scanFdsNative(process.pid, all));
    expect(a.hits.length).toBeGreaterThan(2);
    expect(a.hits.map((h) => h.fd)).toEqual(norm(scanFdsFs(process.pid, all)).hits.map((h) => h.fd));
  });

  it('a scan out of budget pauses between batches, resumes to the same answer, and cancel closes its directory', async () => {
    const f = makeFile(dir, 'paused');
    const st = statSync(f);
    const big = keep(await manyFds(f, 600));
    const inos = new Set([st.ino]);
    const whole = norm(scanFdsNative(big.pid, inos));
    const myFds = () => readdirSync('/proc/self/fd').length;
    // A warm scan worker (from an earlier probe on a machine with > 200 processes) has fds of its own
    // (event loop) and may end its idle wait mid-test: none runs while this process's fds are counted.
    await closeScanWorker();
    const before = myFds();
    for (const scan of [(b: number) => scanFdsNative(big.pid, inos, b), (b: number) => scanFdsFs(big.pid, inos, b)]) {
      const r = scan(0);
      expect(r.pending).not.toBeNull(); // 600 fds do not fit one batch
      let rounds = 0;
      while (r.pending) {
        r.pending.resume(0);
        rounds++;
      }
      expect(rounds).toBeGreaterThan(0);
      expect(norm(r)).toEqual(whole);
      const c = scan(0);
      expect(c.pending).not.toBeNull();
      c.pending!.cancel();
      expect(c.pending).toBeNull();
      expect(c.hits.length).toBeLessThan(600);
    }
    expect(myFds()).toBe(before); // no directory fd left open
    expect(whole.hits).toHaveLength(600);
    // In a probe with tiny slices the process is scanned across several slices on this thread, all fds found.
    const p = await probe(f, { sliceMs: 0.05, threads: 1 });
    expect(p.openers!.find((o) => o.pid === big.pid)!.fds).toHaveLength(600);
    expect(myFds()).toBe(before);
  });

  it('same errors: a pid that does not exist, and a process whose fds are not ours to read', () => {
    const inos = new Set([1]);
    let gone = 4_000_000;
    while (existsSync(`/proc/${gone}`)) gone++;
    expect(scanFdsNative(gone, inos).error).toBe('ENOENT');
    expect(scanFdsFs(gone, inos).error).toBe('ENOENT');
    // PID 1: unreadable to non-root, and (in some sandboxes) to root as well; either way both agree.
    const a = scanFdsNative(1, inos);
    const b = scanFdsFs(1, inos);
    expect([a.error, a.denied, a.hits.length]).toEqual([b.error, b.denied, b.hits.length]);
  });
});

const summary = (r: ProbeResult) => ({
  locks: r.locks.map((l) => ({ kind: l.kind, holders: l.holders.map((h) => [h.pid, h.fds, h.confirmed]) })),
  openers: (r.openers ?? []).map((o) => ({ pid: o.pid, fds: o.fds, maps: o.maps })),
  unreadable: r.unreadable.filter((u) => u.reason !== 'exited').map((u) => [u.pid, u.reason]),
});

describe.skipIf(!linux)('probe: the native and node:fs routes give the same answer', () => {
  it('holders, openers (fds and maps) and unreadable processes are identical', async () => {
    const f = makeFile(dir, 'routes');
    const holder = keep(await pyHolder('flock', f));
    const mapper = keep(await pyHolder('mmap', f));
    const opener = keep(await manyFds(f, 40));
    const native = await probe(f);
    expect(native.openers!.map((o) => o.pid)).toEqual([holder.pid, mapper.pid, opener.pid].sort((a, b) => a - b));
    expect(native.openers!.find((o) => o.pid === mapper.pid)!.maps.length).toBeGreaterThan(0);
    const fds = native.openers!.find((o) => o.pid === opener.pid)!.fds.map((x) => x.fd);
    expect(fds).toHaveLength(40);
    expect(fds).toEqual([...fds].sort((a, b) => a - b)); // in fd order, whatever the listing order
    expect(native.locks[0]!.holders.map((h) => [h.pid, h.confirmed])).toEqual([[holder.pid, true]]);

    process.env.LOCKSCOPE_PROBE_NATIVE = '0';
    try {
      const fsRoute = await probe(f);
      expect(summary(fsRoute)).toEqual(summary(native));
    } finally {
      delete process.env.LOCKSCOPE_PROBE_NATIVE;
    }
  });
});
