// Windows pieces that are plain data and run anywhere: RM_PROCESS_INFO decoding against the
// documented layout, Win32 error classification, the Win32 -> errno mapping the engine sees.
// The real Windows behaviour (LockFileEx between processes, Restart Manager through koffi) runs
// under Wine: scripts/wine/test.mjs.
import { describe, expect, it } from 'vitest';
import { classifyWin32Error, lockErrorFromWin32, win32ErrorCode, classifyErrno } from '@lockscope/core';
import { decodeRmProcessInfo, filetimeToUnixMs } from '../dist/platform/win32/restart-manager.js';
import { RM_PROCESS_INFO } from '../dist/platform/win32/constants.js';
import { win32ToErrno } from '../dist/platform/win32/index.js';

/** One RM_PROCESS_INFO written field by field at the header's offsets (restartmanager.h). */
function record(
  buf: Buffer,
  i: number,
  f: { pid: number; ft: bigint; app: string; svc: string; type: number; status: number; session: number; restartable: number },
) {
  const o = i * 668;
  buf.writeUInt32LE(f.pid, o);
  buf.writeUInt32LE(Number(f.ft & 0xffffffffn), o + 4);
  buf.writeUInt32LE(Number(f.ft >> 32n), o + 8);
  buf.write(f.app, o + 12, 512, 'utf16le');
  buf.write(f.svc, o + 524, 128, 'utf16le');
  buf.writeInt32LE(f.type, o + 652);
  buf.writeUInt32LE(f.status, o + 656);
  buf.writeUInt32LE(f.session, o + 660);
  buf.writeInt32LE(f.restartable, o + 664);
}

describe('RM_PROCESS_INFO decoding (hand-built buffers; the same decoder runs against a fake rstrtmgr.dll under Wine)', () => {
  it('is 668 bytes with the documented field offsets', () => {
    // The header's fields in order with their sizes (all 4-byte aligned): offsets are the running sum.
    const fields = [
      ['pid', 4], // DWORD dwProcessId
      ['startLow', 4], // FILETIME ProcessStartTime
      ['startHigh', 4],
      ['appName', 2 * 256], // WCHAR strAppName[CCH_RM_MAX_APP_NAME + 1]
      ['serviceName', 2 * 64], // WCHAR strServiceShortName[CCH_RM_MAX_SVC_NAME + 1]
      ['appType', 4], // RM_APP_TYPE
      ['appStatus', 4], // ULONG
      ['tsSessionId', 4], // DWORD
      ['restartable', 4], // BOOL
    ] as const;
    let size = 0;
    const layout: Record<string, number> = {};
    for (const [name, bytes] of fields) {
      layout[name] = size;
      size += bytes;
    }
    expect(RM_PROCESS_INFO).toEqual({ size: 668, ...layout });
    expect(size).toBe(668);
  });

  it('decodes PID, FILETIME start, names, type, status, session and restartable', () => {
    const buf = Buffer.alloc(668 * 2);
    const ft = 133486382456780000n; // 2024-01-02T03:04:05.678Z
    record(buf, 0, { pid: 1234, ft, app: 'notepad.exe', svc: '', type: 1, status: 1, session: 2, restartable: 0 });
    record(buf, 1, {
      pid: 0xfffffffe,
      ft: ft + 10_000_000n,
      app: 'Café ☕ 𝄞',
      svc: 'Spooler',
      type: 3,
      status: 0x12,
      session: 0xffffffff,
      restartable: 1,
    });
    const [a, b] = decodeRmProcessInfo(buf, 2);
    expect(a).toMatchObject({
      pid: 1234,
      startFiletime: ft,
      appName: 'notepad.exe',
      serviceName: null,
      appType: 'main-window',
      appStatus: 1,
      tsSessionId: 2,
      restartable: false,
    });
    expect(new Date(a!.startTime!).toISOString()).toBe('2024-01-02T03:04:05.678Z');
    expect(a!.identity).toBe('1234:133486382456780000');
    expect(b).toMatchObject({
      pid: 0xfffffffe,
      appName: 'Café ☕ 𝄞',
      serviceName: 'Spooler',
      appType: 'service',
      appStatus: 0x12,
      tsSessionId: 0xffffffff,
      restartable: true,
    });
    expect(b!.startTime! - a!.startTime!).toBe(1000);
  });

  it('never reads past a name field that has no NUL terminator', () => {
    const buf = Buffer.alloc(668);
    record(buf, 0, { pid: 1, ft: 0n, app: 'x'.repeat(256), svc: 'y'.repeat(64), type: 1000, status: 0, session: 0, restartable: 0 });
    const [r] = decodeRmProcessInfo(buf, 1);
    expect(r!.appName).toBe('x'.repeat(256));
    expect(r!.serviceName).toBe('y'.repeat(64));
    expect(r!.appType).toBe('critical');
    expect(r!.startTime).toBeNull();
  });

  it('rejects a count the buffer cannot hold; unknown app types are named, not dropped', () => {
    expect(() => decodeRmProcessInfo(Buffer.alloc(667), 1)).toThrow(RangeError);
    expect(() => decodeRmProcessInfo(Buffer.alloc(668), -1)).toThrow(RangeError);
    const buf = Buffer.alloc(668);
    buf.writeInt32LE(77, 652);
    expect(decodeRmProcessInfo(buf, 1)[0]!.appType).toBe('unknown(77)');
    expect(filetimeToUnixMs(116444736000000000n)).toBe(0);
  });
});

