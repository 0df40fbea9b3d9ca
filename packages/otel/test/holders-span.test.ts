/**
 * LockscopeHoldersSpanProcessor: holders on spans that carry a busy-style exception, with real
 * foreign holders: spans of @opentelemetry/instrumentation-fs in a child app (ETXTBSY from a
 * running executable), and a hand-made span for a flock(1) holder's EWOULDBLOCK.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SpanStatusCode } from '@opentelemetry/api';
import { HolderCache, errnoNumber, holdersFor, lockErrorFromErrno } from '@lockscope/core';
import { LockscopeHoldersSpanProcessor } from '@lockscope/otel';
import { runningExecutable } from '../../../test-support/processes.js';
import { OTEL_LINE, tracing } from './support/tracing.js';
import { startFlockHolder, tempDir } from '../../../test-support/contention.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/fs-spans.cjs', import.meta.url));

describe('LockscopeHoldersSpanProcessor', () => {
  // The child app is a 2.x app (sdk-trace-node, instrumentation-fs from the workspace); on the 3.x
  // line the processor on a real app is covered by examples/test/npm-install.test.ts.
  it.skipIf(OTEL_LINE === 3)(
    'instrumentation-fs spans of a real ETXTBSY (OTel 2.x app): pending first, then the process running the file',
    async () => {
      const child = await runningExecutable(tempDir());
      const exe = child.path;
      try {
        const { stdout } = await promisify(execFile)(process.execPath, [FIXTURE, exe], { cwd: join(FIXTURE, '..') });
        const out = JSON.parse(stdout);
        expect(out.code).toBe('ETXTBSY');
        const failed = out.spans.filter((s: { status: SpanStatusCode }) => s.status === SpanStatusCode.ERROR);
        expect(failed).toHaveLength(2);
        expect(failed[0].attributes).toEqual({ 'lockscope.file.holders.status': 'pending' });
        expect(failed[1].attributes).toMatchObject({
          'lockscope.file.holders.status': 'cached',
          'lockscope.file.holder.roles': expect.arrayContaining(['opener']),
        });
        const i = failed[1].attributes['lockscope.file.holder.pids'].indexOf(child.pid);
        expect(i).toBeGreaterThanOrEqual(0);
        expect(failed[1].attributes['lockscope.file.holder.commands'][i]).toBe(exe);
      } finally {
        await child.stop();
      }
    },
  );

  it('a span with a recorded EWOULDBLOCK and file.path: the flock(1) holder; other spans untouched', async () => {
    const path = join(tempDir(), 'held.lock');
    writeFileSync(path, '');
    const holder = await startFlockHolder(path);
    const cache = new HolderCache({ budgetMs: 5000 });
    const { exporter, provider } = await tracing({ before: [new LockscopeHoldersSpanProcessor({ cache })] });
    const tracer = provider.getTracer('test');
    try {
      const err = lockErrorFromErrno('flock', errnoNumber('EWOULDBLOCK')!, path, 'flock');
      await holdersFor(err, { cache, budgetMs: 10_000 });
      const busy = tracer.startSpan('write state', { attributes: { 'file.path': path } });
      busy.recordException(err);
      busy.setStatus({ code: SpanStatusCode.ERROR });
      busy.end();
      const plain = tracer.startSpan('fine');
      plain.recordException(Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' }));
      plain.end();
      tracer.startSpan('no events').end();
      const [a, b, c] = exporter.getFinishedSpans();
      expect(a!.attributes).toMatchObject({
        'lockscope.file.holders.status': 'cached',
        'lockscope.file.holder.roles': expect.arrayContaining(['holder']),
      });
      expect(a!.attributes['lockscope.file.holder.pids']).toContain(holder.pid);
      expect(Object.keys(b!.attributes)).toEqual([]);
      expect(Object.keys(c!.attributes)).toEqual([]);
      expect(() => new LockscopeHoldersSpanProcessor({ cache: {} as never })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    } finally {
      await provider.shutdown();
      await holder.stop();
    }
  });
});
