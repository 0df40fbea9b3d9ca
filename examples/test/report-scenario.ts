/**
 * Real contention for the report tests: a python fcntl holder, then lockscope processes logging
 * through pino's transport (forensic NDJSON), pino lines (pino/file) and winston (attachWinston).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';

const child = join(import.meta.dirname, 'fixtures', 'report-child.mjs');
export const CLI = join(dirname(createRequire(import.meta.url).resolve('@lockscope/core/package.json')), 'dist', 'cli', 'main.js');

interface Proc {
  p: ChildProcess;
  exited: Promise<unknown>;
  saw: (word: string) => Promise<void>;
}

function start(cmd: string, args: string[]): Proc {
  const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const seen = new Set<string>();
  const waiting = new Map<string, () => void>();
  let buf = '';
  p.stdout.setEncoding('utf8').on('data', (c: string) => {
    buf += c;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const w = buf.slice(0, nl).split(' ')[0]!;
      buf = buf.slice(nl + 1);
      seen.add(w);
      waiting.get(w)?.();
    }
  });
  const exited = once(p, 'exit');
  const saw = (w: string): Promise<void> =>
    seen.has(w)
      ? Promise.resolve()
      : Promise.race([
          new Promise<void>((r) => waiting.set(w, r)),
          exited.then(() => {
            if (!seen.has(w)) throw new Error(`${args.join(' ')} exited before saying '${w}'`);
          }),
        ]);
  return { p, exited, saw };
}

export interface Scenario {
  dir: string;
  lock: string;
  forensic: string;
  winstonGz: string;
  pinoLines: string;
  bad: string;
  pids: { python: number; a: number; b: number; c: number };
}

export async function runScenario(): Promise<Scenario> {
  const dir = mkdtempSync(join(tmpdir(), 'lockscope-report-'));
  const lock = join(dir, 'shared resource.lock');
  const forensic = join(dir, 'a-forensic.ndjson');
  const winstonLog = join(dir, 'b-winston.log');
  const pinoLines = join(dir, 'c-pino.log');
  const py = start('python3', [
    '-c',
    "import fcntl,sys\nf=open(sys.argv[1],'a')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('held',flush=True)\nsys.stdin.read()",
    lock,
    '--job=nightly export',
  ]);
  await py.saw('held');
  // A waits long; B gives up after 600 ms: both see python as the holder.
  const a = start(process.execPath, [child, 'pino-transport', forensic, lock, '30000', 'holder-A']);
  const b = start(process.execPath, [child, 'winston', winstonLog, lock, '600', 'impatient-B']);
  await Promise.all([a.saw('contended'), b.saw('contended'), b.saw('timeout')]);
  await b.exited;
  py.p.stdin!.end();
  await py.exited;
  await a.saw('held');
  // C waits for A, a lockscope holder that publishes a card (label, stack). C's own hold is short but
  // of no set length (a loaded machine stretches it): it must never count as held too long.
  const c = start(process.execPath, [child, 'pino-lines', pinoLines, lock, '30000', 'follower-C', '600000']);
  await Promise.all([c.saw('contended'), a.saw('held-too-long')]);
  a.p.stdin!.end();
  await a.exited;
  await c.saw('held');
  c.p.stdin!.end();
  await c.exited;
  const winstonGz = `${winstonLog}.gz`;
  writeFileSync(winstonGz, gzipSync(readFileSync(winstonLog)));
  // Bad input: not JSON, JSON but not lockscope, an unknown schema version, a corrupt record, a truncated last line.
  const bad = join(dir, 'bad.ndjson');
  const good = readFileSync(forensic, 'utf8').split('\n')[0]!;
  writeFileSync(
    bad,
    [
      'plain text, not JSON',
      '{"level":30,"msg":"unrelated"}',
      JSON.stringify({ ...JSON.parse(good), schemaVersion: 2 }),
      `{"schemaVersion":1,"event":"contended","path":`,
      JSON.stringify({ ...JSON.parse(good), event: 'no-such-event' }),
      good.slice(0, Math.floor(good.length / 2)),
    ].join('\n'),
  );
  return { dir, lock, forensic, winstonGz, pinoLines, bad, pids: { python: py.p.pid!, a: a.p.pid!, b: b.p.pid!, c: c.p.pid! } };
}
