/**
 * The reader of `lockscope report` on parse workers. The main thread reads (and gunzips) each
 * input and cuts it into blocks of whole lines; `threads` workers, and the main thread itself
 * when they are all busy, JSON.parse, check, filter and digest the records (block.ts), the
 * workers sending them back compact. The main thread feeds them to the one Reconstructor
 * strictly in input order, so the report is the single-thread reader's whatever the input:
 * every order-sensitive part of the reconstruction (process matching, bar ids and ties, caps,
 * first-seen orders) sees the same sequence. Inputs smaller than `minBytes` in all never start
 * a worker.
 */
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Worker } from 'node:worker_threads';
import { LockscopeError } from '../errors.js';
import { terminateWhenBooted, WORKER_READY } from '../worker-boot.js';
import { blockCounts, decodeBlock, parseBlock, parseLine, type BlockCounts, type EncodedBlock, type Keep } from './block.js';
import type { Rec } from './digest.js';
import { keeper, type ReportFilters } from './filter.js';
import { bytes, MAX_LINE_CHARS } from './input.js';

export interface ParallelOptions {
  /** Parse workers besides the main thread; 0: the single-thread reader (run.ts). */
  threads: number;
  /** Input bytes parsed on the main thread before the workers start. */
  minBytes: number;
  /** Bytes of whole lines per block sent to a worker. */
  blockBytes: number;
}

/** More workers than this would outrun the one reconstruction thread and only add heaps. */
const MAX_THREADS = 3;
/** A worker's young generation (MB): parsing garbage dies young; the default 16 cost ~10 MB more RSS per worker. */
const YOUNG_MB = 4;
/** Blocks in flight per worker. */
const WINDOW = 2;
/** Answers queued at most (worker answers and blocks parsed here, waiting for their turn). */
const MAX_QUEUED = 8;

export function defaultParallel(): ParallelOptions {
  const cpus = availableParallelism();
  // The main thread parses too while the workers are busy: one worker per other core.
  return { threads: cpus > 1 ? Math.min(cpus - 1, MAX_THREADS) : 0, minBytes: 8 << 20, blockBytes: 1 << 20 };
}

/** What one input's blocks go to, in input order. */
export interface BlockSink {
  counts(c: BlockCounts): void;
  record(r: Rec): void;
  /** A line longer than MAX_LINE_CHARS, measured here. */
  oversized(): void;
}

/**
 * Blocks and answers travel through shared memory slots allocated once per worker (WINDOW each):
 * a fresh ArrayBuffer per block, malloc'd on one thread and freed on another, grew the RSS by
 * ~30 MB per worker (glibc keeps the freed chunks). Only a block or an answer too big for its
 * slot (a very long line) travels in a transferred buffer.
 */
export interface WorkerData {
  filters: ReportFilters;
  inputs: SharedArrayBuffer[];
  outputs: SharedArrayBuffer[];
}
export interface BlockMessage {
  slot: number;
  len: number;
  bytes: Uint8Array | null;
}

interface Slot {
  worker: Worker;
  /** Its modules are loaded (or it has exited). */
  booted: Promise<void>;
  inputs: Buffer[];
  outputs: Float64Array[];
  free: number[];
  waiting: Pending[];
}

interface Pending {
  /** null: parsed on the main thread, into `recs`. */
  slot: Slot | null;
  recs: Rec[] | null;
  index: number;
  answer: Promise<EncodedBlock>;
  done: EncodedBlock | null;
  resolve: (b: EncodedBlock) => void;
  reject: (e: Error) => void;
}

/** The UTF-16 length a StringDecoder gives `parts` so far (an incomplete last character not counted). */
function decodedLength(parts: readonly Buffer[]): number {
  const d = new StringDecoder('utf8');
  let n = 0;
  for (const p of parts) n += d.write(p).length;
  return n;
}

const NEWLINE = Buffer.from('\n');
/** Read chunks (input.ts): a block is cut when whole lines reach blockBytes, so it is at most this longer. */
const CHUNK_BYTES = 64 * 1024;
const total = (parts: readonly Buffer[]): number => parts.reduce((a, p) => a + p.length, 0);

