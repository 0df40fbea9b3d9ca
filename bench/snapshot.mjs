#!/usr/bin/env node
// Costs of lockscope's instrumentation, measured in one run on this machine:
//  1. the uncontended acquire+release pair with NO subscriber: raw koffi flock sequence vs the same
//     sequence through the instrumentation hooks (issue 4 budget: within 3%);
//  2. the same with subscribers on every channel (what an attached adapter costs before it logs);
//  3. the default contention snapshot (budget: under 5 ms) and the report excerpt;
//  4. a holder card write+remove, and the event-loop-delay monitor's CPU.
// Usage: node bench/snapshot.mjs   (run `npm run setup` first: it uses the built dist/)
import { spawn } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CHANNELS, configure, lock, lockStats } from '@lockscope/core';

const require = createRequire(import.meta.url);
const diag = await import(new URL('../packages/core/dist/diagnostics/index.js', import.meta.url));
const koffi = require('koffi');
const libc = koffi.load('libc.so.6');
const flock = libc.func('int flock(int, int)');
const LOCK_EX = 2;
const LOCK_UN = 8;

const dir = mkdtempSync(join(tmpdir(), 'lockscope-bench-snap-'));
const file = join(dir, 'a.lock');
closeSync(openSync(file, 'a'));
const req = { kind: 'flock', mode: 'exclusive' };

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}
function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

/** ns per op: median of `rounds` rounds of `n` ops, rounds interleaved by the caller. */
function timeNs(fn, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) * 1e6) / n;
}

// The uncontended pair as the engine does it: open, flock EX, unlock, close.
// Both sides return the same handle-like object, so the difference is the instrumentation only.
function rawPair() {
  const h = { fd: openSync(file, 'r+'), hold: undefined };
  flock(h.fd, LOCK_EX);
  flock(h.fd, LOCK_UN);
  closeSync(h.fd);
}
const st = fstatSync(openSync(file, 'r'));
function tracedPair() {
  const h = diag.traceTryLock(file, req, undefined, (w) => {
    const fd = openSync(file, 'r+');
    flock(fd, LOCK_EX);
    return { fd, hold: diag.onHeld(file, st.dev, st.ino, req, w) };
  });
  flock(h.fd, LOCK_UN);
  closeSync(h.fd);
  diag.onReleased(h.hold);
}

function compare(label, n, rounds) {
  const a = [];
  const b = [];
  for (let i = 0; i < 3; i++) (timeNs(rawPair, n), timeNs(tracedPair, n)); // warm-up
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      a.push(timeNs(rawPair, n));
      b.push(timeNs(tracedPair, n));
    } else {
      b.push(timeNs(tracedPair, n));
      a.push(timeNs(rawPair, n));
    }
  }
  const ma = median(a);
  const mb = median(b);
  console.log(
    `${label.padEnd(44)} raw ${(ma / 1000).toFixed(2)} µs   instrumented ${(mb / 1000).toFixed(2)} µs   ratio ${(mb / ma).toFixed(3)}`,
  );
  return mb / ma;
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
console.log('1. uncontended open+flock+unlock+close pair');
const ratio0 = compare('no subscribers', 20_000, 21);

const subs = [];
const sub = (n) => {
  const f = () => {};
  diagnosticsChannel.subscribe(n, f);
  subs.push([n, f]);
};
for (const n of [CHANNELS.contended, CHANNELS.released, CHANNELS.heldTooLong, CHANNELS.leaked]) sub(n);
const tc = diagnosticsChannel.tracingChannel(CHANNELS.acquire);
const tsubs = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
tc.subscribe(tsubs);
configure({ cards: false });
compare('subscribers on every channel, cards off', 5_000, 11);
configure({ cards: 'auto' });
compare("subscribers on every channel, cards 'auto'", 5_000, 11);

console.log('\n2. per-call pieces with subscribers');
const nb = 20_000;
let t0 = performance.now();
for (let i = 0; i < nb; i++) diag.busyWait(diag.beginWait(file, req));
console.log(`beginWait+busyWait (stack capture, registry)   ${(((performance.now() - t0) * 1000) / nb).toFixed(2)} µs`);

