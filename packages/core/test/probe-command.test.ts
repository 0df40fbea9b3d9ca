/**
 * The probe's `command` for a holder whose runtime renamed its main thread (Node 24 calls it
 * "MainThread", which is what /proc/PID/stat then says): a real python holder renames itself the
 * same way through prctl(PR_SET_NAME).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { probe } from '@lockscope/core';

const dir = mkdtempSync(join(tmpdir(), 'lockscope-probe-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PY = `
import ctypes, fcntl, sys, time
f = open(sys.argv[1], 'r+')
fcntl.flock(f, fcntl.LOCK_EX)
ctypes.CDLL(None).prctl(15, b"MainThread", 0, 0, 0)
print('ready', flush=True)
time.sleep(60)
`;

it.runIf(process.platform === 'linux')('names the program, not a runtime thread name like MainThread', async () => {
  const f = join(dir, 'renamed.lock');
  writeFileSync(f, '');
  const child = spawn('python3', ['-c', PY, f], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (c) => reject(new Error(`python exited ${c}`)));
    });
    const comm = readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
    expect(comm).toBe('MainThread'); // the premise: the kernel name really is the thread name
    const r = await probe(f);
    const holder = r.locks.flatMap((l) => l.holders).find((h) => h.pid === child.pid);
    expect(holder, 'the python holder is found').toBeDefined();
    expect(holder!.command).toBe(basename(readlinkSync(`/proc/${child.pid}/exe`)).slice(0, 15));
  } finally {
    child.kill('SIGKILL');
  }
});
