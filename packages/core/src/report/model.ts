/** What `lockscope report` reconstructs. The JSON output (docs/cli.md#report) is built from these. */

export type WaitOutcome = 'acquired' | 'timeout' | 'aborted' | 'error' | 'unfinished';
export type HoldOutcome = 'released' | 'leaked' | 'open' | 'seen';

/** A process named by what a pid alone cannot: host, boot and start time. */
export interface Proc {
  id: string;
  host: string | null;
  bootId: string | null;
  pid: number;
  startTime: number | null;
  /** Command line as waiters' probes saw it (redacted as the writer chose); null when no one saw it. */
  command: string | null;
  /** true when this process wrote lockscope records itself (false: known only from waiters). */
  lockscope: boolean;
  labels: string[];
  records: number;
  waits: number;
  holds: number;
  heldMs: number;
  longestHold: { ms: number; path: string; label: string | null; stack: string | null; from: number } | null;
  /** Timeline bars kept (at most `maxBars`, the longest and every failure first) and how many were left out. */
  bars: Bar[];
  barsDropped: number;
  /** Per path: the acquire stack its holder card showed (bounded). */
  stacks: Map<string, string>;
  /** Host, or the input's scope when the records name no host (then pids of two inputs stay apart). */
  hostKey: string;
  /** Index and score of the least telling bar kept, so a full lane costs one comparison per bar. */
  minBar: number;
  minScore: number;
  /** Open waits and holds by waitId / holdId (reconstruction state, not output). */
  openWaits: Map<number, OpenWait>;
  openHolds: Map<number, OpenHold>;
}

/** A hold in progress: light, since most holds never make it into the timeline. */
export interface OpenHold {
  path: string;
  from: number;
  to: number;
  label: string | null;
  mode: string | null;
  lockKind: string | null;
  heldTooLong: boolean;
}

export interface OpenWait {
  bar: Bar;
  dev: number | null;
  ino: number | null;
}

export interface HolderRef {
  proc: string;
  pid: number;
  command: string | null;
  label: string | null;
  stack: string | null;
  lockKind: string | null;
  lockMode: string | null;
  acquiredAt: number | null;
}

export interface SnapshotSummary {
  activeResources: Record<string, number>;
  inProcess: number;
  eventLoopDelayP99: number | null;
  rss: number | null;
  heapUsed: number | null;
}

export interface Bar {
  id: string;
  kind: 'wait' | 'hold';
  path: string;
  from: number;
  to: number;
  outcome: WaitOutcome | HoldOutcome;
  label: string | null;
  mode: string | null;
  lockKind: string | null;
  waitedMs: number | null;
  heldMs: number | null;
  heldTooLong: boolean;
  code: string | null;
  errno: number | null;
  message: string | null;
  stack: string | null;
  holders: HolderRef[];
  holdersComplete: boolean | null;
  snapshot: SnapshotSummary | null;
}

export interface PathStats {
  path: string;
  dev: number | null;
  ino: number | null;
  waits: number;
  timeouts: number;
  aborts: number;
  errors: number;
  maxWaitMs: number;
  totalWaitMs: number;
  /** Processes that held the path while someone waited (proc id → label seen), bounded. */
  holders: Map<string, string | null>;
  holdersMore: number;
}

export interface Concern {
  kind: 'leaked' | 'held-too-long';
  proc: string;
  path: string;
  label: string | null;
  heldMs: number | null;
  time: number;
}

export interface OutsideHold {
  proc: string;
  path: string;
  /** Seen holding from at least `from` to at least `to` (waiters' probes and holder cards). */
  from: number;
  to: number;
  seen: number;
}
