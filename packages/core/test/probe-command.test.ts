/**
 * The probe's `command` names the program, not the name a runtime gave its main thread. Node 24
 * calls its main thread "MainThread" and Node 26 "node-MainThread", which is what
 * /proc/PID/comm then says. Real holders on every Node line found (helpers/node-lines.ts), a
 * python holder that renames its thread (prctl PR_SET_NAME), a script whose comm is its own
 * name, and a prober that may not read the holder's exe (another uid).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listLocks, probe, type ProbeResult } from '@lockscope/core';
import { contendedRecord } from './diag-support.js';
import { coreForOthers } from './helpers/core-for-others.js';
import { missingNote, nodeLines, NODE_MAJORS } from './helpers/node-lines.js';
import { ensureUser, has, makeFile, nodeLockHolder, tmpDir, type Proc } from './helpers/probe-procs.js';

const linux = process.platform === 'linux';
const root = linux && process.getuid?.() === 0 && has('setpriv') && has('useradd');
const dir = tmpDir('lockscope-probe-cmd-', true);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const { bin } = coreForOthers();

const comm = (pid: number): string => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
/** The main-thread name each line gives itself. */
const THREAD_NAME: Record<number, string> = { 20: 'node', 22: 'node', 24: 'MainThread', 26: 'node-MainThread' };

function holderOf(r: ProbeResult, pid: number) {
  return r.locks.flatMap((l) => l.holders).find((h) => h.pid === pid);
}

function cliJson<T>(...args: string[]): T {
  // `locks` lists every lock on the host: on a busy machine (other suites' locks) its JSON can pass
  // spawnSync's 1 MiB default, which kills the child (status null).
  const r = spawnSync(process.execPath, [bin, ...args, '--json'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  expect(r.status, `${r.stderr} ${String(r.error ?? '')} ${String(r.signal ?? '')}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe.runIf(linux)('a Node holder is named node on every Node line', () => {
  const lines = nodeLines();
  for (const major of NODE_MAJORS) {
    const line = lines.get(major);
    const name = line
      ? `Node ${line.version} (comm ${THREAD_NAME[major]}): probe(), listLocks(), the contended record, lockscope holders and locks`
      : `Node ${major}: skipped, ${missingNote(major)}`;
    it.skipIf(!line)(name, async () => {
      const file = makeFile(dir, `node${major}.lock`);
      const h = await nodeLockHolder(file, { node: line!.path });
      try {
        expect(comm(h.pid)).toBe(THREAD_NAME[major]); // the premise: what the kernel says for this line
        for (const depth of ['holders', 'full'] as const) {
          const p = holderOf(await probe(file, { depth }), h.pid);
          expect(p, `depth ${depth} finds the holder`).toBeDefined();
          expect(p!.command, `depth ${depth}`).toBe('node');
          expect(p!.exe).toBe(line!.path);
        }
        const all = await listLocks();
        expect(all.locks.flatMap((l) => l.holders).find((x) => x.pid === h.pid)?.command).toBe('node');

        const rec = await contendedRecord(file, { timeout: 1500, contentionThreshold: 50 });
        expect(rec.holders.find((x) => x.pid === h.pid && x.role === 'holder')?.command).toBe('node');

        const viaCli = cliJson<ProbeResult>('holders', file);
        expect(holderOf(viaCli, h.pid)?.command).toBe('node');
        const locks = cliJson<{ locks: Array<{ holders: Array<{ pid: number; command: string | null }> }> }>('locks');
        expect(locks.locks.flatMap((l) => l.holders).find((x) => x.pid === h.pid)?.command).toBe('node');
      } finally {
        await h.stop();
      }
    });
  }
});

/** Holds a flock on argv[1]; with argv[2], renames its main thread to it the way Node does. */
const PY = `
import ctypes, fcntl, sys, time
f = open(sys.argv[1], 'r+')
fcntl.flock(f, fcntl.LOCK_EX)
if len(sys.argv) > 2: ctypes.CDLL(None).prctl(15, sys.argv[2].encode(), 0, 0, 0)
print('ready', flush=True)
time.sleep(60)
`;

/** Starts `cmd` in a process group of its own, resolved at its first output; stop() kills the group. */
async function started(cmd: string, args: string[], uid?: { uid: number; gid: number }): Promise<{ pid: number; stop: () => void }> {
  const [c, a] = uid ? ['setpriv', [`--reuid=${uid.uid}`, `--regid=${uid.gid}`, '--clear-groups', cmd, ...args]] : [cmd, args];
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const pid = child.pid!;
  const stop = (): void => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}`)));
  }).catch((e: unknown) => {
    stop();
    throw e;
  });
  return { pid, stop };
}

