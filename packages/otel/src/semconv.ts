/**
 * Attribute and metric names. The `file.*` and `process.*` ones are copied from
 * @opentelemetry/semantic-conventions 1.45 `/incubating` (its docs ask not to import that entry
 * point at run time: it changes in minor releases). No convention exists yet for lock waits, so
 * those live under `lockscope.*`.
 */
export const ATTR_FILE_PATH = 'file.path' as const;
export const ATTR_FILE_INODE = 'file.inode' as const;
export const ATTR_FILE_LOCK_MECHANISM = 'file.lock.mechanism' as const;
export const ATTR_FILE_LOCK_TYPE = 'file.lock.type' as const;
export const FILE_LOCK_TYPE_VALUE_READ = 'read' as const;
export const FILE_LOCK_TYPE_VALUE_WRITE = 'write' as const;
export const ATTR_PROCESS_PID = 'process.pid' as const;
export const ATTR_PROCESS_COMMAND = 'process.command' as const;
/** Usually a resource attribute; set on the span too so a span read alone names its host. */
export const ATTR_HOST_NAME = 'host.name' as const;
/** Stable attribute. */
export const ATTR_ERROR_TYPE = 'error.type' as const;

export const ATTR_LOCK_WAIT_DURATION = 'lockscope.lock.wait.duration' as const;
export const ATTR_LOCK_CONTENDED = 'lockscope.lock.contended' as const;
export const ATTR_LOCK_OUTCOME = 'lockscope.lock.outcome' as const;
export const ATTR_LOCK_LABEL = 'lockscope.lock.label' as const;
export const ATTR_LOCK_SYNC = 'lockscope.lock.sync' as const;
export const ATTR_LOCK_RANGE_START = 'lockscope.lock.range.start' as const;
export const ATTR_LOCK_RANGE_LENGTH = 'lockscope.lock.range.length' as const;
export const ATTR_LOCK_HOLDER_PIDS = 'lockscope.lock.holder.pids' as const;
export const ATTR_LOCK_HOLDER_COMMANDS = 'lockscope.lock.holder.commands' as const;
export const ATTR_LOCK_HOLDERS_COMPLETE = 'lockscope.lock.holders.complete' as const;
/** The record's `error` on the contention event: what refused the lock attempt (the operation goes on, so not `error.type`). */
export const ATTR_ERROR_CODE = 'lockscope.error.code' as const;
export const ATTR_ERROR_ERRNO = 'lockscope.error.errno' as const;
export const ATTR_ERROR_SYSCALL = 'lockscope.error.syscall' as const;
export const ATTR_ERROR_REASON = 'lockscope.error.reason' as const;
/** Linux boot id (semconv's `host.id` is the machine id, which survives reboots, so not this). */
export const ATTR_HOST_BOOT_ID = 'lockscope.host.boot_id' as const;

export const ATTR_IDLE_QUIET = 'lockscope.idle.quiet_ms' as const;
export const ATTR_IDLE_SINCE = 'lockscope.idle.since' as const;
export const ATTR_IDLE_WRITER_PIDS = 'lockscope.idle.writer.pids' as const;
export const ATTR_IDLE_WRITER_COMMANDS = 'lockscope.idle.writer.commands' as const;
export const ATTR_IDLE_CHANGES = 'lockscope.idle.changes' as const;
export const ATTR_IDLE_MODIFICATIONS = 'lockscope.idle.modifications' as const;

export const SPAN_NAME = 'lockscope.lock.acquire' as const;
/** One span per waitIdle() that found its file idle, from the call to the resolve. */
export const SPAN_WAIT_IDLE = 'lockscope.file.wait_idle' as const;
export const EVENT_CONTENDED = 'lockscope.lock.contended' as const;

export const METRIC_WAIT_DURATION = 'lockscope.lock.wait.duration' as const;
export const METRIC_HOLD_DURATION = 'lockscope.lock.hold.duration' as const;
export const METRIC_CONTENTIONS = 'lockscope.lock.contentions' as const;
export const METRIC_TIMEOUTS = 'lockscope.lock.timeouts' as const;
export const METRIC_HELD = 'lockscope.lock.held' as const;
export const METRIC_IDLE_WAIT = 'lockscope.file.idle.wait.duration' as const;

/**
 * Wait buckets (s): an uncontended acquire takes microseconds and lands in the first bucket; a
 * cross-process hand-off about a millisecond; real contention from tens of ms up to minutes
 * (default timeouts of lock-using tools are 10 s to 5 min). The SDK's default buckets start at 0 s
 * and jump to 5, which would put every wait in one or two buckets.
 */
export const WAIT_BUCKETS_S = [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Hold buckets (s): critical sections from sub-millisecond to an hour-long job. */
export const HOLD_BUCKETS_S = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/** lockscope kind -> the mechanism name /proc/locks uses (semconv's examples are POSIX, FLOCK). */
export function mechanism(kind: string | null | undefined): string {
  switch (kind) {
    case 'flock':
      return 'FLOCK';
    case 'posix':
      return 'POSIX';
    case 'ofd':
      return 'OFDLCK';
    default:
      return 'UNKNOWN';
  }
}

/** lockscope mode -> semconv's l_type terms. */
export function lockType(mode: string | null | undefined): string {
  return mode === 'shared' ? FILE_LOCK_TYPE_VALUE_READ : FILE_LOCK_TYPE_VALUE_WRITE;
}

/** Holders of the file behind a busy-style exception on any span (LockscopeHoldersSpanProcessor). */
export const ATTR_FILE_HOLDERS_STATUS = 'lockscope.file.holders.status' as const;
export const ATTR_FILE_HOLDER_PIDS = 'lockscope.file.holder.pids' as const;
export const ATTR_FILE_HOLDER_COMMANDS = 'lockscope.file.holder.commands' as const;
/** 'holder', 'waiter' or 'opener', one per pid. */
export const ATTR_FILE_HOLDER_ROLES = 'lockscope.file.holder.roles' as const;
export const ATTR_FILE_HOLDERS_COMPLETE = 'lockscope.file.holders.complete' as const;
