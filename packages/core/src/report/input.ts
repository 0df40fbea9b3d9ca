/**
 * Input streaming for `lockscope report`: files, `.gz` (detected by magic bytes), `-` for stdin,
 * split into lines. 64 KiB chunks: larger ones made the decoded strings large-object allocations
 * (slower, and about 20 MB more peak RSS in bench/report.mjs).
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/** Longer lines are dropped (counted as skipped) so one runaway line cannot exhaust memory. */
export const MAX_LINE_CHARS = 8 * 1024 * 1024;

export interface LineSink {
  line(text: string): void;
  /** A line was dropped because it exceeded MAX_LINE_CHARS. */
  oversized(): void;
}

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** The raw bytes of one input; `-` is standard input. */
export function openSource(name: string, stdin: Readable = process.stdin): Readable {
  return name === '-' ? stdin : createReadStream(name, { highWaterMark: 64 * 1024 });
}

/** The decompressed bytes: gzip is recognized by its first two bytes, whatever the name. */
export async function* bytes(src: Readable): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  if (first.done) return;
  if (!isGzip(first.value)) {
    yield first.value;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
    return;
  }
  const gun = createGunzip({ chunkSize: 64 * 1024 });
  const feed = async (): Promise<void> => {
    gun.write(first.value);
    for (let n = await it.next(); !n.done; n = await it.next()) {
      if (!gun.write(n.value)) await new Promise<void>((r) => gun.once('drain', r));
    }
    gun.end();
  };
  feed().catch((e: unknown) => gun.destroy(e as Error));
  try {
    for await (const c of gun) yield c as Buffer;
  } finally {
    src.destroy();
  }
}

/** Feeds every line of `src` to `sink`; the last line may lack its newline (it is still delivered). */
export async function readLines(src: Readable, sink: LineSink): Promise<void> {
  const dec = new StringDecoder('utf8');
  let carry = '';
  let dropping = false;
  for await (const chunk of bytes(src)) {
    const s = dec.write(chunk);
    let start = 0;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
      if (dropping) dropping = false;
      else if (carry.length > 0) {
        const l = carry + s.slice(start, nl);
        carry = '';
        if (l.length > MAX_LINE_CHARS) sink.oversized();
        else sink.line(l);
      } else sink.line(s.slice(start, nl));
      start = nl + 1;
    }
    if (dropping) continue;
    carry += s.slice(start);
    if (carry.length > MAX_LINE_CHARS) {
      carry = '';
      dropping = true;
      sink.oversized();
    }
  }
  const rest = carry + dec.end();
  if (!dropping && rest.length > 0) sink.line(rest);
}
