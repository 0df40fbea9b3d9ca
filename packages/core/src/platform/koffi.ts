import { createRequire } from 'node:module';

type Koffi = typeof import('koffi');
let cached: Koffi | undefined;

/**
 * koffi, loaded on first use rather than at import: koffi throws at load where it has no prebuilt
 * binary, and importing @lockscope/core must still work there (calls then fail with reason
 * 'unsupported'). Only the darwin and win32 native layers use this; linux/libc.ts does the same
 * in its own loader (it also runs in waiter threads).
 */
export function koffi(): Koffi {
  cached ??= createRequire(import.meta.url)('koffi') as Koffi;
  return cached;
}
