#!/usr/bin/env node
// What lockscopeErrSerializer adds to pino.stdSerializers.err: for errors that are not busy-style
// (the common case: it must be negligible), and for a busy one answered from the cache.
// node bench/serializer.mjs [--rounds 31] [--iterations 20000]
import pino from 'pino';
import { HolderCache } from '@lockscope/core';
import { lockscopeErrSerializer } from '@lockscope/pino-transport';
import { fmt, summarize, table } from './lib/stats.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const rounds = arg('rounds', 31);
const iterations = arg('iterations', 20_000);

const std = pino.stdSerializers.err;
// A resolver that answers at once: the busy case measures the cached lookup, not a probe.
const cache = new HolderCache({ resolve: () => [], ttlMs: 3_600_000 });
const ours = lockscopeErrSerializer({ cache });

const cases = {
  'Error (no code)': new Error('something failed'),
  'ENOENT from open, with path': Object.assign(new Error("ENOENT: no such file or directory, open '/srv/app/missing.json'"), {
    errno: -2,
    code: 'ENOENT',
    syscall: 'open',
    path: '/srv/app/missing.json',
  }),
  'EACCES from unlink (not busy-style)': Object.assign(new Error("EACCES: permission denied, unlink '/srv/app/x'"), {
    errno: -13,
    code: 'EACCES',
    syscall: 'unlink',
    path: '/srv/app/x',
  }),
  'EBUSY from rename (busy, cached answer)': Object.assign(
    new Error("EBUSY: resource busy or locked, rename '/srv/app/a' -> '/srv/app/b'"),
    {
      errno: -16,
      code: 'EBUSY',
      syscall: 'rename',
      path: '/srv/app/a',
      dest: '/srv/app/b',
    },
  ),
};

let sink = 0;
function timeOnce(fn, err) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += fn(err) === null ? 1 : 0;
  return Number(process.hrtime.bigint() - t0) / iterations; // ns per call
}

const rows = [];
for (const [name, err] of Object.entries(cases)) {
  for (let i = 0; i < 2000; i++) (std(err), ours(err)); // warm-up
  const a = [],
    b = [],
    ratios = [];
  for (let r = 0; r < rounds; r++) {
    // Interleaved, order alternating, so drift hits both alike.
    let x, y;
    if (r % 2) {
      x = timeOnce(ours, err);
      y = timeOnce(std, err);
    } else {
      y = timeOnce(std, err);
      x = timeOnce(ours, err);
    }
    a.push(y);
    b.push(x);
    ratios.push(x / y);
  }
  const sa = summarize(a).p50,
    sb = summarize(b).p50;
  rows.push([name, fmt(sa, 0), fmt(sb, 0), `${sb >= sa ? '+' : ''}${fmt(sb - sa, 0)}`, `${fmt(summarize(ratios).p50)}x`]);
}
console.log(
  `lockscopeErrSerializer vs pino.stdSerializers.err: ${rounds} rounds x ${iterations} calls, ` +
    `median ns per call (Node ${process.versions.node})\n`,
);
console.log(table(['error', 'stdSerializers.err ns', 'lockscopeErrSerializer ns', 'Δ ns', 'ratio (median of rounds)'], rows));
if (sink < 0) console.log(sink);
