#!/usr/bin/env node
// Probe benchmark: probe(path) against lsof, fuser and lsfd on a host made busy by the bench itself
// (N sleep processes holding ~20 fds each), in one run, interleaved, with ratios. The full probe
// runs with its default threads: 'auto' (two threads here), the worker warm from the previous call.
//   node bench/probe.mjs [--procs 1000] [--fds 20] [--rounds 7] [--fast 300]
// Linux only. Cleans up every process it started (by process group id) and its temp files.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { probe } from '@lockscope/core';
// Internal: ends the warm scan worker, to time a probe that has to boot it (same module instance as the package's).
import { closeScanWorker } from '../packages/core/dist/platform/linux/probe-parallel.js';

const { values: a } = parseArgs({
  options: {
    procs: { type: 'string', default: '1000' },
    fds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '7' },
    fast: { type: 'string', default: '300' },
  },
});
const PROCS = Number(a.procs);
const FDS = Number(a.fds);
const ROUNDS = Number(a.rounds);
const FAST = Number(a.fast);
const OPENERS = 10; // load processes that also have the target open

if (process.platform !== 'linux') {
  console.log('probe bench: Linux only');
  process.exit(0);
}

const has = (c) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'lockscope-bench-probe-'));
const target = join(dir, 'target.lock');
writeFileSync(target, '');
const files = [];
for (let i = 0; i < FDS; i++) {
  const f = join(dir, `f${i}`);
  writeFileSync(f, '');
  files.push(f);
}

