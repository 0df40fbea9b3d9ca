// macOS struct flock (24 bytes, no padding), encoded into a caller-owned Buffer so the hot path
// allocates nothing.
import { FLOCK, SEEK_SET } from './constants.js';

export function encodeFlock(buf: Buffer, type: number, start: number, length: number): Buffer {
  buf.writeBigInt64LE(BigInt(start), FLOCK.start);
  buf.writeBigInt64LE(BigInt(length), FLOCK.len);
  // OFD commands require l_pid 0 on input.
  buf.writeInt32LE(0, FLOCK.pid);
  buf.writeInt16LE(type, FLOCK.type);
  buf.writeInt16LE(SEEK_SET, FLOCK.whence);
  return buf;
}

export interface DecodedFlock {
  type: number;
  whence: number;
  start: number;
  length: number;
  pid: number;
}

export function decodeFlock(buf: Buffer): DecodedFlock {
  return {
    start: Number(buf.readBigInt64LE(FLOCK.start)),
    length: Number(buf.readBigInt64LE(FLOCK.len)),
    pid: buf.readInt32LE(FLOCK.pid),
    type: buf.readInt16LE(FLOCK.type),
    whence: buf.readInt16LE(FLOCK.whence),
  };
}
