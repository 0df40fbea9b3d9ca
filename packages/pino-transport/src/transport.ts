import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import build from 'pino-abstract-transport';

/**
 * The pino transport (runs in pino's worker thread). Only `type` imports from core here: the
 * worker sees serialized lines, so everything about the main thread is already in the record.
 */
export interface LockscopeTransportOptions {
  /** Forensic NDJSON file: one lockscope record per line, appended. Required. */
  file: string;
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

export default async function lockscopeTransport(opts: LockscopeTransportOptions): Promise<FlushableStream> {
  if (typeof opts !== 'object' || opts === null || typeof opts.file !== 'string' || opts.file === '' || opts.file.includes('\0')) {
    throw new TypeError('@lockscope/pino-transport: options.file must be a file path');
  }
  const key = opts.key ?? 'lock';
  const passThrough = opts.passThrough === true;
  if (opts.mkdir !== false) mkdirSync(dirname(opts.file), { recursive: true });
  const fd = openSync(opts.file, 'a', opts.mode ?? 0o600);
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
        fsyncSync(fd);
        closeSync(fd);
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
    if (!closed) fdatasyncSync(fd);
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

function writeAll(fd: number, s: string): void {
  const buf = Buffer.from(s);
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off);
}
