/**
 * Selects the identity backend for this OS (IdentityBackend, types.ts), as index.ts selects the
 * lock backend: only Linux names a boot and a start time on the probe's clock so far; elsewhere the
 * record layer falls back to the process's time origin.
 */
import type { IdentityBackend } from './types.js';
import { linuxIdentity } from './linux/identity.js';

/** Read when asked, not at load time: the record layer asks once, at its first record. */
export function identityBackend(): IdentityBackend | null {
  return process.platform === 'linux' ? linuxIdentity : null;
}
