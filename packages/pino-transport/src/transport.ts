import { closeSync, fdatasyncSync, fstatSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import build from 'pino-abstract-transport';

/**
 * The pino transport (runs in pino's worker thread). Only `type` imports from core here: the
 * worker sees serialized lines, so everything about the main thread is already in the record.
 */
export interface LockscopeTransportOptions {
  /**
   * Where the forensic NDJSON goes, one lockscope record per line: a file path (appended), or a
   * file descriptor number as `pino/file` takes (1: stdout, 2: stderr; left open). This or `file`.
   */
  destination?: string | number;
  /** Alias of `destination` (a path or a file descriptor). */
  file?: string | number;
  /** Also write every other log line to the file (as pino wrote it). Default false: dropped. */
  passThrough?: boolean;
  /** Key attachPino logs the record under. Default `'lock'`. */
  key?: string;
  /** Create missing parent directories. Default true. */
  mkdir?: boolean;
  /** Mode for a new file. Default 0o600 (records hold stacks and command lines). */
  mode?: number;
}

interface Line {
  raw: string;
  obj: Record<string, unknown> | null;
}

type FlushableStream = ReturnType<typeof build> & {
  flush?: (cb: (err?: Error | null) => void) => void;
  flushSync?: () => void;
};

/** The options the transport understands, as a wrong one's error lists them. */
const OPTIONS: Record<keyof LockscopeTransportOptions, string> = {
  destination: 'destination (a path, or a file descriptor: 1 for stdout)',
  file: 'file (alias of destination)',
  passThrough: 'passThrough (boolean)',
  key: 'key (non-empty string)',
  mkdir: 'mkdir (boolean)',
  mode: 'mode (file mode integer)',
};

/** Keys pino itself adds to a transport's options (pino 10: `$context`, `pinoWillSendConfig`). */
const pinoOwn = (k: string): boolean => k.startsWith('$') || k === 'pinoWillSendConfig';

/** The reason `opts` is wrong, or null. */
function wrongOption(opts: unknown): string | null {
  if (typeof opts !== 'object' || opts === null) return 'options must be an object';
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(k in OPTIONS) && !pinoOwn(k)) return `unknown option '${k}'`;
  if (o.destination !== undefined && o.file !== undefined) return "give 'destination' or its alias 'file', not both";
  const dest = o.destination ?? o.file;
  const name = o.destination !== undefined ? 'destination' : 'file';
  if (dest === undefined) return "'destination' is required";
  if (typeof dest === 'number' ? !Number.isSafeInteger(dest) || dest < 0 : typeof dest !== 'string' || dest === '' || dest.includes('\0')) {
    return `'${name}' must be a file path or a file descriptor number`;
  }
  for (const k of ['passThrough', 'mkdir'] as const) if (o[k] !== undefined && typeof o[k] !== 'boolean') return `'${k}' must be a boolean`;
  if (o.key !== undefined && (typeof o.key !== 'string' || o.key === '')) return "'key' must be a non-empty string";
  if (o.mode !== undefined && (!Number.isSafeInteger(o.mode) || (o.mode as number) < 0)) return "'mode' must be a file mode integer";
  return null;
}

export default async function lockscopeTransport(opts: LockscopeTransportOptions): Promise<FlushableStream> {
  const wrong = wrongOption(opts);
  if (wrong !== null) {
    // core only on this path: the worker stays light.
    const { invalidArgument } = await import('@lockscope/core');
    throw invalidArgument(
      '@lockscope/pino-transport',
      undefined,
      `${wrong}; the transport understands ${Object.values(OPTIONS).join(', ')}`,
    );
  }
  const dest = (opts.destination ?? opts.file)!;
  const key = opts.key ?? 'lock';
  const passThrough = opts.passThrough === true;
  // A descriptor is the caller's (stdout, stderr, or one it opened): written to, never closed.
  const own = typeof dest === 'string';
  if (own && opts.mkdir !== false) mkdirSync(dirname(dest), { recursive: true });
  const fd = own ? openSync(dest, 'a', opts.mode ?? 0o600) : dest;
  // fsync only means something for a file (a pipe or a terminal rejects it with EINVAL).
  const syncable = fstatSync(fd).isFile();
  let closed = false;

  // Written synchronously as each line arrives: when pino's flush reaches this stream, the data
  // is already in the file (thread-stream calls our flush after its buffer is consumed).
  const write = (line: Line): void => {
    if (closed) return;
    const record = line.obj?.[key];
    if (line.obj && typeof line.obj.lockscope === 'number' && isRecordLike(record)) {
      writeAll(fd, `${JSON.stringify(record)}\n`);
    } else if (passThrough) {
      writeAll(fd, `${line.raw}\n`);
    }
  };

  const stream = build(
    (source) => {
      source.on('data', write);
    },
    {
      metadata: false,
      parseLine: (raw: string): Line => {
        let obj: Record<string, unknown> | null = null;
        try {
          const v: unknown = JSON.parse(raw);
          if (typeof v === 'object' && v !== null) obj = v as Record<string, unknown>;
        } catch {
          // not JSON: only passThrough keeps it
        }
        return { raw, obj };
      },
      close: async () => {
        if (closed) return;
        closed = true;
        if (syncable) fsyncSync(fd);
        if (own) closeSync(fd);
      },
    },
  ) as FlushableStream;

  // Lines parsed but not yet delivered to the 'data' listener are pulled synchronously.
  const drain = (): void => {
    while (stream.readableLength > 0 && stream.read() !== null) {
      // each read() emits 'data', which writes the line
    }
  };
  stream.flushSync = () => {
    drain();
    if (!closed && syncable) fdatasyncSync(fd);
  };
  stream.flush = (cb) => {
    try {
      stream.flushSync!();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  };
  return stream;
}

function isRecordLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { schemaVersion?: unknown }).schemaVersion === 1;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: number, s: string): void {
  const buf = Buffer.from(s);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      // A full pipe that another thread set non-blocking (Node does for stdout): wait for room.
      // This is pino's worker thread, not the application's.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
