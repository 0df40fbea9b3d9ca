// Win32 constants used by the Windows backend. Values from the Windows SDK headers
// (winerror.h, minwinbase.h, fileapi.h, restartmanager.h); checked against mingw-w64's copies.

export const ERROR_SUCCESS = 0;
export const ERROR_FILE_NOT_FOUND = 2;
export const ERROR_PATH_NOT_FOUND = 3;
export const ERROR_TOO_MANY_OPEN_FILES = 4;
export const ERROR_ACCESS_DENIED = 5;
export const ERROR_INVALID_HANDLE = 6;
export const ERROR_NOT_ENOUGH_MEMORY = 8;
export const ERROR_OUTOFMEMORY = 14;
export const ERROR_WRITE_PROTECT = 19;
export const ERROR_SHARING_VIOLATION = 32;
export const ERROR_LOCK_VIOLATION = 33;
export const ERROR_NOT_SUPPORTED = 50;
export const ERROR_INVALID_PARAMETER = 87;
export const ERROR_INVALID_NAME = 123;
export const ERROR_NOT_LOCKED = 158;
export const ERROR_BAD_PATHNAME = 161;
export const ERROR_LOCK_FAILED = 167;
export const ERROR_FILENAME_EXCED_RANGE = 206;
export const ERROR_MORE_DATA = 234;
export const ERROR_DELETE_PENDING = 303;
export const ERROR_OPERATION_ABORTED = 995;
export const ERROR_IO_PENDING = 997;
export const ERROR_CANCELLED = 1223;
export const ERROR_SEM_TIMEOUT = 121;
export const WAIT_TIMEOUT = 258;
export const ERROR_POSSIBLE_DEADLOCK = 1131;
export const ERROR_DIRECTORY = 267;

// LockFileEx dwFlags.
export const LOCKFILE_FAIL_IMMEDIATELY = 0x1;
export const LOCKFILE_EXCLUSIVE_LOCK = 0x2;

// CreateFileW.
export const GENERIC_READ = 0x80000000;
export const GENERIC_WRITE = 0x40000000;
export const FILE_SHARE_READ = 0x1;
export const FILE_SHARE_WRITE = 0x2;
export const FILE_SHARE_DELETE = 0x4;
export const OPEN_EXISTING = 3;
export const OPEN_ALWAYS = 4;
export const FILE_ATTRIBUTE_NORMAL = 0x80;
export const INVALID_HANDLE_VALUE = -1;

/** OVERLAPPED on 64-bit Windows: Internal@0, InternalHigh@8, Offset u32@16, OffsetHigh u32@20, hEvent@24. */
export const OVERLAPPED_SIZE = 32;
export const OVERLAPPED_OFFSET = 16;
export const OVERLAPPED_OFFSET_HIGH = 20;

/** Largest byte count LockFileEx accepts (low and high DWORD both 0xFFFFFFFF). */
export const MAX_LOCK_LENGTH = 0xffff_ffff_ffff_ffffn;

// Restart Manager (restartmanager.h).
/** RmStartSession's key buffer: CCH_RM_SESSION_KEY (32) + 1 WCHARs. */
export const RM_SESSION_KEY_WCHARS = 33;
export const CCH_RM_MAX_APP_NAME = 255;
export const CCH_RM_MAX_SVC_NAME = 63;
/**
 * RM_PROCESS_INFO, 668 bytes, 4-byte aligned:
 *   RM_UNIQUE_PROCESS Process { DWORD dwProcessId @0; FILETIME ProcessStartTime @4 (low @4, high @8) }
 *   WCHAR strAppName[256]          @12  (512 bytes)
 *   WCHAR strServiceShortName[64]  @524 (128 bytes)
 *   RM_APP_TYPE ApplicationType    @652 (enum, 4 bytes)
 *   ULONG AppStatus                @656
 *   DWORD TSSessionId              @660
 *   BOOL bRestartable              @664
 * The fake rstrtmgr.dll test fixture static-asserts every offset with the mingw-w64 header.
 */
export const RM_PROCESS_INFO = {
  size: 668,
  pid: 0,
  startLow: 4,
  startHigh: 8,
  appName: 12,
  serviceName: 524,
  appType: 652,
  appStatus: 656,
  tsSessionId: 660,
  restartable: 664,
} as const;

export const RM_APP_TYPES: Readonly<Record<number, string>> = {
  0: 'unknown',
  1: 'main-window',
  2: 'other-window',
  3: 'service',
  4: 'explorer',
  5: 'console',
  1000: 'critical',
};

/** FILETIME (100 ns ticks since 1601-01-01) of the Unix epoch. */
export const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;
