import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import diagnosticsChannel from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHANNELS, configure, probeHolderResolver } from '@lockscope/core';
import type { LockscopeRecord } from '@lockscope/core/record';
import * as diag from '../dist/diagnostics/index.js';
import { assertValidRecord, diagScratch, flockHolder, pythonFlockHolder, sleep, spawnHolder, type Holder } from './diag-support.js';

const { dir, cardDir, keep } = diagScratch('lockscope-cards-', () => diag.setHolderResolver(null));
const file = join(dir, 'shared.lock');
writeFileSync(file, '');
const { dev, ino } = statSync(file);
const req = { kind: 'flock', mode: 'exclusive' } as const;
const diagIndex = fileURLToPath(new URL('../dist/diagnostics/index.js', import.meta.url));
const koffiPath = createRequire(import.meta.url).resolve('koffi');

/** A lockscope holder in a child Node process: a real flock via koffi, then onHeld() writes its card. */
function lockscopeHolder(label: string): Promise<Holder> {
  const src = `
    import { createRequire } from 'node:module';
    import fs from 'node:fs';
    const koffi = createRequire(import.meta.url)(${JSON.stringify(koffiPath)});
    const diag = await import(${JSON.stringify(diagIndex)});
    const flock = koffi.load('libc.so.6').func('int flock(int, int)');
    const fd = fs.openSync(${JSON.stringify(file)}, 'r+');
    if (flock(fd, 2) !== 0) throw new Error('flock failed');
    const { configure } = await import(${JSON.stringify(diagIndex.replace(/diagnostics\/index\.js$/, 'config.js'))});
    configure({ cards: true, cardDelay: 0, cardDir: ${JSON.stringify(cardDir)} });
    const st = fs.fstatSync(fd);
    function acquireForNightlyExport() {
      return diag.onHeld(${JSON.stringify(file)}, st.dev, st.ino, { kind: 'flock', mode: 'exclusive', label: ${JSON.stringify(label)} });
    }
    globalThis.hold = acquireForNightlyExport();
    setTimeout(() => console.log('ready'), 50);
    process.stdin.on('data', () => {});
    setInterval(() => {}, 1 << 30);
  `;
  return spawnHolder(process.execPath, ['--input-type=module', '-e', src]);
}

function collectContended() {
  const got: LockscopeRecord[] = [];
  const fn = (m: unknown) => got.push(m as LockscopeRecord);
  diagnosticsChannel.subscribe(CHANNELS.contended, fn);
  return { got, stop: () => diagnosticsChannel.unsubscribe(CHANNELS.contended, fn) };
}

/** One simulated contended wait in this process (the engine is not wired in yet). */
async function contendedWait(): Promise<LockscopeRecord> {
  const c = collectContended();
  try {
    await diag.traceLock(file, req, undefined, async (w) => {
      w!.blocked(dev, ino);
      await sleep(120);
      return null;
    });
  } finally {
    c.stop();
  }
  expect(c.got).toHaveLength(1);
  assertValidRecord(c.got[0]);
  return c.got[0];
}

