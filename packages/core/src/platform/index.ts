/**
 * Selects the lock backend for this OS. Each platform is a folder of its own (linux, darwin,
 * win32) behind the one PlatformBackend interface (types.ts); its probe sits in the same folder
 * behind ProbeBackend, selected by probe/index.ts. A new platform is a folder and a case below.
 */
import type { PlatformBackend } from './types.js';
import { linuxBackend } from './linux/index.js';
import { SUPPORTED_ARCHS } from './linux/libc.js';
import { win32Backend } from './win32/index.js';
import { darwinBackend } from './darwin/index.js';
import { unsupportedWhat } from './unsupported.js';

export type { PlatformBackend, FileId, PendingWait, WaitDone } from './types.js';

function select(): PlatformBackend | null {
  // Read at load time from the process object (tests simulate other platforms by overriding it).
  switch (process.platform) {
    case 'linux':
      return SUPPORTED_ARCHS.has(process.arch) ? linuxBackend : null;
    case 'win32':
      return process.arch === 'x64' || process.arch === 'arm64' ? win32Backend : null;
    case 'darwin':
      return process.arch === 'x64' || process.arch === 'arm64' ? darwinBackend : null;
    default:
      return null;
  }
}

/** The backend for this process, or null where lockscope cannot lock yet. */
export const backend: PlatformBackend | null = select();

/** What is unsupported here, for the 'unsupported' error message. */
export const unsupportedMessage: string = unsupportedWhat();
