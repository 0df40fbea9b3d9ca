#!/usr/bin/env node
// waitIdle() against the naive baseline ("no inotify event for quietMs", fs.watch), in one run:
//   1. latency: a writer appends every 1-20 ms, then closes; time from its close to each resolve;
//   2. false idles: 200 logrotate trials (rename-and-create, copytruncate) in which the writer keeps
//      writing the rotated file with random pauses (0 to 2.5 x quietMs) before it lets go; a resolve
//      before the writer left the file is a false idle.
//   node bench/idle.mjs [--quiet 150] [--latency 30] [--trials 200] [--parallel 4]
// Linux only (build first). Writers are python3 processes; every one is killed by pid at the end.
import { spawn } from 'node:child_process';
import { watch, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { waitIdle } from '@lockscope/core';

const { values: a } = parseArgs({
  options: {
    quiet: { type: 'string', default: '150' },
    latency: { type: 'string', default: '30' },
    trials: { type: 'string', default: '200' },
    parallel: { type: 'string', default: '4' },
  },
});
const QUIET = Number(a.quiet);
const LATENCY_TRIALS = Number(a.latency);
const TRIALS = Number(a.trials);
const PARALLEL = Number(a.parallel);
if (process.platform !== 'linux') {
  console.log('idle bench: Linux only');
  process.exit(0);
}

// One writer per trial. Prints `ready`, waits for a line on stdin, then runs the scenario and
// prints `left <epoch ms>`, taken just before it closed its last fd on the watched file.
const PY = String.raw`
import os, random, shutil, sys, time
path, mode, quiet, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000, int(sys.argv[4])
rnd = random.Random(seed)
def burst(fd, n):
    for i in range(n):
        os.write(fd, b'0123456789abcdef\n'); time.sleep(rnd.uniform(0.001, 0.020))
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
print('ready', flush=True); sys.stdin.readline()
# 'left' is taken just before the close: a lower bound (a resolve before it is a false idle for sure).
def leave(f):
    t = time.time() * 1000; os.close(f); print('left %.3f' % t, flush=True)
if mode == 'append':
    burst(fd, 20)
    leave(fd)
    sys.stdin.readline(); sys.exit(0)
burst(fd, 5)
if mode == 'rename':
    os.rename(path, path + '.1'); os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
else:
    shutil.copyfile(path, path + '.1'); os.truncate(path, 0)
# Not told yet (or copytruncate: never told): keeps writing the file it has, pausing at random.
for i in range(2):
    time.sleep(rnd.uniform(0, 2.5 * quiet)); burst(fd, 3)
if mode == 'rename':
    new = os.open(path, os.O_WRONLY | os.O_APPEND)
    leave(fd)
    burst(new, 3); os.close(new)
else:
    leave(fd)
sys.stdin.readline()
`;

const dir = mkdtempSync(join(tmpdir(), 'lockscope-bench-idle-'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const nowMs = () => performance.timeOrigin + performance.now();

/** The naive monitor: resolves when fs.watch reported nothing for quietMs (the trap). */
function naiveIdle(path, quietMs) {
  return new Promise((resolve) => {
    let timer;
    const w = watch(path, () => {
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    const done = () => {
      w.close();
      resolve(nowMs());
    };
    timer = setTimeout(done, quietMs);
  });
}

async function trial(id, mode) {
  const path = join(dir, `t${id}.log`);
  writeFileSync(path, '');
  const child = spawn('python3', ['-c', PY, path, mode, String(QUIET), String(id)], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise((resolve) => lines.once('line', resolve));
  await next(); // ready: the writer has the file open
  const ours = waitIdle(path, { quietMs: QUIET, follow: 'inode', timeout: 20_000 }).then(
    () => nowMs(),
    () => NaN,
  );
  const naive = naiveIdle(path, QUIET);
  await new Promise((r) => setTimeout(r, 20)); // both watching before the writer starts
  child.stdin.write('go\n');
  const left = Number((await next()).split(' ')[1]);
  const [o, n] = await Promise.all([ours, naive]);
  child.stdin.end();
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  children.delete(child);
  return { left, ours: o - left, naive: n - left };
}

function pct(xs, p) {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : String(x));

console.log(`node ${process.version}, ${cpus().length} cpus, load ${loadavg()[0].toFixed(2)}, quietMs ${QUIET}`);

// 1. latency after the last close
const lat = [];
for (let i = 0; i < LATENCY_TRIALS; i++) lat.push(await trial(1000 + i, 'append'));
const ours = lat.map((t) => t.ours);
const naive = lat.map((t) => t.naive);
console.log(`\nlatency: close of the last writer -> resolve, ${LATENCY_TRIALS} trials (ms; quietMs ${QUIET}; target p50 < ${QUIET + 5})`);
console.log(`  lockscope waitIdle   p50 ${f1(pct(ours, 50))}  max ${f1(Math.max(...ours))}  min ${f1(Math.min(...ours))}`);
console.log(`  naive fs.watch       p50 ${f1(pct(naive, 50))}  max ${f1(Math.max(...naive))}  min ${f1(Math.min(...naive))}`);
console.log(
  `  p50 above quietMs: lockscope ${f1(pct(ours, 50) - QUIET)} ms, naive ${f1(pct(naive, 50) - QUIET)} ms ` +
    '(naive counts from the last write, not the close)',
);

// 2. false idles in rotation trials
const results = [];
let nextId = 0;
await Promise.all(
  Array.from({ length: PARALLEL }, async () => {
    while (nextId < TRIALS) {
      const id = nextId++;
      results.push({ mode: id % 2 === 0 ? 'rename' : 'copytruncate', ...(await trial(id, id % 2 === 0 ? 'rename' : 'copytruncate')) });
    }
  }),
);
const falseIdle = (k) => results.filter((r) => r[k] < 0).length;
const noAnswer = results.filter((r) => !Number.isFinite(r.ours)).length;
console.log(
  `\nfalse idles: ${TRIALS} logrotate trials (half rename-and-create, half copytruncate), ` +
    `writer pausing 0-${2.5 * QUIET} ms with its fd open`,
);
for (const mode of ['rename', 'copytruncate']) {
  const rs = results.filter((r) => r.mode === mode);
  console.log(
    `  ${mode.padEnd(13)} lockscope ${rs.filter((r) => r.ours < 0).length}/${rs.length}` +
      `   naive ${rs.filter((r) => r.naive < 0).length}/${rs.length}`,
  );
}
console.log(
  `  total         lockscope ${falseIdle('ours')}/${TRIALS}   naive ${falseIdle('naive')}/${TRIALS}` +
    (noAnswer ? `   (lockscope timed out: ${noAnswer})` : ''),
);
const okOurs = results.map((r) => r.ours).filter(Number.isFinite);
console.log(`  lockscope after the writer left: p50 ${f1(pct(okOurs, 50))} ms, max ${f1(Math.max(...okOurs))} ms`);
const worst = Math.min(...results.map((r) => r.naive));
console.log(`  naive's worst: resolved ${f1(-worst)} ms before the writer left the file`);
