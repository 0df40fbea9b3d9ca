// libproc: which processes have a file open on macOS. macOS keeps no table of lock owners (no
// /proc/locks, and F_GETLK names one POSIX holder at most), so results say who has the file open,
// never who holds the lock.
import { statSync } from 'node:fs';
import {
  BSD_INFO,
  FREAD,
  FWRITE,
  PROC_FDINFO,
  PROC_PIDFDVNODEPATHINFO,
  PROC_PIDLISTFDS,
  PROC_PIDTBSDINFO,
  PROX_FDTYPE_VNODE,
  VNODE_PATH_INFO,
} from './constants.js';
import { libc, type DarwinLibc } from './libc.js';

export interface FdEntry {
  fd: number;
  type: number;
}

/** PROC_PIDLISTFDS result: `bytes` bytes of 8-byte proc_fdinfo entries. */
export function decodeFdList(buf: Buffer, bytes: number): FdEntry[] {
  const n = Math.floor(Math.min(bytes, buf.length) / PROC_FDINFO.size);
  const out: FdEntry[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * PROC_FDINFO.size;
    out.push({ fd: buf.readInt32LE(o + PROC_FDINFO.fd), type: buf.readUInt32LE(o + PROC_FDINFO.type) });
  }
  return out;
}

function cstring(buf: Buffer, offset: number, max: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('utf8', offset, end < 0 || end > offset + max ? offset + max : end);
}

export interface VnodePathInfo {
  openFlags: number;
  access: 'read' | 'write' | 'read-write' | 'none';
  dev: number;
  ino: bigint;
  mode: number;
  size: bigint;
  path: string;
}

/** PROC_PIDFDVNODEPATHINFO result (struct vnode_fdinfowithpath, 1200 bytes). */
export function decodeVnodePathInfo(buf: Buffer): VnodePathInfo {
  const L = VNODE_PATH_INFO;
  if (buf.length < L.size) throw new RangeError(`vnode_fdinfowithpath needs ${L.size} bytes, got ${buf.length}`);
  const flags = buf.readUInt32LE(L.openFlags);
  const r = (flags & FREAD) !== 0;
  const w = (flags & FWRITE) !== 0;
  return {
    openFlags: flags,
    access: r && w ? 'read-write' : w ? 'write' : r ? 'read' : 'none',
    dev: buf.readUInt32LE(L.dev),
    ino: buf.readBigUInt64LE(L.ino),
    mode: buf.readUInt16LE(L.mode),
    size: buf.readBigInt64LE(L.size_),
    path: cstring(buf, L.path, L.pathMax),
  };
}

export interface BsdInfo {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  name: string;
  /** Start time in µs since the epoch: with the PID, a reuse-safe identity. */
  startUs: bigint;
}

/** PROC_PIDTBSDINFO result (struct proc_bsdinfo, 136 bytes). */
export function decodeBsdInfo(buf: Buffer): BsdInfo {
  const L = BSD_INFO;
  if (buf.length < L.size) throw new RangeError(`proc_bsdinfo needs ${L.size} bytes, got ${buf.length}`);
  return {
    pid: buf.readUInt32LE(L.pid),
    ppid: buf.readUInt32LE(L.ppid),
    uid: buf.readUInt32LE(L.uid),
    comm: cstring(buf, L.comm, L.commMax),
    name: cstring(buf, L.name, L.nameMax),
    startUs: buf.readBigUInt64LE(L.startSec) * 1_000_000n + buf.readBigUInt64LE(L.startUsec),
  };
}

export interface Opener {
  pid: number;
  fd: number;
  access: VnodePathInfo['access'];
  /** `${pid}:${startUs}` */
  identity: string;
  command: string;
  /** From PROC_PIDTBSDINFO; null when it could not be read. */
  bsd: BsdInfo | null;
}

export interface OpenersResult {
  openers: Opener[];
  /** PIDs whose fds could not be read (other users' processes without privileges). */
  denied: number;
  complete: boolean;
}

/** Every process that has `path` open (matched by device and inode, not by name). */
export function listOpeners(path: string, c: DarwinLibc = libc()): OpenersResult {
  const st = statSync(path, { bigint: true });
  const dev = Number(BigInt.asUintN(32, st.dev));
  const ino = st.ino;
  const count = c.proc_listallpids(null, 0);
  const pidBuf = Buffer.alloc(Math.max(count + 64, 64) * 4);
  const got = c.proc_listallpids(pidBuf, pidBuf.length);
  const info = Buffer.alloc(VNODE_PATH_INFO.size);
  const bsd = Buffer.alloc(BSD_INFO.size);
  const openers: Opener[] = [];
  let denied = 0;
  for (let i = 0; i < got; i++) {
    const pid = pidBuf.readInt32LE(i * 4);
    if (pid <= 0) continue;
    const need = c.proc_pidinfo(pid, PROC_PIDLISTFDS, 0n, null, 0);
    if (need <= 0) {
      denied++;
      continue;
    }
    const fdBuf = Buffer.alloc(need + 32 * PROC_FDINFO.size);
    const bytes = c.proc_pidinfo(pid, PROC_PIDLISTFDS, 0n, fdBuf, fdBuf.length);
    if (bytes <= 0) {
      denied++;
      continue;
    }
    let bsdInfo: BsdInfo | null = null;
    for (const e of decodeFdList(fdBuf, bytes)) {
      if (e.type !== PROX_FDTYPE_VNODE) continue;
      if (c.proc_pidfdinfo(pid, e.fd, PROC_PIDFDVNODEPATHINFO, info, info.length) < VNODE_PATH_INFO.size) continue;
      const v = decodeVnodePathInfo(info);
      if (v.dev !== dev || v.ino !== ino) continue;
      if (!bsdInfo && c.proc_pidinfo(pid, PROC_PIDTBSDINFO, 0n, bsd, bsd.length) >= BSD_INFO.size) bsdInfo = decodeBsdInfo(bsd);
      openers.push({
        pid,
        fd: e.fd,
        access: v.access,
        identity: `${pid}:${bsdInfo?.startUs ?? 0n}`,
        command: bsdInfo ? bsdInfo.name || bsdInfo.comm : '',
        bsd: bsdInfo,
      });
    }
  }
  return { openers, denied, complete: denied === 0 };
}
