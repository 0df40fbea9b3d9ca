// macOS constants and struct layouts (xnu bsd/sys/fcntl.h, sys/file.h, sys/errno.h,
// sys/proc_info.h). Untested on a Mac here: test/darwin-*.test.ts checks the encoders and
// decoders against these documented offsets only.

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

export const F_GETLK = 7;
export const F_SETLK = 8;
export const F_SETLKW = 9;
export const F_SETLKWTIMEOUT = 10;
export const F_OFD_SETLK = 90;
export const F_OFD_SETLKW = 91;
export const F_OFD_GETLK = 92;

export const F_RDLCK = 1;
export const F_UNLCK = 2;
export const F_WRLCK = 3;
export const SEEK_SET = 0;

export const O_RDONLY = 0x0;
export const O_RDWR = 0x2;
export const O_CREAT = 0x200;
export const O_CLOEXEC = 0x1000000;
export const O_NONBLOCK = 0x4;
export const O_NOCTTY = 0x20000;
/** The flags above, for lockOpenFlags (platform/posix.ts). */
export const OPEN_FLAGS = { O_RDONLY, O_RDWR, O_CREAT, O_CLOEXEC, O_NONBLOCK, O_NOCTTY } as const;

export const EINTR = 4;
export const EACCES = 13;
export const EAGAIN = 35;
export const EINVAL = 22;
export const ECANCELED = 89;

/** struct flock: l_start i64 @0, l_len i64 @8, l_pid i32 @16, l_type i16 @20, l_whence i16 @22. */
export const FLOCK = { size: 24, start: 0, len: 8, pid: 16, type: 20, whence: 22 } as const;

// libproc
export const PROC_PIDLISTFDS = 1;
export const PROC_PIDTBSDINFO = 3;
export const PROC_PIDFDVNODEPATHINFO = 2;
export const PROX_FDTYPE_VNODE = 1;
/** struct proc_fdinfo: proc_fd i32 @0, proc_fdtype u32 @4. */
export const PROC_FDINFO = { size: 8, fd: 0, type: 4 } as const;
/**
 * struct vnode_fdinfowithpath (1200 bytes) = proc_fileinfo (24) + vnode_info_path (1176):
 * fi_openflags u32 @0, fi_status u32 @4, fi_offset i64 @8, fi_type i32 @16, fi_guardflags @20;
 * vinfo_stat at 24: vst_dev u32 @24, vst_mode u16 @28, vst_nlink u16 @30, vst_ino u64 @32,
 * vst_uid @40, vst_gid @44, ... vst_size i64 @112; vi_type @160, vi_fsid @168; vip_path char[1024] @176.
 */
export const VNODE_PATH_INFO = {
  size: 1200,
  openFlags: 0,
  status: 4,
  offset: 8,
  dev: 24,
  mode: 28,
  ino: 32,
  uid: 40,
  size_: 112,
  path: 176,
  pathMax: 1024,
} as const;
/**
 * struct proc_bsdinfo (136 bytes): pbi_pid u32 @12, pbi_ppid @16, pbi_uid @20, pbi_comm char[16]
 * @48, pbi_name char[32] @64, pbi_start_tvsec u64 @120, pbi_start_tvusec u64 @128.
 */
export const BSD_INFO = {
  size: 136,
  pid: 12,
  ppid: 16,
  uid: 20,
  comm: 48,
  commMax: 16,
  name: 64,
  nameMax: 32,
  startSec: 120,
  startUsec: 128,
} as const;
/** fi_openflags bits (sys/fcntl.h FREAD/FWRITE). */
export const FREAD = 0x1;
export const FWRITE = 0x2;
