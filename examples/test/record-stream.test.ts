/**
 * The records every consumer gets are unchanged by the cheap-when-idle paths (issue 14): a
 * scripted scenario (uncontended pairs, a real flock(1) contention, timeout, abort, a lockscope
 * holder's card, held-too-long, a leaked handle, open errors) runs once per consumer in its own
 * process, and its normalized stream must equal the golden fixture captured before those paths
 * existed. Regenerate (only for an intended record change): LOCKSCOPE_WRITE_GOLDEN=1.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const fixtures = join(import.meta.dirname, 'fixtures');
const goldenFile = join(fixtures, 'record-stream.golden.json');
const CONSUMERS = ['raw', 'channel-contended', 'pino-debug', 'pino-info', 'winston-debug', 'winston-info', 'otel-spans', 'otel-metrics'];
/** Options added after the golden was taken: checked against the golden streams they derive from. */
const OPTIONS = ['raw-stack-waits', 'otel-contended'];

function run(consumer: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', '--expose-gc', join(fixtures, 'record-stream.mjs'), consumer], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${consumer} exited ${code}: ${err}`));
      else resolve(JSON.parse(out));
    });
  });
}

async function runAll(names: string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  // Two at a time: each holds real locks for a few hundred ms; the machine has 2 cores.
  for (let i = 0; i < names.length; i += 2) {
    const batch = names.slice(i, i + 2);
    const got = await Promise.all(batch.map(run));
    batch.forEach((c, j) => (out[c] = got[j]));
  }
  return out;
}

describe('record stream of a scripted scenario, per consumer (golden fixture)', () => {
  it('every adapter and subscriber gets the same records, fields and counts as before', async () => {
    const got = await runAll(CONSUMERS);
    if (process.env.LOCKSCOPE_WRITE_GOLDEN === '1') writeFileSync(goldenFile, `${JSON.stringify(got, null, 1)}\n`);
    const golden = JSON.parse(readFileSync(goldenFile, 'utf8')) as Record<string, unknown>;
    for (const c of CONSUMERS) expect({ consumer: c, stream: got[c] }).toEqual({ consumer: c, stream: golden[c] });
  }, 180_000);

  it("snapshot.stack 'waits' and OTel spans: 'contended' change only what they document", async () => {
    const got = await runAll(OPTIONS);
    const golden = JSON.parse(readFileSync(goldenFile, 'utf8')) as Record<string, any>;
    // 'waits': the same records, except that locks granted at once carry no stack (their
    // held-too-long and leaked snapshots); waits and failures keep theirs, other processes' cards too.
    const expected = structuredClone(golden.raw) as Array<{ event: string; snapshot: { stack: string | null } | null }>;
    for (const r of expected) if ((r.event === 'held-too-long' || r.event === 'leaked') && r.snapshot) r.snapshot.stack = null;
    expect(got['raw-stack-waits']).toEqual(expected);
    expect(expected.filter((r) => r.snapshot?.stack).length).toBeGreaterThan(0);
    // spans: 'contended': exactly the golden spans that had a contention, the same metrics.
    const spans = golden['otel-spans'].spans as Array<{ events: Array<{ name: string }> }>;
    const contended = spans.filter((s) => s.events.some((e) => e.name === 'lockscope.lock.contended'));
    expect(contended.length).toBe(4);
    expect(got['otel-contended']).toEqual({ spans: contended, metrics: golden['otel-spans'].metrics });
  }, 120_000);
});
