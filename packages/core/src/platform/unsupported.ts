/**
 * The message for a platform or architecture without a backend (the engine sees
 * `backend === null` and fails every call with reason 'unsupported').
 */
export function unsupportedWhat(): string {
  return `file locking on ${process.platform}/${process.arch} (lockscope has backends for Linux, macOS and Windows on x64 and arm64)`;
}
