/**
 * Placeholder until a platform gets its own backend (platform/darwin, platform/win32): the engine
 * sees `backend === null` and fails every call with reason 'unsupported' and this message.
 */
export function unsupportedWhat(): string {
  return 'file locking (lockscope has a backend for Linux x64/arm64 only so far)';
}
