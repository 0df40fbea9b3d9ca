"""Foreign lock holder/tester for lockscope tests.

usage: lock-holder.py MODE METHOD SHARE PATH [START LENGTH]
  MODE   hold: block until granted, print "ready", hold until stdin closes or says "release",
               then print "released"
         try:  one non-blocking attempt, print "locked" or "busy", exit
  METHOD flock (fcntl.flock) | lockf (fcntl.lockf, POSIX) | ofd (fcntl.fcntl F_OFD_SETLK[W])
  SHARE  ex | sh
"""
import errno
import fcntl
import os
import struct
import sys

mode, method, share, path = sys.argv[1:5]
start = int(sys.argv[5]) if len(sys.argv) > 5 else 0
length = int(sys.argv[6]) if len(sys.argv) > 6 else 0
ex = share == "ex"
block = mode == "hold"

fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def acquire():
    if method == "flock":
        fcntl.flock(fd, (fcntl.LOCK_EX if ex else fcntl.LOCK_SH) | (0 if block else fcntl.LOCK_NB))
    elif method == "lockf":
        fcntl.lockf(fd, (fcntl.LOCK_EX if ex else fcntl.LOCK_SH) | (0 if block else fcntl.LOCK_NB), length, start, 0)
    elif method == "ofd":
        # struct flock: l_type h, l_whence h, l_start q, l_len q, l_pid i (must be 0 for OFD)
        arg = struct.pack("hhqqi4x", fcntl.F_WRLCK if ex else fcntl.F_RDLCK, 0, start, length, 0)
        fcntl.fcntl(fd, fcntl.F_OFD_SETLKW if block else fcntl.F_OFD_SETLK, arg)
    else:
        raise SystemExit("bad method " + method)


try:
    acquire()
except OSError as e:
    if not block and e.errno in (errno.EAGAIN, errno.EACCES):
        print("busy", flush=True)
        sys.exit(0)
    raise

if not block:
    print("locked", flush=True)
    sys.exit(0)

print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "release":
        break
print("released", flush=True)
