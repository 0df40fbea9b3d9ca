/**
 * The full probe's two-thread scan (linux-parallel.ts) against the one-thread scan, on ~300 real
 * processes: same answer, no thread or fd left after an abort or a deadline, and a failing worker
 * falls back to the main thread with the same answer. Internal hooks by path into the built dist.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, ProbeError, type ProbeResult } from '@lockscope/core';
import { closeScanWorker, scanWorkerAlive, setScanWorkerFaultForTest } from '../dist/platform/linux/probe-parallel.js';
import { makeFile, pyHolder, tmpDir, type Proc } from './helpers/probe-procs.js';

const linux = process.platform === 'linux';
const dir = tmpDir('lockscope-probe-parallel-');
const procs: Proc[] = [];
let load: ChildProcess | undefined;
let target = '';
const LOAD = 300;
const OPENERS = 7;

const tasks = (): number => readdirSync('/proc/self/task').length;
/**
 * The thread count once `t0` is reached or 2 s passed: a terminated worker's thread is gone only
 * once its exit has been processed, a little after terminate() resolves. A thread left behind
 * still fails the test.
 */
async function tasksSettled(t0: number): Promise<number> {
  for (let i = 0; i < 100 && tasks() !== t0; i++) await new Promise((r) => setTimeout(r, 20));
  return tasks();
}
/** This process's fds with their targets (a failure shows which one is left). */
const fds = (): string[] =>
  readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return `${fd} ${readlinkSync(`/proc/self/fd/${fd}`)}`;
      } catch {
        return `${fd} (closed)`; // the directory fd readdirSync itself used
      }
    })
    .filter((f) => !f.endsWith('(closed)'))
    .sort();

/** This machine's processes and their open fds (total), as /proc lists them now. */
function census(): { pids: Set<string>; fds: number } {
  const pids = new Set(readdirSync('/proc').filter((n) => /^\d+$/.test(n)));
  let fds = 0;
  for (const pid of pids) {
    try {
      fds += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // exited, or not ours to read
    }
  }
  return { pids, fds };
}

/**
 * Runs a probe between two censuses of the machine. Comparing two probes' counts instead breaks
 * on a loaded machine, where hundreds of processes start and end between them.
 */
async function bracketed(run: () => Promise<ProbeResult>): Promise<ProbeResult> {
  const before = census();
  const r = await run();
  const after = census();
  const both = [...before.pids].filter((p) => after.pids.has(p)).length;
  const either = before.pids.size + after.pids.size - both;
  // Every process counted once, whichever thread scanned it: at least those alive throughout, at
  // most those alive at either end (a few may start between the census and the probe's listing).
  expect(r.stats.processesScanned).toBeGreaterThanOrEqual(both - 2);
  expect(r.stats.processesScanned).toBeLessThanOrEqual(either + 10);
  // Fds: the census lists every fd, the scan counts those it can stat (about one fewer per process
  // here); fds come and go within processes meanwhile. A double count (the LOAD processes alone
  // hold 3 fds each) or a skipped thread's share is far outside that.
  const fdsLo = Math.min(before.fds, after.fds) - either - LOAD / 3;
  const fdsHi = Math.max(before.fds, after.fds) + LOAD / 3;
  expect(r.stats.fdsScanned).toBeGreaterThanOrEqual(fdsLo);
  expect(r.stats.fdsScanned).toBeLessThanOrEqual(fdsHi);
  return r;
}

/** What must not depend on the number of threads (processes that exited mid-scan aside). */
const summary = (r: ProbeResult) => ({
  locks: r.locks.map((l) => ({ kind: l.kind, holders: l.holders.map((h) => [h.pid, h.fds, h.confirmed, h.command]) })),
  openers: (r.openers ?? []).map((o) => ({ pid: o.pid, fds: o.fds, maps: o.maps, command: o.command })),
  unreadable: r.unreadable.filter((u) => u.reason !== 'exited').map((u) => [u.pid, u.reason]),
});

beforeAll(async () => {
  if (!linux) return;
  target = makeFile(dir, 'target');
  const others = [0, 1, 2].map((i) => makeFile(dir, `other${i}`));
  const redir = others.map((f, i) => `${i + 3}<'${f}'`).join(' ');
  // LOAD sleeps with 3 fds each, the first OPENERS of them with the target open as well.
  const script =
    `for i in $(seq 1 ${LOAD}); do if [ $i -le ${OPENERS} ]; then sleep 600 ${redir} 6<'${target}' & ` +
    `else sleep 600 ${redir} & fi; done; echo started; wait`;
  load = spawn('bash', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    load!.stdout!.on('data', (d: Buffer) => d.toString().includes('started') && res());
    load!.once('exit', (c) => rej(new Error(`load exited ${c}`)));
  });
  procs.push(await pyHolder('flock', target), await pyHolder('mmap', target));
}, 60_000);