describe('Win32 error classification', () => {
  it('33 and 32 are contention; 5 is contention from LockFileEx, retryable permission from CreateFileW', () => {
    expect(classifyWin32Error('LockFileEx', 33)).toMatchObject({
      code: 'ERROR_LOCK_VIOLATION',
      errno: 33,
      reason: 'contended',
      retry: true,
    });
    expect(classifyWin32Error('CreateFileW', 32)).toMatchObject({ code: 'ERROR_SHARING_VIOLATION', reason: 'contended', retry: true });
    expect(classifyWin32Error('LockFileEx', 5)).toMatchObject({ reason: 'contended', retry: true });
    expect(classifyWin32Error('CreateFileW', 5)).toMatchObject({ reason: 'permission', retry: true });
  });
  it('997 is never a success or contention; unlocking a range not locked is an argument error (158 on Windows, 33 on Wine)', () => {
    expect(classifyWin32Error('LockFileEx', 997)).toMatchObject({ code: 'ERROR_IO_PENDING', reason: 'io', retry: false });
    expect(classifyWin32Error('UnlockFileEx', 158).reason).toBe('invalid-argument');
    expect(classifyWin32Error('UnlockFileEx', 33).reason).toBe('invalid-argument');
  });
  it('not-found, invalid names, cancellation, unknown codes', () => {
    expect(classifyWin32Error('CreateFileW', 2).reason).toBe('not-found');
    expect(classifyWin32Error('CreateFileW', 3).reason).toBe('not-found');
    expect(classifyWin32Error('CreateFileW', 123).reason).toBe('invalid-argument');
    expect(classifyWin32Error('LockFileEx', 995).reason).toBe('aborted');
    expect(classifyWin32Error('LockFileEx', 4242)).toMatchObject({ code: 'WIN32_4242', reason: 'io' });
    expect(win32ErrorCode(234)).toBe('ERROR_MORE_DATA');
  });
  it('lockErrorFromWin32 carries code, errno, syscall, path and reason', () => {
    const e = lockErrorFromWin32('LockFileEx', 33, 'C:\\x.lock', 'flock');
    expect(e).toMatchObject({
      name: 'LockError',
      code: 'ERROR_LOCK_VIOLATION',
      errno: 33,
      syscall: 'LockFileEx',
      path: 'C:\\x.lock',
      reason: 'contended',
      kind: 'flock',
    });
    expect(e.message).toContain('ERROR_LOCK_VIOLATION (33)');
  });
  it("the backend's Win32 -> errno mapping gives the engine the same reason classifyWin32Error documents", () => {
    for (const [code, syscall] of [
      [33, 'LockFileEx'],
      [32, 'LockFileEx'],
      [5, 'LockFileEx'],
      [158, 'UnlockFileEx'],
      [33, 'UnlockFileEx'],
      [6, 'LockFileEx'],
      [167, 'LockFileEx'],
      [995, 'LockFileEx'],
    ] as const) {
      const viaErrno = classifyErrno(syscall, win32ToErrno(code, syscall)).reason;
      const direct = classifyWin32Error(syscall, code).reason;
      expect([code, syscall, viaErrno]).toEqual([code, syscall, direct]);
    }
  });
});
