// macOS encoders and decoders against the offsets documented in xnu's headers
// (sys/fcntl.h, sys/proc_info.h). This machine cannot run macOS code: every test here is
// "(mocked: macOS not available here)", on hand-built buffers.
import { describe, expect, it } from 'vitest';
import { encodeFlock, decodeFlock } from '../dist/platform/darwin/flock.js';
import * as C from '../dist/platform/darwin/constants.js';
import { decodeFdList, decodeVnodePathInfo, decodeBsdInfo, listOpeners } from '../dist/platform/darwin/libproc.js';
import { bindLibc, fcntlLock, openFile } from '../dist/platform/darwin/libc.js';
import { probeDarwin } from '../dist/platform/darwin/probe.js';
import { openSync, closeSync, mkdtempSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const M = '(mocked: macOS not available here)';

describe(`macOS struct flock ${M}`, () => {
  it('encodes the 24-byte layout: l_start@0 l_len@8 l_pid@16 l_type@20 l_whence@22', () => {
    const buf = Buffer.alloc(24, 0xee);
    encodeFlock(buf, C.F_WRLCK, 0x1_0000_0002, 7);
    expect(buf.readBigInt64LE(0)).toBe(0x1_0000_0002n);
    expect(buf.readBigInt64LE(8)).toBe(7n);
    expect(buf.readInt32LE(16)).toBe(0); // OFD needs l_pid 0
    expect(buf.readInt16LE(20)).toBe(3);
    expect(buf.readInt16LE(22)).toBe(0);
    expect(C.FLOCK.size).toBe(24);
  });
  it('decodes an F_GETLK answer', () => {
    const buf = Buffer.alloc(24);
    buf.writeBigInt64LE(10n, 0);
    buf.writeBigInt64LE(0n, 8);
    buf.writeInt32LE(4321, 16);
    buf.writeInt16LE(C.F_RDLCK, 20);
    expect(decodeFlock(buf)).toEqual({ start: 10, length: 0, pid: 4321, type: 1, whence: 0 });
  });
  it('uses the macOS constants, not Linux ones', () => {
    expect([C.F_GETLK, C.F_SETLK, C.F_SETLKW, C.F_SETLKWTIMEOUT]).toEqual([7, 8, 9, 10]);
    expect([C.F_OFD_SETLK, C.F_OFD_SETLKW, C.F_OFD_GETLK]).toEqual([90, 91, 92]);
    expect([C.F_RDLCK, C.F_UNLCK, C.F_WRLCK]).toEqual([1, 2, 3]);
    expect([C.EAGAIN, C.O_CREAT, C.O_CLOEXEC]).toEqual([35, 0x200, 0x1000000]);
  });
});

describe(`libproc decoders ${M}`, () => {
  it('PROC_PIDLISTFDS: 8-byte proc_fdinfo entries, partial tail ignored', () => {
    const buf = Buffer.alloc(8 * 3 + 4);
    [
      [0, 1],
      [3, 1],
      [7, 2],
    ].forEach(([fd, type], i) => {
      buf.writeInt32LE(fd!, i * 8);
      buf.writeUInt32LE(type!, i * 8 + 4);
    });
    expect(decodeFdList(buf, buf.length)).toEqual([
      { fd: 0, type: 1 },
      { fd: 3, type: 1 },
      { fd: 7, type: 2 },
    ]);
    expect(decodeFdList(buf, 8)).toEqual([{ fd: 0, type: 1 }]);
  });
  it('PROC_PIDFDVNODEPATHINFO: vnode_fdinfowithpath (1200 bytes): flags@0 dev@24 mode@28 ino@32 size@112 path@176', () => {
    const buf = Buffer.alloc(1200);
    buf.writeUInt32LE(C.FREAD | C.FWRITE, 0);
    buf.writeUInt32LE(0x1000012, 24);
    buf.writeUInt16LE(0o100644, 28);
    buf.writeBigUInt64LE(0x1_2345_6789n, 32);
    buf.writeBigInt64LE(4096n, 112);
    buf.write('/Users/ü/app.lock', 176, 'utf8');
    expect(decodeVnodePathInfo(buf)).toEqual({
      openFlags: 3,
      access: 'read-write',
      dev: 0x1000012,
      ino: 0x1_2345_6789n,
      mode: 0o100644,
      size: 4096n,
      path: '/Users/ü/app.lock',
    });
    buf.writeUInt32LE(C.FREAD, 0);
    expect(decodeVnodePathInfo(buf).access).toBe('read');
    buf.fill(0x61, 176, 1200); // a path that fills the whole field without a NUL
    expect(decodeVnodePathInfo(buf).path.length).toBe(1024);
    expect(() => decodeVnodePathInfo(Buffer.alloc(1199))).toThrow(RangeError);
  });
  it('PROC_PIDTBSDINFO: proc_bsdinfo (136 bytes): pid@12 ppid@16 uid@20 comm@48 name@64 start@120/128', () => {
    const buf = Buffer.alloc(136);
    buf.writeUInt32LE(501, 12);
    buf.writeUInt32LE(1, 16);
    buf.writeUInt32LE(502, 20);
    buf.write('node', 48);
    buf.write('Node Helper', 64);
    buf.writeBigUInt64LE(1_700_000_000n, 120);
    buf.writeBigUInt64LE(123_456n, 128);
    expect(decodeBsdInfo(buf)).toEqual({ pid: 501, ppid: 1, uid: 502, comm: 'node', name: 'Node Helper', startUs: 1_700_000_000_123_456n });
  });
  it('listOpeners matches by device and inode through a scripted libproc', () => {
    // Scripted libproc calls, fed with this file's real (dev, ino): exercises the scan, not macOS.
    const dir = mkdtempSync(join(tmpdir(), 'lockscope-darwin-'));
    const file = join(dir, 'x.lock');
    writeFileSync(file, '');
    const st = statSync(file, { bigint: true });
    const fake = {
      proc_listallpids: (buf: Buffer | null) => {
        if (buf) [10, 20].forEach((p, i) => buf.writeInt32LE(p, i * 4));
        return 2;
      },
      proc_pidinfo: (pid: number, flavor: number, _a: bigint, buf: Buffer | null) => {
        if (pid === 20) return 0; // another user's process: EPERM
        if (flavor === C.PROC_PIDLISTFDS) {
          if (!buf) return 16;
          buf.writeInt32LE(4, 0);
          buf.writeUInt32LE(C.PROX_FDTYPE_VNODE, 4);
          buf.writeInt32LE(5, 8);
          buf.writeUInt32LE(C.PROX_FDTYPE_VNODE, 12);
          return 16;
        }
        buf!.writeUInt32LE(10, 12);
        buf!.write('holder', 64);
        buf!.writeBigUInt64LE(5n, 120);
        return 136;
      },
      proc_pidfdinfo: (_pid: number, fd: number, _f: number, buf: Buffer) => {
        buf.fill(0);
        buf.writeUInt32LE(C.FWRITE, 0);
        buf.writeUInt32LE(Number(BigInt.asUintN(32, st.dev)), 24);
        buf.writeBigUInt64LE(fd === 4 ? st.ino : st.ino + 1n, 32);
        return 1200;
      },
    };
    const r = listOpeners(file, fake as never);
    expect(r).toMatchObject({
      openers: [{ pid: 10, fd: 4, access: 'write', identity: '10:5000000', command: 'holder' }],
      denied: 1,
      complete: false,
    });
    const p = probeDarwin(file, fake as never);
    expect(p).toMatchObject({
      locks: [],
      complete: false,
      incomplete: ['no-lock-owner-api', 'unreadable'],
      openers: [{ pid: 10, command: 'holder', startTime: 5000, fds: [{ fd: 4, access: 'w' }] }],
      platform: 'darwin',
    });
    expect(p.limitation).toMatch(/no table of lock owners/);
  });
});

describe(`macOS koffi declarations ${M}`, () => {
  it('variadic open/fcntl declarations bind and call through glibc, which has the same libc symbols', () => {
    const c = bindLibc('libc.so.6', false);
    const dir = mkdtempSync(join(tmpdir(), 'lockscope-darwin-'));
    const fd = openSync(join(dir, 'f'), 'w');
    try {
      // F_GETFD (1 on both systems) through the variadic path with an explicit int.
      expect(c.fcntl(fd, 1, 'int', 0)).toBeGreaterThanOrEqual(0);
      // Linux F_OFD_GETLK (36) with a Linux-sized struct: proves a Buffer crosses as `void *` variadic.
      const lk = Buffer.alloc(32);
      lk.writeInt16LE(1, 0); // Linux F_WRLCK
      expect(fcntlLock(c, fd, 36, lk)).toBe(0);
      expect(lk.readInt16LE(0)).toBe(2); // F_UNLCK: nobody holds it
      // open(path, flags, ...) with the mode as a variadic int (Linux O_RDWR|O_CREAT|O_CLOEXEC values here).
      const created = join(dir, 'created');
      const fd2 = openFile(c, created, 0o2 | 0o100 | 0o2000000, 0o640);
      expect(fd2).toBeGreaterThanOrEqual(0);
      expect(c.close(fd2)).toBe(0);
      expect(statSync(created).mode & 0o777).toBe(0o640 & ~process.umask());
    } finally {
      closeSync(fd);
    }
  });
});