let load = null;
let holder = null;
function cleanup() {
  // Only what this bench started: the load's own process group, and the holder.
  if (load?.pid) {
    try {
      process.kill(-load.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (holder?.pid) {
    try {
      process.kill(holder.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

function startLoad() {
  const redir = files.map((f, i) => `${i + 3}<'${f}'`).join(' ');
  const script = [
    `for i in $(seq 1 ${PROCS}); do`,
    `  if [ $i -le ${OPENERS} ]; then sleep 3600 ${redir} ${FDS + 3}<'${target}' & else sleep 3600 ${redir} & fi`,
    'done',
    'echo started',
    'wait',
  ].join('\n');
  load = spawn('bash', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    load.stdout.on('data', (d) => d.toString().includes('started') && res());
    load.once('exit', (c) => rej(new Error(`load exited ${c}`)));
  });
}

function startHolder() {
  const py =
    'import fcntl,os,sys,time\nfd=os.open(sys.argv[1],os.O_RDWR)\n' +
    'fcntl.flock(fd,fcntl.LOCK_EX)\nprint("ready",flush=True)\ntime.sleep(3600)';
  holder = spawn('python3', ['-c', py, target], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res) => holder.stdout.once('data', () => res()));
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
const pct = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
};

function timeCmd(cmd, args) {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ms: performance.now() - t, out: r.stdout, status: r.status };
}

// What each tool found (PIDs), for the completeness column.
const lsofPids = (out) => new Set([...out.matchAll(/^p(\d+)$/gm)].map((m) => Number(m[1])));
const fuserPids = (out) => new Set([...out.matchAll(/(\d+)/g)].map((m) => Number(m[1])));
const lsfdPids = (out) =>
  new Set(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => Number(l.trim())),
  );

async function main() {
  console.log(`probe bench: starting ${PROCS} processes x ${FDS} fds ...`);
  await startLoad();
  await startHolder();
  const nProcs = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  const ino = statSync(target).ino;

  const tools = [];
  if (has('lsof')) tools.push({ name: 'lsof path', cmd: 'lsof', args: ['-w', '-F', 'p', target], pids: lsofPids });
  if (has('fuser')) tools.push({ name: 'fuser path', cmd: 'fuser', args: [target], pids: fuserPids });
  const lsfdOk = has('lsfd');
  if (lsfdOk) tools.push({ name: 'lsfd -Q INODE', cmd: 'lsfd', args: ['-n', '-o', 'PID', '-Q', `INODE == ${ino}`], pids: lsfdPids });
  const cli = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'packages', 'core', 'dist', 'cli', 'main.js');
  tools.push({
    name: 'lockscope holders (CLI, incl. node start)',
    cmd: process.execPath,
    args: [cli, 'holders', target, '--json'],
    pids: (o) => new Set(JSON.parse(o).openers.map((x) => x.pid)),
  });

  // Warm up every contender once (page cache, dentries, JIT).
  const full0 = await probe(target);
  for (const t of tools) timeCmd(t.cmd, t.args);
  for (let i = 0; i < 20; i++) await probe(target, { depth: 'holders' });

  const res = { full: [], stall: [], slice: [], fast: [], nomaps: [], fsRoute: [], one: [], cold: [] };
  for (const t of tools) t.ms = [];
  let last = full0;
  for (let r = 0; r < ROUNDS; r++) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    last = await probe(target);
    res.full.push(performance.now() - t0);
    h.disable();
    res.stall.push(h.max / 1e6);
    res.slice.push(last.stats.longestSliceMs);
    const t2 = performance.now();
    await probe(target, { maps: false });
    res.nomaps.push(performance.now() - t2);
    const t4 = performance.now();
    await probe(target, { threads: 1 });
    res.one.push(performance.now() - t4);
    await closeScanWorker();
    const t5 = performance.now();
    await probe(target);
    res.cold.push(performance.now() - t5);
    // The node:fs fallback (what runs when koffi cannot load), same run.
    process.env.LOCKSCOPE_PROBE_NATIVE = '0';
    const t3 = performance.now();
    await probe(target);
    res.fsRoute.push(performance.now() - t3);
    delete process.env.LOCKSCOPE_PROBE_NATIVE;
    for (const t of tools) {
      const x = timeCmd(t.cmd, t.args);
      t.ms.push(x.ms);
      t.last = x.out;
    }
    for (let i = 0; i < Math.ceil(FAST / ROUNDS); i++) {
      const t1 = performance.now();
      const f = await probe(target, { depth: 'holders' });
      res.fast.push(performance.now() - t1);
      if (!f.stats.fastPath) throw new Error('fast path not taken');
    }
  }

  const ours = new Set(last.openers.map((o) => o.pid));
  const holders = last.locks.flatMap((l) => l.holders.map((h) => h.pid));
  const fullMed = median(res.full);
  const rows = [
    ['probe(path) fast path (depth holders)', median(res.fast), pct(res.fast, 95), '-', `${holders.length} holders`],
    [
      'probe(path) full (2 threads, worker warm)',
      fullMed,
      Math.max(...res.full),
      '1.00',
      `${ours.size} openers, ${holders.length} holders`,
    ],
    [
      'probe(path) full, worker booted by this call',
      median(res.cold),
      Math.max(...res.cold),
      (median(res.cold) / fullMed).toFixed(2),
      'first probe, or none in the last 5 s',
    ],
    ['probe(path, { threads: 1 })', median(res.one), Math.max(...res.one), (median(res.one) / fullMed).toFixed(2), 'main thread only'],
    [
      'probe(path, { maps: false })',
      median(res.nomaps),
      Math.max(...res.nomaps),
      (median(res.nomaps) / fullMed).toFixed(2),
      'fds only: misses mmap-only openers',
    ],
    [
      'probe(path) on the node:fs fallback',
      median(res.fsRoute),
      Math.max(...res.fsRoute),
      (median(res.fsRoute) / fullMed).toFixed(2),
      'LOCKSCOPE_PROBE_NATIVE=0 (no koffi)',
    ],
  ];
  for (const t of tools) {
    const theirs = t.pids(t.last ?? '');
    const missing = [...theirs].filter((p) => !ours.has(p)).length;
    const extra = [...ours].filter((p) => !theirs.has(p)).length;
    rows.push([
      t.name,
      median(t.ms),
      Math.max(...t.ms),
      (median(t.ms) / fullMed).toFixed(2),
      `${theirs.size} pids (lockscope misses ${missing}, finds ${extra} more)`,
    ]);
  }
  console.log(
    `\nhost: ${nProcs} processes, ${last.stats.fdsScanned} fds scanned; ` +
      `${cpus().length} cpus, load ${loadavg()[0].toFixed(2)}; node ${process.version}`,
  );
  console.log(
    `lsfd: ${lsfdOk ? 'present' : 'not installed (util-linux >= 2.38 ships it)'}; ${ROUNDS} interleaved rounds; ` +
      'times in ms (median, max; fast path: median, p95)\n',
  );
  const head = ['contender', 'median ms', 'max/p95 ms', 'x probe full', 'found'];
  const w = head.map((hh, i) =>
    Math.max(hh.length, ...rows.map((r) => (typeof r[i] === 'number' ? r[i].toFixed(2) : String(r[i])).length)),
  );
  const fmt = (r) => r.map((c, i) => (typeof c === 'number' ? c.toFixed(2) : String(c)).padEnd(w[i])).join(' | ');
  console.log(fmt(head));
  console.log(w.map((x) => '-'.repeat(x)).join('-|-'));
  for (const r of rows) console.log(fmt(r));
  console.log(
    `\nevent loop during a full probe: longest stall ${Math.max(...res.stall).toFixed(1)} ms ` +
      `(monitorEventLoopDelay max over ${ROUNDS} runs, median ${median(res.stall).toFixed(1)}); ` +
      `longest synchronous slice reported by the probe ${Math.max(...res.slice).toFixed(1)} ms`,
  );
  console.log(
    `complete: ${last.complete} ${last.incomplete.join(',')} ` +
      `(unreadable: ${last.unreadable.map((u) => `${u.pid}/${u.reason}`).join(' ') || 'none'})`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