describe('holder cards across processes', () => {
  it('a waiter learns the stack, start and label of a lockscope holder in another process', async () => {
    const h = await lockscopeHolder('nightly-export #42');
    keep(h);
    const cards = readdirSync(cardDir);
    expect(cards.filter((n) => n.startsWith(`${dev}-${ino}-${h.pid}-`))).toHaveLength(1);
    expect(statSync(cardDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(cardDir, cards[0]!)).mode & 0o777).toBe(0o600);

    configure({ contentionThreshold: 20, cardDir });
    diag.setHolderResolver(probeHolderResolver);
    const r = await contendedWait();
    const holder = r.holders.find((x) => x.pid === h.pid)!;
    expect(holder).toBeDefined();
    expect(holder.card).toMatchObject({ label: 'nightly-export #42' });
    expect(holder.card!.stack).toMatch(/acquireForNightlyExport/);
    expect(holder.card!.acquiredAt).toBeLessThanOrEqual(Date.now());
    expect(holder.card!.acquiredAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it("a SIGKILLed holder's card is ignored and removed; a card of a reused PID is ignored", async () => {
    const h = await lockscopeHolder('about-to-die');
    await h.stop(); // SIGKILL: no chance to remove its card
    const stale = readdirSync(cardDir).filter((n) => n.includes(`-${h.pid}-`));
    expect(stale).toHaveLength(1);

    // The next holder is a plain python process; forge a card that claims its PID with another start time.
    const py = await pythonFlockHolder(file);
    keep(py);
    const forged = join(cardDir, `${dev}-${ino}-${py.pid}-1-1.card`);
    writeFileSync(forged, JSON.stringify({ v: 1, pid: py.pid, startTicks: '1', acquiredAt: 1, label: 'forged', stack: null }), {
      mode: 0o600,
    });

    configure({ contentionThreshold: 20, cardDir });
    diag.setHolderResolver(probeHolderResolver);
    const r = await contendedWait();
    expect(r.holders.map((x) => x.pid)).toEqual([py.pid]);
    expect(r.holders[0]!.card).toBeUndefined();
    expect(existsSync(join(cardDir, stale[0]!))).toBe(false);
    expect(existsSync(forged)).toBe(false);
  });

  it('a flock(1) holder (not lockscope) is reported without a card', async () => {
    const f = await flockHolder(file);
    keep(f);
    configure({ contentionThreshold: 20, cardDir });
    diag.setHolderResolver(probeHolderResolver);
    const r = await contendedWait();
    expect(r.holders.map((x) => x.pid)).toContain(f.pid);
    expect(r.holders.every((x) => x.card === undefined)).toBe(true);
    expect(r.holders[0]).toMatchObject({ lockKind: 'flock', lockMode: 'exclusive' });
  });

  it('cards are written only after cardDelay and removed on release; never on the hot path', async () => {
    configure({ cards: true, cardDelay: 40, cardDir });
    const before = readdirSync(cardDir).length;
    const short = diag.onHeld(file, dev, ino, { ...req, label: 'short' })!;
    diag.onReleased(short);
    const long = diag.onHeld(file, dev, ino, { ...req, label: 'long' })!;
    expect(readdirSync(cardDir).length).toBe(before);
    await sleep(120);
    const mine = readdirSync(cardDir).filter((n) => n.includes(`-${process.pid}-`));
    expect(mine).toHaveLength(1);
    expect(diag.readCards(dev, ino).get(process.pid)).toMatchObject({ label: 'long' });
    diag.onReleased(long);
    expect(readdirSync(cardDir).filter((n) => n.includes(`-${process.pid}-`))).toHaveLength(0);
  });

  it('a FIFO (or a symlink to one) named like a live card is skipped without blocking; real cards still read', async () => {
    const own = join(dir, 'fifo-cards');
    configure({ cards: true, cardDelay: 0, cardDir: own });
    const h = diag.onHeld(file, dev, ino, { ...req, label: 'real' })!;
    await sleep(30); // the card is written after cardDelay
    const ticks = diag.processStartTicks(process.pid)!;
    const fifo = join(own, `${dev}-${ino}-${process.pid}-${ticks}-900.card`);
    expect(spawnSync('mkfifo', ['-m', '0600', fifo]).status).toBe(0);
    symlinkSync(fifo, join(own, `${dev}-${ino}-${process.pid}-${ticks}-901.card`));
    try {
      const cards = diag.readCards(dev, ino); // a blocking open here would never return
      expect(cards.get(process.pid)?.label).toBe('real');
    } finally {
      diag.onReleased(h);
    }
  });

  it('a card directory that is not ours or not 0700 is never used', async () => {
    const squatted = join(dir, 'squatted');
    mkdirSync(squatted, { mode: 0o777 });
    chmodSync(squatted, 0o777);
    configure({ cards: true, cardDelay: 0, cardDir: squatted });
    const h = diag.onHeld(file, dev, ino, req)!;
    await sleep(30);
    diag.onReleased(h);
    expect(readdirSync(squatted)).toEqual([]);
    if (process.getuid?.() === 0) {
      const foreign = join(dir, 'foreign');
      mkdirSync(foreign, { mode: 0o700 });
      chownSync(foreign, 65534, 65534);
      configure({ cardDir: foreign });
      const h2 = diag.onHeld(file, dev, ino, req)!;
      await sleep(30);
      diag.onReleased(h2);
      expect(readdirSync(foreign)).toEqual([]);
    }
  });
});
