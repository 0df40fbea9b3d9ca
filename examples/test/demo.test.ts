import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const examples = join(import.meta.dirname, '..');

function run(script: string): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [join(examples, script)], { cwd: join(examples, '..'), encoding: 'utf8', timeout: 60_000 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('hold-lock.mjs');
  } catch {
    return false;
  }
}

describe('npm run demo (examples/demo.mjs): a real two-process contention', () => {
  it("names the holder's PID and command in the summary, the pino and winston lines and the OTel span, and leaves nothing behind", () => {
    const { out, err, status } = run('demo.mjs');
    expect(err).toBe('');
    expect(status).toBe(0);
    const holder = Number(/process A pid (\d+):/.exec(out)?.[1]);
    const waiter = Number(/process B pid (\d+):/.exec(out)?.[1]);
    expect(holder).toBeGreaterThan(0);
    expect(waiter).toBeGreaterThan(0);
    const file = /^ {2}file {6}(\S+)$/m.exec(out)?.[1] ?? '';
    expect(file).toMatch(/lockscope-demo-.*report\.lock$/);

    // Summary, from lockscope's record (the probe), not from the demo's own knowledge of the child.
    expect(out).toMatch(new RegExp(`WHO WAITED  pid ${waiter} \\(this demo\\)`));
    expect(out).toMatch(/HOW LONG {4}\d+ ms, then it got the lock/);
    expect(out).toContain(
      `WHY         it was held by pid ${holder} (${process.execPath} ${join(examples, 'hold-lock.mjs')} ${file} 1500 nightly-export)`,
    );
    expect(out).toContain('which calls itself "nightly-export"');

    // pino: contended (warn, with the holder), acquired and released (debug).
    const pinoLines = out
      .split('\n')
      .filter((l) => l.startsWith('  {"level":'))
      .map((l) => JSON.parse(l));
    const levels = pinoLines.filter((l) => typeof l.level === 'number').map((l) => [l.level, l.lock.event]);
    expect(levels).toEqual([
      [40, 'contended'],
      [20, 'acquired'],
      [20, 'released'],
    ]);
    const contended = pinoLines[0];
    // The message cuts long command lines at 80 characters; the record has the whole argv.
    expect(contended.msg).toContain(`held by pid ${holder} (${process.execPath.slice(0, 40)}`);
    expect(contended.lock.holders.find((h: { role: string }) => h.role === 'holder')).toMatchObject({
      pid: holder,
      argv: [process.execPath, join(examples, 'hold-lock.mjs'), file, '1500', 'nightly-export'],
    });

    // winston: the one contended line at warn.
    const winstonLines = pinoLines.filter((l) => typeof l.level === 'string');
    expect(winstonLines).toHaveLength(1);
    expect(winstonLines[0]).toMatchObject({ level: 'warn', lockscope: 1, lock: { event: 'contended' } });
    expect(winstonLines[0].message).toContain(`held by pid ${holder} (`);

    // OTel: the span with the holder, and the contention event naming it.
    expect(out).toMatch(/lockscope\.lock\.acquire {2}\d+ ms {2}status UNSET/);
    expect(out).toContain(`lockscope.lock.holder.pids = [${holder}]`);
    expect(out).toContain('lockscope.lock.outcome = "acquired"');
    expect(out).toMatch(/event "lockscope\.lock\.contended" at \+\d+ ms/);
    expect(out).toContain(`process.pid = ${holder}`);
    expect(out).toContain(`process.command = ${JSON.stringify(process.execPath)}`);

    // No leftover holder process or temp files.
    expect(alive(holder)).toBe(false);
    expect(existsSync(join(file, '..'))).toBe(false);
  });
});