describe.runIf(linux)('a renamed main thread', () => {
  it('python renaming its thread (prctl PR_SET_NAME) is named by its executable; a script keeps its own name', async () => {
    const f = makeFile(dir, 'renamed.lock');
    const py = await started('python3', ['-c', PY, f, 'worker-7']);
    try {
      expect(comm(py.pid)).toBe('worker-7'); // the premise: the kernel name really is the thread name
      const holder = holderOf(await probe(f), py.pid);
      expect(holder, 'the python holder is found').toBeDefined();
      expect(holder!.command).toBe(basename(readlinkSync(`/proc/${py.pid}/exe`)));
    } finally {
      py.stop();
    }
    // comm is exec's name for a script (the script's own, not its interpreter's): kept.
    const script = join(dir, 'hold-it.sh');
    writeFileSync(script, '#!/bin/sh\nexec 9<>"$1"\nflock -x 9\necho ready\nsleep 60 9<&-\n', { mode: 0o755 });
    const g = makeFile(dir, 'script.lock');
    const sh = await started(script, [g]);
    try {
      expect(holderOf(await probe(g), sh.pid)?.command).toBe('hold-it.sh');
    } finally {
      sh.stop();
    }
  });

  // Without exe, argv is the only witness and programs rewrite it: comm stays unless it is a
  // known runtime thread name (docs/probe.md).
  const newest = [...nodeLines().values()].filter((l) => THREAD_NAME[l.major] !== 'node').sort((a, b) => b.major - a.major)[0];
  it.skipIf(!root || !newest)(
    `a prober that may not read exe (another uid) names Node ${newest?.major ?? '24 or 26 (none found)'} ` +
      `from argv[0] and keeps comm it cannot disprove${root ? '' : ' (needs root, setpriv and useradd)'}`,
    async () => {
      const owner = ensureUser('lockscope-probe')!;
      const other = ensureUser('lockscope-probe2')!;
      const nf = makeFile(dir, 'node-other.lock', true);
      const pf = makeFile(dir, 'py-other.lock', true);
      const procs: Array<Proc | { stop: () => void }> = [];
      try {
        const n = await nodeLockHolder(nf, { node: newest!.path, ...owner });
        procs.push(n);
        const py = await started('/usr/bin/python3', ['-c', PY, pf, 'worker-7'], owner);
        procs.push(py);
        const as = (...args: string[]) =>
          spawnSync('setpriv', [`--reuid=${other.uid}`, `--regid=${other.gid}`, '--clear-groups', process.execPath, bin, ...args], {
            encoding: 'utf8',
          });
        const nr = JSON.parse(as('holders', nf, '--json').stdout) as ProbeResult;
        expect(holderOf(nr, n.pid)).toMatchObject({ exe: null, command: 'node' });
        expect(nr.unreadable.find((u) => u.pid === n.pid)?.command).toBe('node');
        expect(as('holders', nf).stdout).not.toContain('MainThread');
        const pr = JSON.parse(as('holders', pf, '--json').stdout) as ProbeResult;
        expect(holderOf(pr, py.pid)).toMatchObject({ exe: null, command: 'worker-7' });
      } finally {
        for (const p of procs) await p.stop();
      }
    },
  );
});
