/**
 * Another, unprivileged uid: a holder run with setpriv, probed as root (sees everything) and as an
 * unprivileged user (the holder is listed as unreadable, the result is partial, never a throw).
 * CI runs as root, so the users are created here when missing.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, listLocks, type ProbeResult } from '@lockscope/core';
import { ensureUser, flockCmd, has, makeFile, pyHolder, tmpDir, type Proc } from './helpers/probe-procs.js';
import { coreForOthers } from './helpers/core-for-others.js';

const root = process.platform === 'linux' && process.getuid?.() === 0 && has('setpriv') && has('useradd');
// What the unprivileged children load (the checkout may sit in a directory they cannot enter).
const { entry: coreEntry, bin } = coreForOthers();

describe.skipIf(!root)('probe across uids', () => {
  let owner: { uid: number; gid: number };
  let other: { uid: number; gid: number };
  let dir: string;
  let flockFile: string;
  let ofdFile: string;
  let posixFile: string;
  const procs: Proc[] = [];
  let fl: Proc & { sleepPid: number };
  let ofd: Proc;
  let posix: Proc;

  beforeAll(async () => {
    owner = ensureUser('lockscope-probe')!;
    other = ensureUser('lockscope-probe2')!;
    expect(owner).toBeTruthy();
    expect(other).toBeTruthy();
    dir = tmpDir('lockscope-uid-', true);
    flockFile = makeFile(dir, 'flock', true);
    ofdFile = makeFile(dir, 'ofd', true);
    posixFile = makeFile(dir, 'posix', true);
    procs.push((fl = await flockCmd(flockFile, owner)));
    procs.push((ofd = await pyHolder('ofd', ofdFile, owner)));
    procs.push((posix = await pyHolder('lockf', posixFile, owner)));
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** probe() run by `as` in a child Node process; returns its parsed result. */
  function probeAs(as: { uid: number; gid: number }, file: string, depth: 'holders' | 'full'): ProbeResult {
    const code =
      `import(${JSON.stringify(coreEntry)}).then((m) => m.probe(${JSON.stringify(file)}, { depth: ${JSON.stringify(depth)} }))` +
      `.then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(9); })`;
    const r = spawnSync('setpriv', [`--reuid=${as.uid}`, `--regid=${as.gid}`, '--clear-groups', process.execPath, '-e', code], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ProbeResult;
  }

  it("root sees the other uid's holders with user, exe and argv", async () => {
    const r = await probe(flockFile);
    const h = r.locks[0]!.holders.find((x) => x.pid === fl.pid)!;
    expect(h).toMatchObject({ uid: owner.uid, user: 'lockscope-probe', confirmed: true, command: 'flock' });
    expect(h.exe).toMatch(/flock$/);
    expect(r.locks[0]!.holders.map((x) => x.pid).sort()).toEqual([fl.pid, fl.sleepPid].sort());
    const o = await probe(ofdFile, { depth: 'holders' });
    expect(o.locks[0]!.holders.map((x) => [x.pid, x.user])).toEqual([[ofd.pid, 'lockscope-probe']]);
  });

  it('an unprivileged other user: holders listed as unreadable, result partial, no throw', () => {
    for (const depth of ['holders', 'full'] as const) {
      const r = probeAs(other, flockFile, depth);
      expect(r.complete).toBe(false);
      expect(r.incomplete).toContain('unreadable');
      const u = r.unreadable.find((x) => x.pid === fl.pid)!;
      expect(u).toMatchObject({ reason: 'permission', code: 'EACCES', user: 'lockscope-probe', command: 'flock' });
      // The PID column's process is alive but unreadable: reported, flagged unconfirmed.
      const h = r.locks[0]!.holders.find((x) => x.pid === fl.pid)!;
      expect(h).toMatchObject({ confirmed: false, fds: null, user: 'lockscope-probe' });
      expect(h.argv).toEqual(['flock', '-x', flockFile, 'sh', '-c', 'echo ready $$; exec sleep 300']);
      expect(h.exe).toBeNull();
    }
    // OFD: no PID column and no readable fdinfo: the lock is there, its holder unknown.
    const o = probeAs(other, ofdFile, 'holders');
    expect(o.locks).toHaveLength(1);
    expect(o.locks[0]!.holders).toEqual([]);
    expect(o.incomplete).toEqual(expect.arrayContaining(['unreadable', 'unresolved']));
    expect(o.unreadable.map((x) => x.pid)).toContain(ofd.pid);
    // POSIX: the PID column is the owner, exact even without its fds.
    const p = probeAs(other, posixFile, 'holders');
    expect(p.locks[0]!.holders.map((x) => [x.pid, x.confirmed, x.fds])).toEqual([[posix.pid, true, null]]);
  });

  it('an unprivileged other user: a zombie in the PID column is neither a holder nor unreadable (it has closed every fd)', async () => {
    const f = makeFile(dir, 'zombie', true);
    const z = await pyHolder('zombie-flock', f, owner);
    try {
      for (const depth of ['holders', 'full'] as const) {
        const r = probeAs(other, f, depth);
        expect(r.locks).toHaveLength(1);
        expect(r.locks[0]!.pidColumn).toBe(z.parentPid);
        expect(r.locks[0]!.holders.map((h) => h.pid)).toEqual([]);
        expect(r.unreadable.map((u) => u.pid)).not.toContain(z.parentPid);
        // The real holder (the zombie's child) is the other user's: unreadable, so the result is partial.
        expect(r.unreadable.find((u) => u.pid === z.pid)).toMatchObject({ reason: 'permission' });
        expect(r.complete).toBe(false);
      }
      // Root reads the zombie's (empty) fds and finds the child.
      expect((await probe(f)).locks[0]!.holders.map((h) => [h.pid, h.confirmed])).toEqual([[z.pid, true]]);
    } finally {
      await z.stop();
    }
  });

  it("the holder's own user sees its processes fully", () => {
    const r = probeAs(owner, ofdFile, 'full');
    expect(r.locks[0]!.holders.map((x) => x.pid)).toEqual([ofd.pid]);
    expect(r.openers!.map((x) => x.pid)).toContain(ofd.pid);
    expect(r.unreadable.find((x) => x.pid === ofd.pid)).toBeUndefined();
  });

  it('the CLI says what it could not see and how to see more', () => {
    const r = spawnSync(
      'setpriv',
      [`--reuid=${other.uid}`, `--regid=${other.gid}`, '--clear-groups', process.execPath, bin, 'holders', ofdFile, '--depth', 'holders'],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toMatch(/could not be inspected \(permission\)/);
    expect(r.stdout).toMatch(/run as root .* or as their user/);
    expect(r.status).toBe(0); // a lock was found
    const idle = makeFile(dir, 'idle', true);
    const n = spawnSync(
      'setpriv',
      [`--reuid=${other.uid}`, `--regid=${other.gid}`, '--clear-groups', process.execPath, bin, 'holders', idle],
      { encoding: 'utf8' },
    );
    // Not held: the kernel's lock table is complete; only the opener scan was partial, and it says so.
    expect(n.status).toBe(1);
    expect(n.stdout).toContain('open by: nobody seen (partial: see below)');
    const strict = spawnSync(
      'setpriv',
      [`--reuid=${other.uid}`, `--regid=${other.gid}`, '--clear-groups', process.execPath, bin, 'holders', idle, '--strict'],
      { encoding: 'utf8' },
    );
    expect(strict.status).toBe(3);
  });

  it("listLocks as root resolves the other uid's locks", async () => {
    const r = await listLocks();
    expect(r.locks.find((l) => l.path === ofdFile)?.holders.map((h) => h.user)).toEqual(['lockscope-probe']);
  });
});
