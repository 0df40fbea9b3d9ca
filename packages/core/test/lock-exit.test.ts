import { afterAll, describe, expect, it } from 'vitest';
import { CORE_DIST, flockHolder, nodeChild, tempDir, type Holder } from './helpers/lock-procs.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;

/** 16 files held by foreign flock(1) processes until killed (10 min, far past any test). */
async function held16(): Promise<{ files: string[]; holders: Holder[] }> {
  const files = Array.from({ length: 16 }, () => tmp.file(`x${n++}.lock`));
  const holders = files.map((f) => flockHolder(f, 'ex', 600));
  await Promise.all(holders.map((h) => h.waitFor('ready')));
  return { files, holders };
}

function waitersChild(files: string[], then: string, before = ''): Holder {
  return nodeChild(`
    import { lock, lockStats } from '${CORE_DIST}';
    ${before}
    const files = ${JSON.stringify(files)};
    for (const f of files) lock(f).then(() => console.log('acquired?!'), (e) => console.log('rejected ' + e.reason));
    while (lockStats().busyWaiterThreads < files.length) await new Promise((r) => setTimeout(r, 10));
    console.log('waiting');
    ${then}
  `);
}

describe('process end while 16 waiters are blocked in the kernel', () => {
  const cases: Array<[string, string, NodeJS.Signals | null, number | null, string?]> = [
    ['process.exit()', 'setTimeout(() => process.exit(7), 20);', null, 7],
    ['an uncaught exception', "setTimeout(() => { throw new Error('boom'); }, 20);", null, 1],
    ['SIGTERM (no handler)', '', 'SIGTERM', null],
    ['SIGTERM with a handler that calls process.exit()', '', 'SIGTERM', 3, "process.on('SIGTERM', () => process.exit(3));"],
  ];
  for (const [name, then, signal, code, before] of cases) {
    it(`${name} ends the process promptly`, async () => {
      const { files, holders } = await held16();
      try {
        const c = waitersChild(files, then, before);
        await c.waitFor('waiting', 30_000);
        if (signal) c.proc.kill(signal);
        // Promptly means without waiting for a lock: the child ends while every holder still holds
        // its file. 45 s only tells a hang (until the holders go, 10 min) from a slow machine.
        let timer: NodeJS.Timeout | undefined;
        const hung = new Promise<'hung'>((r) => (timer = setTimeout(r, 45_000, 'hung')));
        const exitCode = await Promise.race([c.exited, hung]).finally(() => clearTimeout(timer));
        if (exitCode === 'hung') c.kill();
        expect(exitCode).not.toBe('hung');
        expect(holders.filter((h) => h.proc.exitCode !== null || h.proc.signalCode !== null)).toEqual([]);
        if (code !== null) expect({ exitCode, signal: c.proc.signalCode }).toEqual({ exitCode: code, signal: null });
        else expect(c.proc.signalCode).toBe(signal);
      } finally {
        for (const h of holders) h.kill();
      }
    }, 60_000);
  }

  it('process.exit() while the waiter threads are still starting does not crash (looped)', async () => {
    const { files, holders } = await held16();
    try {
      for (let i = 0; i < 3; i++) {
        const c = nodeChild(`
          import { lock } from '${CORE_DIST}';
          for (const f of ${JSON.stringify(files)}) lock(f).catch(() => {});
          setTimeout(() => process.exit(5), ${i * 15});
        `);
        let err = '';
        c.proc.stderr!.on('data', (d) => (err += d));
        const exitCode = await c.exited;
        expect({ exitCode, signal: c.proc.signalCode, err }).toEqual({ exitCode: 5, signal: null, err: '' });
      }
    } finally {
      for (const h of holders) h.kill();
    }
  }, 60_000);

  it('a pending waiter keeps the process alive until it gets the lock', async () => {
    const f = tmp.file('alive.lock');
    const holder = flockHolder(f, 'ex', 1);
    await holder.waitFor('ready');
    const c = nodeChild(`
      import { lock } from '${CORE_DIST}';
      const h = await lock(${JSON.stringify(f)});
      console.log('acquired after ' + Math.round(h.waitedMs));
      h.releaseSync();
    `);
    await c.waitFor('acquired', 20_000).catch(() => undefined);
    expect(await c.exited).toBe(0);
    holder.kill();
  });
});