console.log('\n3. contention snapshot');
// A realistic process: 8 other lockscope waiters/holders, some timers and fds.
const others = [];
for (let i = 0; i < 4; i++) others.push(diag.beginWait(join(dir, `o${i}`), { ...req, label: `worker-${i}` }));
const holds = [];
for (let i = 0; i < 4; i++) holds.push(diag.onHeld(join(dir, `h${i}`), 1, i + 10, req));
const timers = Array.from({ length: 20 }, () => setTimeout(() => {}, 60_000));
await new Promise((r) => setTimeout(r, 300)); // let the event-loop monitor sample
const self = diag.beginWait(file, req);
const costs = [];
const first = diag.takeSnapshot({ stack: self.stack, self });
for (let i = 0; i < 500; i++) {
  const s0 = performance.now();
  diag.takeSnapshot({ stack: self.stack, self });
  costs.push(performance.now() - s0);
}
console.log(
  `default snapshot: first ${first.costMs.toFixed(3)} ms, median ${median(costs).toFixed(3)} ms, ` +
    `p99 ${pct(costs, 99).toFixed(3)} ms, max ${Math.max(...costs).toFixed(3)} ms (budget 5 ms)`,
);
console.log(
  `  (${first.inProcess.length} in-process entries, ` +
    `${Object.values(first.activeResources).reduce((a, b) => a + b, 0)} active resources, ` +
    `${JSON.stringify(first).length} bytes of JSON)`,
);
const rcosts = [];
for (let i = 0; i < 20; i++) {
  const s0 = performance.now();
  diag.takeSnapshot({ stack: self.stack, self, report: true });
  rcosts.push(performance.now() - s0);
}
console.log(
  `snapshot with report excerpt (report: true): median ${median(rcosts).toFixed(2)} ms, max ${Math.max(...rcosts).toFixed(2)} ms`,
);
// The same while 4 lockscope waits are blocked in flock() on a file another process holds: the
// report first brings them out of the kernel (docs/diagnostics-channels.md#the-snapshot).
const heldFiles = [0, 1, 2, 3].map((i) => join(dir, `held${i}.lock`));
for (const f of heldFiles) closeSync(openSync(f, 'a'));
const holderArgs = [...heldFiles.flatMap((f) => ['flock', '-x', f]), 'sh', '-c', 'echo ready; exec sleep 600'].slice(1);
const holder = spawn('flock', holderArgs, { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
await new Promise((r) => holder.stdout.once('data', r));
const ac = new AbortController();
const blocked = heldFiles.map((f) => lock(f, { signal: ac.signal }).catch(() => {}));
while (lockStats().busyWaiterThreads < 4) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 200)); // let the threads start and enter flock()
const bcosts = [];
let omitted = 0;
for (let i = 0; i < 20; i++) {
  const s0 = performance.now();
  if (!diag.takeSnapshot({ stack: self.stack, self, report: true }).report) omitted++;
  bcosts.push(performance.now() - s0);
}
console.log(
  `  the same, 4 waits blocked in flock(): median ${median(bcosts).toFixed(2)} ms, ` +
    `max ${Math.max(...bcosts).toFixed(2)} ms, excerpt left out ${omitted}/20`,
);
ac.abort();
await Promise.all(blocked);
process.kill(-holder.pid, 'SIGKILL');
diag.busyWait(self);
for (const o of others) diag.busyWait(o);
for (const h of holds) diag.onReleased(h);
for (const t of timers) clearTimeout(t);

console.log('\n4. holder cards and the event-loop monitor');
configure({ cards: true, cardDir: join(dir, 'cards') });
const nc = 2_000;
const cardCosts = [];
for (let i = 0; i < nc; i++) {
  const s0 = performance.now();
  const f = diag.writeCard({
    dev: st.dev,
    ino: st.ino,
    kind: 'flock',
    mode: 'exclusive',
    label: 'bench',
    acquiredAt: Date.now(),
    stack: 'at x (/a/b.js:1:1)\nat y (/a/c.js:2:2)',
  });
  diag.removeCard(f);
  cardCosts.push(performance.now() - s0);
}
console.log(
  `card write+remove (off the hot path, only for holds > cardDelay): median ${(median(cardCosts) * 1000).toFixed(1)} µs, ` +
    `p99 ${(pct(cardCosts, 99) * 1000).toFixed(1)} µs`,
);
const rc = [];
for (let i = 0; i < 200; i++) {
  const s0 = performance.now();
  diag.readCards(st.dev, st.ino);
  rc.push(performance.now() - s0);
}
console.log(`readCards (waiter side, empty match): median ${(median(rc) * 1000).toFixed(1)} µs`);

// Event-loop-delay monitor CPU: idle process, 2 s with and 2 s without.
async function idleCpu(ms) {
  const c0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}
const on = await idleCpu(2000);
for (const [n, f] of subs) diagnosticsChannel.unsubscribe(n, f);
tc.unsubscribe(tsubs);
diag.stopEventLoopMonitor();
const off = await idleCpu(2000);
console.log(
  `event-loop monitor: ${on.toFixed(1)} ms CPU per 2 s idle with it on, ` +
    `${off.toFixed(1)} ms off (${(((on - off) / 2000) * 100).toFixed(2)}% of a core)`,
);

rmSync(dir, { recursive: true, force: true });
console.log(`\nno-subscriber overhead ${((ratio0 - 1) * 100).toFixed(1)}% (target: within 3%)`);