afterAll(async () => {
  setScanWorkerFaultForTest(null);
  await closeScanWorker();
  if (load?.pid) {
    try {
      process.kill(-load.pid, 'SIGKILL'); // the load's own process group only
    } catch {
      // gone already
    }
  }
  await Promise.all(procs.map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!linux)('probe full scan on two threads', () => {
  it('gives the same holders, openers (fds, maps) and unreadable processes as one thread', async () => {
    const one = await bracketed(() => probe(target, { threads: 1 }));
    const two = await bracketed(() => probe(target, { threads: 2 }));
    expect(scanWorkerAlive()).toBe(true); // kept warm for the next probe
    const warm = await bracketed(() => probe(target, { threads: 2 }));
    const auto = await bracketed(() => probe(target)); // > 200 processes on a 2-core machine: two threads
    expect(one.openers!.length).toBe(OPENERS + 2);
    expect(one.locks[0]!.holders.map((h) => h.pid)).toEqual([procs[0]!.pid]);
    expect(one.openers!.find((o) => o.pid === procs[1]!.pid)!.maps.length).toBeGreaterThan(0);
    for (const r of [two, warm, auto]) {
      expect(summary(r)).toEqual(summary(one));
      expect(r.stats.processesScanned).toBeGreaterThan(LOAD);
      expect(r.complete).toBe(one.complete);
    }
  }, 60_000);

  it('depth holders never starts a worker', async () => {
    await closeScanWorker();
    expect(scanWorkerAlive()).toBe(false);
    const r = await probe(target, { depth: 'holders', threads: 2 });
    expect(r.locks[0]!.holders.map((h) => h.pid)).toEqual([procs[0]!.pid]);
    expect(scanWorkerAlive()).toBe(false);
  });

  it('an abort or a deadline mid-scan leaves no thread and no fd', async () => {
    await closeScanWorker();
    const t0 = tasks();
    const f0 = fds();
    for (const warmFirst of [false, true]) {
      if (warmFirst) await probe(target, { threads: 2 });
      const ac = new AbortController();
      const p = probe(target, { threads: 2, signal: ac.signal, sliceMs: 1 });
      setTimeout(() => ac.abort(), 5);
      const e = await p.then(
        () => null,
        (x: unknown) => x,
      );
      // On a very fast machine the probe may finish first; otherwise it is a typed abort.
      if (e !== null) expect(e).toBeInstanceOf(ProbeError);
      if (e !== null) expect((e as ProbeError).reason).toBe('aborted');
      // (Whether a warm worker is left depends on where the abort landed: before the scan, the one
      // warmed up above stays; mid-scan, it is ended. Either way nothing is left after closing it.)
      await closeScanWorker();
      expect(await tasksSettled(t0)).toBe(t0);
      expect(fds()).toEqual(f0);

      const d = await probe(target, { threads: 2, timeout: 3, sliceMs: 1 });
      if (!d.complete) expect(d.incomplete).toContain('deadline');
      await closeScanWorker();
      expect(await tasksSettled(t0)).toBe(t0);
      expect(fds()).toEqual(f0);
    }
  }, 60_000);

  it('a worker ended while it boots leaves no fd (Node leaks the fds of module files a terminated worker was reading)', async () => {
    await closeScanWorker();
    const t0 = tasks();
    const f0 = fds();
    // Each probe starts a new worker and ends it within its first ms, while it loads its modules.
    // 40 rounds: without the fix, 2 runs in 3 leaked here; a round takes 0.1-1.5 s (a worker's boot).
    for (let i = 0; i < 40; i++) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), (i * 3) % 60);
      await probe(target, { threads: 2, signal: ac.signal, sliceMs: 1 }).catch((e: unknown) => {
        expect((e as ProbeError).reason).toBe('aborted');
      });
      await closeScanWorker();
    }
    expect(await tasksSettled(t0)).toBe(t0);
    expect(fds()).toEqual(f0);
  }, 120_000);

  it('a worker deaf to the stop flag is terminated after its grace period, and the directory fd it had open is closed', async () => {
    await closeScanWorker();
    const t0 = tasks();
    const f0 = fds();
    await probe(target, { threads: 2 }); // a booted warm worker takes the next job at once
    try {
      const ac = new AbortController();
      // Aborted once the worker is deaf, mid-scan with its directory fd open (a timer could fire
      // before the job reached the worker on a loaded machine, and test nothing).
      setScanWorkerFaultForTest('stall', () => ac.abort());
      await expect(probe(target, { threads: 2, signal: ac.signal })).rejects.toMatchObject({ reason: 'aborted' });
    } finally {
      setScanWorkerFaultForTest(null);
    }
    expect(scanWorkerAlive()).toBe(false);
    await closeScanWorker();
    expect(await tasksSettled(t0)).toBe(t0);
    expect(fds()).toEqual(f0);
  }, 60_000);

  it('a worker that fails mid-scan or cannot start: the main thread finishes with the same answer', async () => {
    const one = await probe(target, { threads: 1 });
    await closeScanWorker();
    const t0 = tasks();
    try {
      for (const fault of ['throw', 'boot'] as const) {
        // 'throw': a warm worker takes the job and throws after a few pids (or at the job's end, when the
        // main thread left it fewer).
        if (fault === 'throw') await probe(target, { threads: 2 });
        else await closeScanWorker();
        setScanWorkerFaultForTest(fault);
        const r = await bracketed(() => probe(target, { threads: 2 }));
        setScanWorkerFaultForTest(null);
        expect(summary(r)).toEqual(summary(one));
        // A failed worker is not kept (a worker failing at boot may report after the probe is done).
        for (let i = 0; i < 100 && scanWorkerAlive(); i++) await new Promise((res) => setTimeout(res, 20));
        expect(scanWorkerAlive()).toBe(false);
      }
    } finally {
      setScanWorkerFaultForTest(null);
    }
    // The dead worker's thread is gone once its exit has been processed.
    expect(await tasksSettled(t0)).toBe(t0);
  }, 60_000);

  it('rejects a bad threads option with a typed error', async () => {
    await expect(probe(target, { threads: 3 as never })).rejects.toMatchObject({ code: 'EINVAL', reason: 'invalid-argument' });
  });
});