export class ParallelReader {
  readonly #o: ParallelOptions;
  readonly #filters: ReportFilters;
  readonly #keep: Keep;
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
  #scratch = Buffer.alloc(0);
  #seen = 0;
  /** Blocks parsed on a worker (tests check the workers did the work). */
  workerBlocks = 0;
  #failed: LockscopeError | null = null;
  #closing = false;

  constructor(o: ParallelOptions, filters: ReportFilters) {
    this.#o = o;
    this.#filters = filters;
    this.#keep = keeper(filters);
  }

  #spawn(): void {
    // A block is whole lines of at most blockBytes plus one read chunk.
    const inputs = Array.from({ length: WINDOW }, () => new SharedArrayBuffer(this.#o.blockBytes + CHUNK_BYTES));
    const outputs = Array.from({ length: WINDOW }, () => new SharedArrayBuffer(Math.ceil((this.#o.blockBytes + CHUNK_BYTES) / 8) * 8));
    const data: WorkerData = { filters: this.#filters, inputs, outputs };
    const worker = new Worker(new URL('./parse-worker.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB },
    });
    let boot!: () => void;
    const slot: Slot = {
      worker,
      booted: new Promise<void>((r) => (boot = r)),
      inputs: inputs.map((b) => Buffer.from(b)),
      outputs: outputs.map((b) => new Float64Array(b)),
      free: inputs.map((_, i) => i),
      waiting: [],
    };
    const fail = (e: unknown): void => {
      const err = (this.#failed ??= new LockscopeError({
        message: `report parse worker failed: ${(e as Error)?.message ?? String(e)}`,
        code: (e as NodeJS.ErrnoException)?.code ?? 'ERR_WORKER',
        errno: 0,
        syscall: 'worker',
        path: undefined,
        reason: 'io',
        cause: e,
      }));
      for (const w of slot.waiting.splice(0)) w.reject(err);
    };
    worker.on('message', (b: EncodedBlock | typeof WORKER_READY) => {
      if (b === WORKER_READY) return boot();
      const p = slot.waiting.shift();
      if (p) p.resolve((p.done = b));
    });
    worker.on('error', fail);
    worker.on('messageerror', fail);
    worker.on('exit', (code) => {
      boot();
      if (!this.#closing) fail(new Error(`worker exited with code ${code}`));
    });
    this.#slots.push(slot);
  }

  #apply(p: Pending, b: EncodedBlock, sink: BlockSink): void {
    sink.counts(b.counts);
    if (p.recs) for (const r of p.recs) sink.record(r);
    else decodeBlock(b, p.slot!.outputs[p.index]!, (r) => sink.record(r));
    p.slot?.free.push(p.index);
  }

  /** Applies answers in order while more than `keep` are queued (and, with `ready`, only those already in). */
  async #drain(sink: BlockSink, keep = 0, ready = false): Promise<void> {
    while (this.#queue.length > keep) {
      const p = this.#queue[0]!;
      if (ready && p.done === null) return;
      const b = p.done ?? (await p.answer);
      this.#queue.shift();
      this.#apply(p, b, sink);
    }
  }

  #pending(slot: Slot | null, index: number): Pending {
    const p = { slot, index, recs: null, done: null } as Pending;
    p.answer = new Promise<EncodedBlock>((resolve, reject) => {
      p.resolve = resolve;
      p.reject = reject;
    });
    p.answer.catch(() => {}); // awaited in order by #drain; a failure before then is not unhandled
    return p;
  }

  /**
   * A block of `len` bytes of whole lines, written by `fill`: to a worker with a free slot, else
   * parsed here (the main thread is a parser too when the workers are busy), answered in order.
   */
  async #dispatch(len: number, fill: (into: Buffer) => void, sink: BlockSink): Promise<void> {
    this.#seen += len;
    if (this.#slots.length === 0 && this.#seen > this.#o.minBytes) for (let i = 0; i < this.#o.threads; i++) this.#spawn();
    await this.#drain(sink, 0, true);
    await this.#drain(sink, MAX_QUEUED - 1);
    if (this.#failed) throw this.#failed;
    let slot: Slot | null = null;
    for (const s of this.#slots) if (s.free.length > (slot?.free.length ?? 0)) slot = s;
    if (slot === null) {
      if (this.#scratch.length < len) this.#scratch = Buffer.allocUnsafe(Math.max(len, this.#scratch.length * 2));
      fill(this.#scratch);
      const c = blockCounts();
      if (this.#queue.length === 0) {
        parseBlock(this.#scratch.subarray(0, len), this.#keep, c, (r) => sink.record(r));
        sink.counts(c);
        return;
      }
      const p = this.#pending(null, 0);
      const recs: Rec[] = (p.recs = []);
      parseBlock(this.#scratch.subarray(0, len), this.#keep, c, (r) => recs.push(r));
      p.resolve((p.done = { counts: c, n: recs.length, size: 0, nums: null, strs: [], vals: [] }));
      this.#queue.push(p);
      return;
    }
    const index = slot.free.pop()!;
    let bytes: Buffer | null = null;
    if (len <= slot.inputs[index]!.length) fill(slot.inputs[index]!);
    else fill((bytes = Buffer.allocUnsafeSlow(len)));
    const p = this.#pending(slot, index);
    slot.waiting.push(p);
    const m: BlockMessage = { slot: index, len, bytes };
    slot.worker.postMessage(m, bytes ? [bytes.buffer as ArrayBuffer] : []);
    this.#queue.push(p);
    this.workerBlocks++;
  }

  /** Every line of `src`, as readLines (input.ts) splits and measures them. */
  async read(src: Readable, sink: BlockSink): Promise<void> {
    let parts: Buffer[] = [];
    let dropping = false;
    let held = 0;
    /** Sends the whole lines of `parts` as one block (false: there is no '\n' in them). */
    const sendLines = async (): Promise<boolean> => {
      for (let i = parts.length - 1; i >= 0; i--) {
        const nl = parts[i]!.lastIndexOf(10);
        if (nl < 0) continue;
        const whole = parts.slice(0, i + 1);
        whole[i] = parts[i]!.subarray(0, nl + 1);
        const tail = parts[i]!.subarray(nl + 1);
        parts = [...(tail.length > 0 ? [tail] : []), ...parts.slice(i + 1)];
        held = total(parts);
        await this.#dispatch(
          total(whole),
          (into) => {
            let at = 0;
            for (const p of whole) at += p.copy(into, at);
          },
          sink,
        );
        return true;
      }
      return false;
    };
    const it = bytes(src)[Symbol.asyncIterator]();
    let ended = false;
    try {
      for (;;) {
        let n: IteratorResult<Buffer>;
        try {
          n = await it.next();
        } catch (e) {
          // A stream that breaks mid-way keeps its whole lines (not the partial last one).
          ended = true;
          await sendLines();
          await this.#drain(sink);
          throw e;
        }
        if (n.done) break;
        let c = n.value;
        if (dropping) {
          const nl = c.indexOf(10);
          if (nl < 0) continue;
          dropping = false;
          c = c.subarray(nl + 1);
        }
        if (c.length > 0) {
          parts.push(c);
          held += c.length;
        }
        // A line with no end in sight: dropped once it is longer than MAX_LINE_CHARS (UTF-16 units <= bytes).
        if (held >= this.#o.blockBytes && !(await sendLines()) && held > MAX_LINE_CHARS && decodedLength(parts) > MAX_LINE_CHARS) {
          sink.oversized();
          parts = [];
          held = 0;
          dropping = true;
        }
      }
      ended = true;
      if (parts.length > 0) {
        const last = parts[parts.length - 1]!;
        const nl = last.lastIndexOf(10);
        const tail = nl >= 0 ? last.length - nl - 1 : held;
        if (tail <= MAX_LINE_CHARS) {
          // A short last line cannot be oversized (UTF-16 units <= bytes): ended like the others.
          if (tail > 0) parts.push(NEWLINE);
          await sendLines();
        } else {
          await sendLines();
          await this.#drain(sink);
          // A long last line without '\n', measured as readLines does: without the decoder's end.
          const d = new StringDecoder('utf8');
          const text = parts.map((p) => d.write(p)).join('');
          if (text.length > MAX_LINE_CHARS) sink.oversized();
          else {
            const c = blockCounts();
            parseLine(text + d.end(), this.#keep, c, (r) => sink.record(r), false);
            sink.counts(c);
          }
        }
      }
      await this.#drain(sink);
    } finally {
      if (!ended) src.destroy();
    }
  }

  /** Ends the workers (after an error too), each once it has booted (worker-boot.ts). */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#slots.map((s) => terminateWhenBooted(s.worker, s.booted)));
  }
}
