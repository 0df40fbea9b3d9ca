/** Pieces every platform's probe uses (platform/<os>/probe.ts), kept portable. */
import { statSync, type BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { errnoNumber } from '../errors/errno.js';
import { probeErrors } from '../errors/factories.js';
import type { IncompleteReason } from './types.js';

/** Why a Windows or macOS probe is never complete about lock owners. */
export const NO_LOCK_OWNER_API = 'no-lock-owner-api' satisfies IncompleteReason;

/** stat for a probe: a ProbeError (reason 'not-found' for a missing path) instead of a Node error. */
export function statForProbe(abs: string): BigIntStats {
  try {
    return statSync(abs, { bigint: true });
  } catch (e) {
    throw probeErrors.fromFsError(e, 'stat', abs);
  }
}

/** The identity of the file to probe, refusing a directory (its locks are not a file's). */
export async function statTarget(fn: string, p: string): Promise<{ dev: number; ino: number }> {
  let st;
  try {
    st = await stat(p);
  } catch (e) {
    throw probeErrors.fromFsError(e, 'stat', p);
  }
  if (st.isDirectory()) {
    const message = `EISDIR: path is a directory; probe a file, ${fn} '${p}'`;
    throw probeErrors.fromErrno(fn, errnoNumber('EISDIR') ?? 21, p, undefined, { message });
  }
  return { dev: st.dev, ino: st.ino };
}
