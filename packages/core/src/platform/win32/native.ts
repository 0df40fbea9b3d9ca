// The only place the Windows backend touches koffi: kernel32 locking calls and libuv's
// uv_get_osfhandle (exported by node.exe) to reach the HANDLE behind a Node fd.
//
// GetLastError: koffi (3.x, Windows) saves the thread's last-error value after every foreign call
// and restores it before the next one, so calling GetLastError through koffi right after the
// failing call returns that call's error even if Node or V8 touched the TEB in between.
// Verified under Wine by scripts/wine/test.mjs ("GetLastError survives Node I/O").
import { koffi } from '../koffi.js';
import {
  GENERIC_READ,
  GENERIC_WRITE,
  FILE_SHARE_READ,
  FILE_SHARE_WRITE,
  FILE_SHARE_DELETE,
  OPEN_ALWAYS,
  OPEN_EXISTING,
  FILE_ATTRIBUTE_NORMAL,
  INVALID_HANDLE_VALUE,
  LOCKFILE_EXCLUSIVE_LOCK,
  LOCKFILE_FAIL_IMMEDIATELY,
  MAX_LOCK_LENGTH,
  OVERLAPPED_OFFSET,
  OVERLAPPED_OFFSET_HIGH,
  OVERLAPPED_SIZE,
} from './constants.js';

// Every symbol bound here returns a C int, uint32_t or intptr_t: a number in JavaScript.
type Fn = (...args: unknown[]) => number;

interface Kernel32 {
  CreateFileW: Fn;
  CloseHandle: Fn;
  LockFileEx: Fn;
  UnlockFileEx: Fn;
  GetLastError: Fn;
  uvGetOsfHandle: Fn | null;
}

let k32: Kernel32 | undefined;

function kernel32(): Kernel32 {
  if (k32) return k32;
  const lib = koffi().load('kernel32.dll');
  // HANDLE as intptr_t: plain numbers, INVALID_HANDLE_VALUE is -1, no external objects to track.
  let uvGetOsfHandle: Fn | null = null;
  try {
    uvGetOsfHandle = koffi().load(process.execPath).func('intptr_t uv_get_osfhandle(int fd)');
  } catch {
    // Embedders that do not export libuv: callers fall back to CreateFileW handles.
  }
  k32 = {
    CreateFileW: lib.func(
      'intptr_t __stdcall CreateFileW(const char16_t *name, uint32_t access, uint32_t share, void *sa, ' +
        'uint32_t disposition, uint32_t flags, intptr_t tmpl)',
    ),
    CloseHandle: lib.func('int __stdcall CloseHandle(intptr_t h)'),
    LockFileEx: lib.func(
      'int __stdcall LockFileEx(intptr_t h, uint32_t flags, uint32_t reserved, uint32_t lenLow, uint32_t lenHigh, void *overlapped)',
    ),
    UnlockFileEx: lib.func(
      'int __stdcall UnlockFileEx(intptr_t h, uint32_t reserved, uint32_t lenLow, uint32_t lenHigh, void *overlapped)',
    ),
    GetLastError: lib.func('uint32_t __stdcall GetLastError(void)'),
    uvGetOsfHandle,
  };
  return k32;
}

/** Result of a native call: 0 on success, else the Win32 error code (GetLastError). */
export type Win32Result = number;

// One OVERLAPPED for every call: handles are synchronous and FAIL_IMMEDIATELY calls complete
// before returning, so nothing keeps a pointer to it after the call.
const overlapped = Buffer.alloc(OVERLAPPED_SIZE);

function setOffset(start: bigint): void {
  overlapped.fill(0);
  overlapped.writeUInt32LE(Number(start & 0xffff_ffffn), OVERLAPPED_OFFSET);
  overlapped.writeUInt32LE(Number(start >> 32n), OVERLAPPED_OFFSET_HIGH);
}

function split(length: bigint): [number, number] {
  const len = length > MAX_LOCK_LENGTH ? MAX_LOCK_LENGTH : length;
  return [Number(len & 0xffff_ffffn), Number(len >> 32n)];
}

/**
 * LockFileEx on a synchronous handle. `wait: false` adds LOCKFILE_FAIL_IMMEDIATELY, so the call
 * never blocks (and never returns ERROR_IO_PENDING, which only overlapped handles produce).
 * A blocking call (`wait: true`) is exposed for completeness and tests; the backend never uses it
 * on the main thread.
 */
export function lockFileEx(handle: number, exclusive: boolean, wait: boolean, start: bigint, length: bigint): Win32Result {
  const k = kernel32();
  const [lo, hi] = split(length);
  setOffset(start);
  const flags = (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0) | (wait ? 0 : LOCKFILE_FAIL_IMMEDIATELY);
  return k.LockFileEx(handle, flags, 0, lo, hi, overlapped) ? 0 : k.GetLastError();
}

/** UnlockFileEx for exactly the range that was locked (Windows requires an exact match). */
export function unlockFileEx(handle: number, start: bigint, length: bigint): Win32Result {
  const k = kernel32();
  const [lo, hi] = split(length);
  setOffset(start);
  return k.UnlockFileEx(handle, 0, lo, hi, overlapped) ? 0 : k.GetLastError();
}

export interface OpenResult {
  handle: number;
  error: Win32Result;
}

/**
 * CreateFileW with every share flag, so a lock file held here never blocks other processes from
 * opening (or deleting/renaming) it: only the byte-range lock excludes them.
 */
export function createFile(
  path: string,
  opts: { create: boolean; write: boolean; /** tests only */ share?: number; /** tests only */ access?: number },
): OpenResult {
  const k = kernel32();
  const access = opts.access ?? (opts.write ? (GENERIC_READ | GENERIC_WRITE) >>> 0 : GENERIC_READ);
  const h = k.CreateFileW(
    path,
    access,
    opts.share ?? FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
    null,
    opts.create ? OPEN_ALWAYS : OPEN_EXISTING,
    FILE_ATTRIBUTE_NORMAL,
    0,
  );
  if (h === INVALID_HANDLE_VALUE || h === 0) return { handle: INVALID_HANDLE_VALUE, error: k.GetLastError() };
  return { handle: h, error: 0 };
}

export function closeHandle(handle: number): Win32Result {
  const k = kernel32();
  return k.CloseHandle(handle) ? 0 : k.GetLastError();
}

/** HANDLE behind a Node (CRT) fd, or -1 when the fd is not open or libuv is not exported. */
export function osfHandle(fd: number): number {
  const f = kernel32().uvGetOsfHandle;
  return f ? f(fd) : INVALID_HANDLE_VALUE;
}

export function hasOsfHandle(): boolean {
  return kernel32().uvGetOsfHandle !== null;
}

export function lastError(): number {
  return kernel32().GetLastError();
}
