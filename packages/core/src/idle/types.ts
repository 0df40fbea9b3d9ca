import type { RecordHolder, RecordIdleAccess, RecordIdleChange, RecordIdleChangeType } from '../record/index.js';

/** After a rename of the file: watch the new file at the path (`'path'`), or keep to the renamed inode (`'inode'`). */
export type IdleFollow = 'path' | 'inode';

export interface WaitIdleOptions {
  /** How long (ms) the file must stay without writers and without changes. Default 1000. */
  quietMs?: number;
  /** Give up after this many ms (LockError, reason 'timeout'). Default: wait forever. */
  timeout?: number;
  /** Give up when aborted (LockError, reason 'aborted'). */
  signal?: AbortSignal;
  /** Default `'path'`. */
  follow?: IdleFollow;
  /** Whether this process's own fds and locks count as writers. Default false. */
  self?: boolean;
}

export interface IdleWriter extends RecordHolder {
  /** 'w'/'rw': fd open for writing; 'mmap': shared writable map (fd null); 'lock': holds an exclusive lock through a read-only fd. */
  access: IdleAccess;
  /** When it was first and last seen writing (ms since the epoch). */
  firstSeenAt: number;
  lastSeenAt: number;
  /** How long it was seen writing: from first sight until it was found gone (ms). */
  seenMs: number;
}

/** See RecordIdleChange (record/index.ts): renames, rotations, truncations, deletion. */
export type IdleChange = RecordIdleChange;
export type IdleChangeType = RecordIdleChangeType;
export type IdleAccess = RecordIdleAccess;

export interface IdleResult {
  /** Absolute path as given. */
  path: string;
  /** The file that was found idle (after a rotation with follow 'path', the new one). */
  dev: number;
  ino: number;
  size: number;
  /** Since when it has been idle (ms since the epoch): the end of the last write, writer or change seen. */
  idleSince: number;
  /** How long waitIdle waited (ms). */
  waitedMs: number;
  /** Every process seen writing while waiting, in the order first seen. */
  writers: IdleWriter[];
  /** Renames, rotations, truncations seen while waiting (never taken for idleness). */
  changes: IdleChange[];
  /** Content or metadata changes seen (batches of inotify events, or stat differences). */
  modifications: number;
  /** false when some processes could not be inspected (another user's, without root): a writer among them is not seen. */
  complete: boolean;
  /** 'inotify', or 'stat' when inotify was not available (stat polling). */
  detection: 'inotify' | 'stat';
}
