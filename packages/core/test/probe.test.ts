/**
 * probe() and listLocks() against real foreign processes (python3 fcntl/mmap, flock(1), child
 * Node processes), cross-checked against lsof, fuser and lslocks on the same files.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { ProbeError, listLocks, probe, toRecordHolders, type ProbeResult } from '@lockscope/core';
import {
  alive,
  flockCmd,
  fuserPids,
  has,
  lslocksFor,
  lsofPids,
  makeFile,
  nodeHolder,
  pyHolder,
  sleep,
  tmpDir,
  type Proc,
} from './helpers/probe-procs.js';

const linux = process.platform === 'linux';
const dir = tmpDir('lockscope-probe-');
const procs: Proc[] = [];
const keep = <T extends Proc>(p: T): T => (procs.push(p), p);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

const holderPids = (r: { locks: ProbeResult['locks'] }) =>
  [...new Set(r.locks.flatMap((l) => l.holders.map((h) => h.pid)))].sort((a, b) => a - b);
const openerPids = (r: ProbeResult) => (r.openers ?? []).map((o) => o.pid);

/** Waits until /proc/locks shows `n` waiter lines for the inode (the waiter is in the kernel). */
async function waitForWaiters(ino: number, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const lines = readFileSync('/proc/locks', 'utf8')
      .split('\n')
      .filter((l) => l.includes('->') && l.includes(`:${ino} `));
    if (lines.length >= n) return;
    await sleep(10);
  }
  throw new Error('waiter never showed up in /proc/locks');
}

/** lockscope must report every holder and opener the classic tools report. */
function crossCheck(r: ProbeResult, file: string): { lsof: number[]; fuser: number[]; lslocks: Array<{ pid: number; type: string }> } {
  const openers = new Set(openerPids(r));
  const lockPids = new Set(r.locks.flatMap((l) => [...l.holders.map((h) => h.pid), ...l.waiters.map((w) => w.pid)]));
  const lsof = has('lsof') ? lsofPids(file) : [];
  const fuser = has('fuser') ? fuserPids(file) : [];
  const lslocks = has('lslocks') ? lslocksFor(r.ino) : [];
  for (const p of lsof) expect(openers, `lsof saw pid ${p}`).toContain(p);
  for (const p of fuser) expect(openers, `fuser saw pid ${p}`).toContain(p);
  for (const l of lslocks) if (l.pid > 0 && alive(l.pid)) expect(lockPids, `lslocks saw pid ${l.pid}`).toContain(l.pid);
  return { lsof, fuser, lslocks };
}

