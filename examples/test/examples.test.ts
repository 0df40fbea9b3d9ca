import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const examples = join(import.meta.dirname, '..');

function run(script: string): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [join(examples, script)], { cwd: join(examples, '..'), encoding: 'utf8', timeout: 60_000 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

const jsonLines = (out: string): any[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{"'))
    .map((l) => JSON.parse(l));

const holderOf = (r: { holders: Array<{ role: string; pid: number; argv: string[] | null }> }) =>
  r.holders.find((h) => h.role === 'holder');

describe('the adapter examples run against a real second process (examples/hold-lock.mjs)', () => {
  it('pino.mjs: the contended line on stdout and contended/acquired/released in the forensic file', () => {
    const { out, err, status } = run('pino.mjs');
    expect(err).toBe('');
    expect(status).toBe(0);
    const lines = jsonLines(out);
    const app = lines.filter((l) => l.lockscope === 1);
    const forensic = lines.filter((l) => l.schemaVersion === 1);
    expect(app.map((l) => [l.level, l.lock.event])).toEqual([[40, 'contended']]);
    expect(forensic.map((r) => r.event)).toEqual(['contended', 'acquired', 'released']);
    const h = holderOf(forensic[0]);
    expect(h?.argv?.[1]).toBe(join(examples, 'hold-lock.mjs'));
    expect(app[0].msg).toContain(`held by pid ${h!.pid} (`);
  });

  it('winston.mjs: contended and timeout records, the LockError and a later EAGAIN with the holder', () => {
    const { out, err, status } = run('winston.mjs');
    expect(err).toBe('');
    expect(status).toBe(0);
    const lines = jsonLines(out);
    expect(lines.map((l) => [l.level, l.lock?.event ?? l.err?.code])).toEqual([
      ['warn', 'contended'],
      ['error', 'timeout'],
      ['error', 'ETIMEDOUT'],
      ['error', 'EAGAIN'],
    ]);
    const pid = holderOf(lines[0].lock)!.pid;
    expect(lines[1].lock.error).toMatchObject({ code: 'ETIMEDOUT', errno: 110, reason: 'timeout' });
    expect(holderOf(lines[2].err)?.pid).toBe(pid);
    expect(lines[3].err.holdersStatus).toBe('cached');
    expect(holderOf(lines[3].err)?.argv?.[1]).toBe(join(examples, 'hold-lock.mjs'));
  });

  it('otel.mjs: the acquire span with the holder pid on it and on the contention event, and the metrics', () => {
    const { out, err, status } = run('otel.mjs');
    expect(err).toBe('');
    expect(status).toBe(0);
    expect(out).toContain("name: 'lockscope.lock.acquire'");
    const pid = /'lockscope\.lock\.holder\.pids': \[ (\d+) \]/.exec(out)?.[1];
    expect(pid).toBeDefined();
    expect(out).toContain(`'process.pid': ${pid},`);
    expect(out).toContain("'lockscope.lock.outcome': 'acquired'");
    expect(out).toContain("name: 'lockscope.lock.wait.duration'");
  });
});
