/**
 * Everything about lockscope's errors, as @lockscope/core exports it. Split by concern:
 * errors/classes.ts (the classes), errors/errno.ts (POSIX table), errors/win32.ts (Win32 table),
 * errors/factories.ts (one set of factories for LockError and ProbeError).
 */
export { ERROR_REASONS, type ErrorReason, type LockKind } from './vocabulary.js';
export { errnoCode, errnoNumber, classifyErrno, type ErrnoClassification } from './errors/errno.js';
export { win32ErrorCode, classifyWin32Error } from './errors/win32.js';
export { LockscopeError, LockError, ProbeError, type LockscopeErrorInit, type LockErrorInit } from './errors/classes.js';
export { lockErrorFromErrno, lockErrorFromWin32, invalidArgument, unsupportedPlatform } from './errors/factories.js';