describe.skipIf(!linux)('probe: true holders by lock kind', () => {
  it('flock(1): flock and the command it runs both hold the description', async () => {
    const f = makeFile(dir, 'flock1');
    const h = keep(await flockCmd(f));
    const r = await probe(f);
    expect(r.locks).toHaveLength(1);
    const l = r.locks[0]!;
    expect(l).toMatchObject({ kernelClass: 'FLOCK', kind: 'flock', mode: 'exclusive', range: { start: 0, end: null }, pidColumn: h.pid });
    expect(holderPids(r)).toEqual([h.pid, h.sleepPid].sort((a, b) => a - b));
    for (const x of l.holders) expect(x.confirmed).toBe(true);
    const sleeper = l.holders.find((x) => x.pid === h.sleepPid)!;
    expect(sleeper.command).toBe('sleep');
    expect(sleeper.argv).toEqual(['sleep', '300']);
    expect(sleeper.exe).toMatch(/sleep$/);
    expect(sleeper.uid).toBe(process.getuid!());
    expect(sleeper.user).toBe(userInfo().username);
    // Identity: start time within the last minute, same across calls.
    expect(Math.abs(sleeper.startTime! - Date.now())).toBeLessThan(120_000);
    const again = await probe(f, { depth: 'holders' });
    expect(again.locks[0]!.holders.find((x) => x.pid === h.pid)!.startTime).toBe(l.holders.find((x) => x.pid === h.pid)!.startTime);
    expect(openerPids(r)).toEqual(expect.arrayContaining([h.pid, h.sleepPid]));
    const tools = crossCheck(r, f);
    // lslocks (2.38) names only the PID that called flock(): it misses the sleep child.
    expect(tools.lslocks.map((x) => x.pid)).not.toContain(h.sleepPid);
  });

  it('python fcntl.flock: exclusive, then two shared holders', async () => {
    const f = makeFile(dir, 'pyflock');
    const a = keep(await pyHolder('flock-sh', f));
    const b = keep(await pyHolder('flock-sh', f));
    const r = await probe(f);
    expect(r.locks.map((l) => [l.kernelClass, l.mode, l.pidColumn]).sort()).toEqual(
      [
        ['FLOCK', 'shared', a.pid],
        ['FLOCK', 'shared', b.pid],
      ].sort(),
    );
    for (const l of r.locks) expect(l.holders.map((h) => h.pid)).toEqual([l.pidColumn]);
    const fds = r.openers!.find((o) => o.pid === a.pid)!.fds;
    expect(fds).toEqual([{ fd: expect.any(Number), access: 'rw' }]);
    crossCheck(r, f);
  });

  it('lockf (POSIX): byte range and owner', async () => {
    const f = makeFile(dir, 'lockf');
    const h = keep(await pyHolder('lockf', f));
    const r = await probe(f, { depth: 'holders' });
    expect(r.stats.fastPath).toBe(true);
    expect(r.locks).toHaveLength(1);
    expect(r.locks[0]).toMatchObject({
      kernelClass: 'POSIX',
      kind: 'posix',
      mode: 'exclusive',
      range: { start: 10, end: 19 },
      pidColumn: h.pid,
      holdersComplete: true,
    });
    expect(r.locks[0]!.holders.map((x) => [x.pid, x.confirmed])).toEqual([[h.pid, true]]);
    expect(toRecordHolders(r)).toEqual([
      expect.objectContaining({
        pid: h.pid,
        role: 'holder',
        lockKind: 'posix',
        lockMode: 'exclusive',
        range: { start: 10, length: 10 },
        fd: expect.any(Number),
      }),
    ]);
    crossCheck(await probe(f), f);
  });

  it('OFD: PID column -1 resolved to the holder, OFD waiter resolved too', async () => {
    const f = makeFile(dir, 'ofd');
    const h = keep(await pyHolder('ofd', f));
    const w = keep(await pyHolder('ofd-wait', f, { waiting: true }));
    const { ino } = statSync(f);
    await waitForWaiters(ino, 1);
    for (const depth of ['holders', 'full'] as const) {
      const r = await probe(f, { depth });
      expect(r.locks).toHaveLength(1);
      const l = r.locks[0]!;
      expect(l).toMatchObject({ kernelClass: 'OFDLCK', kind: 'ofd', mode: 'exclusive', pidColumn: -1 });
      expect(l.holders.map((x) => x.pid)).toEqual([h.pid]);
      if (depth === 'full') {
        expect(l.waiters.map((x) => [x.pid, x.mode])).toEqual([[w.pid, 'shared']]);
        expect(openerPids(r)).toEqual([h.pid, w.pid].sort((a, b) => a - b));
        const tools = crossCheck(r, f);
        expect(tools.lslocks.every((x) => x.pid === -1)).toBe(true); // lslocks 2.38: "(undefined) -1"
      }
    }
  });

  it('flock waiter is listed with its mode', async () => {
    const f = makeFile(dir, 'flockwait');
    const h = keep(await pyHolder('flock', f));
    const w = keep(await pyHolder('flock-wait', f, { waiting: true }));
    await waitForWaiters(statSync(f).ino, 1);
    const r = await probe(f, { depth: 'holders' });
    expect(r.locks[0]!.holders.map((x) => x.pid)).toEqual([h.pid]);
    expect(r.locks[0]!.waiters.map((x) => [x.pid, x.mode])).toEqual([[w.pid, 'exclusive']]);
    expect(toRecordHolders(r).map((x) => [x.pid, x.role])).toEqual([
      [h.pid, 'holder'],
      [w.pid, 'waiter'],
    ]);
  });

  it('forked child keeps a flock after its parent exits: dead PID in /proc/locks', async () => {
    const f = makeFile(dir, 'fork');
    const h = keep(await pyHolder('fork-flock', f));
    expect(h.parentPid).toBeGreaterThan(0);
    expect(alive(h.parentPid!)).toBe(false);
    for (const depth of ['holders', 'full'] as const) {
      const r = await probe(f, { depth });
      expect(r.locks).toHaveLength(1);
      expect(r.locks[0]!.pidColumn).toBe(h.parentPid);
      expect(r.locks[0]!.holders.map((x) => [x.pid, x.confirmed])).toEqual([[h.pid, true]]);
      if (depth === 'full') {
        const tools = crossCheck(r, f);
        // lslocks reports the dead parent; lsof shows the child only as an opener.
        expect(tools.lslocks.map((x) => x.pid)).toEqual([h.parentPid]);
      }
    }
  });

  it('mmap: a process with the file mapped (fd closed) is an opener through its maps', async () => {
    const f = makeFile(dir, 'mmap');
    const h = keep(await pyHolder('mmap', f));
    const r = await probe(f);
    expect(r.locks).toEqual([]);
    const o = r.openers!.find((x) => x.pid === h.pid)!;
    expect(o.fds).toEqual([]);
    expect(o.maps.length).toBeGreaterThan(0);
    expect(o.maps[0]).toMatchObject({ start: expect.stringMatching(/^[0-9a-f]+$/), perms: expect.stringMatching(/^r/), offset: 0 });
    crossCheck(r, f);
    // maps: false skips them
    const noMaps = await probe(f, { maps: false });
    expect(openerPids(noMaps)).not.toContain(h.pid);
  });

  it('child Node processes: an opener, and a holder through a description flock(1) locked and left', async () => {
    const f = makeFile(dir, 'node');
    const opener = keep(await nodeHolder(f, 'open'));
    const holder = keep(await nodeHolder(f, 'inherit-flock'));
    expect(holder.lockerPid).toBeGreaterThan(0);
    const r = await probe(f);
    expect(r.locks).toHaveLength(1);
    expect(r.locks[0]!.pidColumn).toBe(holder.lockerPid); // the flock(1) that exited
    expect(r.locks[0]!.holders.map((x) => x.pid)).toEqual([holder.pid]);
    expect(r.locks[0]!.holders[0]!.command).toBe('node');
    expect(openerPids(r)).toEqual([opener.pid, holder.pid].sort((a, b) => a - b));
    expect(r.openers!.find((o) => o.pid === opener.pid)!.fds[0]!.access).toBe('rw');
    expect(toRecordHolders(r).map((x) => [x.pid, x.role])).toEqual([
      [holder.pid, 'holder'],
      [opener.pid, 'opener'],
    ]);
    const tools = crossCheck(r, f);
    expect(tools.lslocks.map((x) => x.pid)).toEqual([holder.lockerPid]);
  });
});

