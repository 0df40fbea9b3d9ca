import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runScenario, type Scenario } from './report-scenario.js';

function report(args: string[], input?: string): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [CLI, 'report', ...args], { encoding: 'utf8', input: input ?? '', timeout: 60_000 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

let s: Scenario;
let json: any;
let text: string;
let html: string;

beforeAll(async () => {
  s = await runScenario();
  html = join(s.dir, 'report.html');
  // One forensic file, one gzip-compressed winston log, pino lines on standard input, a file of bad lines.
  const inputs = [s.forensic, s.winstonGz, '-', s.bad];
  const j = report([...inputs, '--json', '--html', html], readFileSync(s.pinoLines, 'utf8'));
  expect(j.err).toBe('');
  expect(j.status).toBe(0);
  json = JSON.parse(j.out);
  const t = report(inputs, readFileSync(s.pinoLines, 'utf8'));
  expect(t.status).toBe(0);
  text = t.out;
}, 120_000);

afterAll(() => {
  if (s) rmSync(s.dir, { recursive: true, force: true });
});

describe('lockscope report on the logs of real contending processes (python holder, pino transport, pino lines, winston)', () => {
  it('--json: counts records and skipped lines, and names the waits and the holders of the lock', () => {
    expect(json.records).toBe(9); // A: contended acquired held-too-long released; B: contended timeout; C: contended acquired released
    expect(json.skipped).toBe(8);
    expect(json.skippedBy).toEqual({ 'not-json': 3, 'not-lockscope': 3, 'unknown-version': 1, invalid: 1, oversized: 0 });
    expect(json.inputs.map((i: any) => [i.records, i.skipped])).toEqual([
      [4, 0],
      [2, 1],
      [3, 1],
      [0, 6],
    ]);
    expect(json.paths).toHaveLength(1);
    const p = json.paths[0];
    expect(p).toMatchObject({ path: s.lock, waits: 3, timeouts: 1 });
    expect(p.maxWaitMs).toBeGreaterThan(0);
    expect(p.totalWaitMs).toBeGreaterThanOrEqual(p.maxWaitMs);
    const byPid = new Map(p.holders.map((h: any) => [h.pid, h]));
    expect([...byPid.keys()].sort()).toEqual([s.pids.python, s.pids.a].sort());
    const py: any = byPid.get(s.pids.python);
    expect(py).toMatchObject({ host: hostname(), lockscope: false });
    // Arguments with spaces are quoted, a newline stays on one line.
    expect(py.command).toContain(`'${s.lock}' '--job=nightly export'`);
    expect(py.command).not.toContain('\n');
    expect(byPid.get(s.pids.a)).toMatchObject({ host: hostname(), label: 'holder-A', lockscope: true });
  });

  it('--json: processes carry host, boot id and start time; the python hold is known only from outside', () => {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const procs = new Map(json.processes.map((p: any) => [p.pid, p]));
    for (const pid of [s.pids.a, s.pids.b, s.pids.c]) expect(procs.get(pid)).toMatchObject({ host: hostname(), bootId, lockscope: true });
    expect((procs.get(s.pids.a) as any).startTime).toEqual(expect.any(Number));
    expect(json.outsideHolds).toEqual([expect.objectContaining({ pid: s.pids.python, path: s.lock })]);
    const o = json.outsideHolds[0];
    expect(Date.parse(o.to)).toBeGreaterThanOrEqual(Date.parse(o.from));
    expect(json.concerns).toEqual([expect.objectContaining({ kind: 'held-too-long', pid: s.pids.a, path: s.lock, label: 'holder-A' })]);
  });

  it('terminal output: span, most waiting, held longest, outside holds, held-too-long, timeline', () => {
    expect(text).toMatch(/^lockscope report: 9 records from 4 input\(s\), 8 line\(s\) skipped/);
    expect(text).toContain('span: ');
    expect(text).toContain(`${s.lock}: 3 wait(s)`);
    expect(text).toContain('1 timeout(s)');
    expect(text).toContain(`held by pid ${s.pids.python}@${hostname()} (`);
    expect(text).toMatch(/held-too-long .* by pid \d+@/);
    expect(text).toContain('timeline (60 columns');
    expect(text.split('\n').filter((l) => /^ {2}[.=#~x]{60} {2}pid /.test(l))).toHaveLength(4);
  });

  it('--html in headless Chromium: lanes, bars, a wait linked to its holder, details on hover and click, a real screenshot', async () => {
    const userDataDir = mkdtempSync(join(tmpdir(), 'lockscope-chromium-'));
    const ctx = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 1280, height: 800 },
    });
    try {
      const page = await ctx.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(html).href);
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]); // self-contained
      const lanes = await page.$$eval('g.lane', (gs) => gs.map((g) => [g.getAttribute('data-host'), Number(g.getAttribute('data-pid'))]));
      expect(lanes.map(([, pid]) => pid).sort()).toEqual(Object.values(s.pids).sort());
      expect(new Set(lanes.map(([h]) => h))).toEqual(new Set([hostname()]));
      const bars = await page.$$eval('rect.bar', (rs) => rs.map((r) => [r.getAttribute('data-kind'), r.getAttribute('data-path')]));
      expect(bars.filter(([k]) => k === 'wait')).toHaveLength(3);
      expect(bars.filter(([k]) => k === 'hold')).toHaveLength(3); // python (seen), A, C
      expect(new Set(bars.map(([, p]) => p))).toEqual(new Set([s.lock]));

      // C waited for A: its wait bar points at A's hold bar.
      const cWait = page.locator(`g.lane[data-pid="${s.pids.c}"] rect[data-kind="wait"]`);
      const aHoldId = await page.locator(`g.lane[data-pid="${s.pids.a}"] rect[data-kind="hold"]`).getAttribute('id');
      expect(await cWait.getAttribute('data-holder')).toBe(aHoldId);
      expect(await page.locator(`line.link[data-hold="${aHoldId}"]`).count()).toBe(1);
      await cWait.hover();
      const cDetails = await page.locator('#details').textContent();
      expect(cDetails).toContain(`pid ${s.pids.a} `);
      expect(cDetails).toContain('"holder-A"');
      expect(cDetails).toMatch(/report-child\.mjs:\d+/); // A's acquire stack, from its holder card
      expect(cDetails).toContain('snapshot: ');

      // B timed out: the details show the errno.
      await page.locator(`g.lane[data-pid="${s.pids.b}"] rect[data-kind="wait"]`).click();
      const bDetails = await page.locator('#details').textContent();
      expect(bDetails).toContain('wait timeout');
      expect(bDetails).toContain('error: ETIMEDOUT errno 110');
      expect(bDetails).toContain(`pid ${s.pids.python} `);

      const png = await page.screenshot({ fullPage: true });
      expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      const width = png.readUInt32BE(16);
      const height = png.readUInt32BE(20);
      expect(width).toBe(1280);
      expect(height).toBeGreaterThan(200);
      // Not blank: decode it in the page and count colours and non-white pixels.
      const stats = await page.evaluate(async (b64) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const g = c.getContext('2d')!;
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const colours = new Set<number>();
        let ink = 0;
        for (let i = 0; i < d.length; i += 4) {
          colours.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
          if (d[i]! < 200 || d[i + 1]! < 200 || d[i + 2]! < 200) ink++;
        }
        // The orange of wait bars and the purple of the hold seen from outside (python) are there.
        const has = (r: number, gg: number, b: number) => colours.has((r << 16) | (gg << 8) | b);
        return { colours: colours.size, ink: ink / (d.length / 4), orange: has(0xf9, 0x73, 0x16), purple: has(0x8b, 0x5c, 0xf6) };
      }, png.toString('base64'));
      expect(stats.colours).toBeGreaterThan(20);
      expect(stats.ink).toBeGreaterThan(0.01);
      expect(stats.orange).toBe(true);
      expect(stats.purple).toBe(true);
    } finally {
      await ctx.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
