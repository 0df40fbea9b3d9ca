// TypeScript consumer, typechecked with module nodenext and with moduleResolution bundler.
import { HolderCache, holdersFor, lock, type HoldersLookup, type LockOptions } from '@lockscope/core';
import type { LockscopeRecord } from '@lockscope/core/record';
import { attachPino, lockscopeErrSerializer, type LockscopeTransportOptions } from '@lockscope/pino-transport';
import { lockscopeFormat, type LockscopeFormat } from '@lockscope/winston-format';
import { LockscopeHoldersSpanProcessor, LockscopeInstrumentation } from '@lockscope/otel';

const opts: LockOptions = { timeout: 100, mode: 'shared' };
export async function run(path: string): Promise<HoldersLookup> {
  const h = await lock(path, opts);
  await h.release();
  return holdersFor(new Error('x'), { cache: new HolderCache({ budgetMs: 50 }) });
}
export const t: LockscopeTransportOptions = { file: '/tmp/x.ndjson' };
export const f: LockscopeFormat = lockscopeFormat({ holders: true });
export const s: (err: Error) => unknown = lockscopeErrSerializer();
export const i = new LockscopeInstrumentation({ ignoreTryLock: true });
export const p = new LockscopeHoldersSpanProcessor();
export const a: typeof attachPino = attachPino;
export type R = LockscopeRecord['event'];