describe.skipIf(!linux)('probe: cost controls', () => {
  it('depth holders takes the cheap route: one process read for a live flock holder', async () => {
    const f = makeFile(dir, 'fast');
    const h = keep(await pyHolder('flock', f));
    await probe(f, { depth: 'holders' }); // warm up
    const r = await probe(f, { depth: 'holders' });
    expect(r.openers).toBeNull();
    expect(r.stats.fastPath).toBe(true);
    expect(r.stats.processesScanned).toBe(1);
    expect(r.locks[0]!.holders.map((x) => x.pid)).toEqual([h.pid]);
    expect(r.locks[0]!.holdersComplete).toBe(false); // co-holders not searched at this depth
    expect(r.complete).toBe(true);
  });

  it('a file nobody uses: no locks, no openers', async () => {
    const f = makeFile(dir, 'idle');
    const r = await probe(f);
    expect(r.locks).toEqual([]);
    expect(r.openers).toEqual([]);
    expect(r.stats.processesScanned).toBeGreaterThan(1);
  });

  it('an exhausted deadline returns what it has, marked partial', async () => {
    const f = makeFile(dir, 'deadline');
    keep(await pyHolder('ofd', f));
    const r = await probe(f, { timeout: 0.001 });
    expect(r.complete).toBe(false);
    expect(r.incomplete).toContain('deadline');
    expect(r.locks).toHaveLength(1); // /proc/locks is read before any budget check
  });

  it('yields to the event loop during a full scan', async () => {
    const f = makeFile(dir, 'yield');
    const h = monitorEventLoopDelay({ resolution: 1 });
    let turns = 0;
    let on = true;
    const spin = () => {
      turns++;
      if (on) setImmediate(spin);
    };
    h.enable();
    setImmediate(spin);
    const r = await probe(f, { sliceMs: 0.05 });
    on = false;
    h.disable();
    expect(r.stats.processesScanned).toBeGreaterThan(5);
    expect(turns).toBeGreaterThan(1); // the loop ran while the probe scanned
    expect(r.stats.longestSliceMs).toBeLessThan(1000); // generous: a noisy 2-core machine
  });

  it('an aborted signal rejects with a typed error', async () => {
    const f = makeFile(dir, 'abort');
    const ac = new AbortController();
    ac.abort();
    await expect(probe(f, { signal: ac.signal })).rejects.toMatchObject({ name: 'ProbeError', reason: 'aborted', code: 'ECANCELED' });
  });
});

describe.skipIf(!linux)('listLocks', () => {
  it('every lock with resolved holders and paths, OFD and dead-PID flock included', async () => {
    const f1 = makeFile(dir, 'list-ofd');
    const f2 = makeFile(dir, 'list-fork');
    const f3 = makeFile(dir, 'list-posix');
    const a = keep(await pyHolder('ofd', f1));
    const b = keep(await pyHolder('fork-flock', f2));
    const c = keep(await pyHolder('lockf', f3));
    for (const depth of ['holders', 'full'] as const) {
      const r = await listLocks({ depth });
      const byPath = (p: string) => r.locks.find((l) => l.path === p);
      expect(byPath(f1)?.holders.map((h) => h.pid)).toEqual([a.pid]);
      expect(byPath(f2)?.holders.map((h) => h.pid)).toEqual([b.pid]);
      expect(byPath(f3)?.holders.map((h) => h.pid)).toEqual([c.pid]);
      expect(byPath(f3)?.range).toEqual({ start: 10, end: 19 });
    }
  });
});

describe('probe: input errors are typed', () => {
  it.each([
    ['empty path', '', 'invalid-argument', 'EINVAL'],
    ['NUL byte', 'a\0b', 'invalid-argument', 'EINVAL'],
    ['not a string', 42, 'invalid-argument', 'EINVAL'],
    ['http URL', new URL('http://x/y'), 'invalid-argument', 'EINVAL'],
  ])('%s', async (_n, p, reason, code) => {
    const e = await probe(p as string).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProbeError);
    expect(e).toMatchObject({ reason, code, syscall: 'probe', errno: 22 });
  });

  it.skipIf(!linux)('missing file, missing parent, directory', async () => {
    await expect(probe(`${dir}/nope`)).rejects.toMatchObject({
      name: 'ProbeError',
      code: 'ENOENT',
      reason: 'not-found',
      syscall: 'stat',
      path: `${dir}/nope`,
    });
    await expect(probe(`${dir}/nope/x`)).rejects.toMatchObject({ code: 'ENOENT', reason: 'not-found' });
    await expect(probe(dir)).rejects.toMatchObject({ name: 'ProbeError', code: 'EISDIR', reason: 'invalid-argument', path: dir });
    await expect(probe(`${makeFile(dir, 'plain')}/x`)).rejects.toMatchObject({ code: 'ENOTDIR', reason: 'not-found' });
  });

  it('bad options', async () => {
    const f = linux ? makeFile(dir, 'opts') : '/x';
    await expect(probe(f, { depth: 'deep' as never })).rejects.toMatchObject({ code: 'EINVAL', reason: 'invalid-argument' });
    await expect(probe(f, { timeout: -1 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(probe(f, { redact: 'yes' as never })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(probe(f, null as never)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(listLocks({ sliceMs: 0 })).rejects.toMatchObject({ code: 'EINVAL', syscall: 'listLocks' });
  });

  it.skipIf(!linux)('file: URLs are accepted', async () => {
    const f = makeFile(dir, 'url');
    const r = await probe(new URL(`file://${f}`), { depth: 'holders' });
    expect(r.path).toBe(f);
  });
});
