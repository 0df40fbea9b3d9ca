/** A parse worker of `lockscope report` (parallel.ts): blocks of lines in, encoded records out. */
import { parentPort, workerData } from 'node:worker_threads';
import { WORKER_READY } from '../worker-boot.js';
import { blockCounts, Encoder, parseBlock } from './block.js';
import { keeper } from './filter.js';
import type { BlockMessage, WorkerData } from './parallel.js';

const data = workerData as WorkerData;
const keep = keeper(data.filters);
const inputs = data.inputs.map((b) => Buffer.from(b));
const outputs = data.outputs.map((b) => new Float64Array(b));
const enc = new Encoder();
const port = parentPort!;
port.on('message', (m: BlockMessage) => {
  const buf = m.bytes ? Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.len) : inputs[m.slot]!.subarray(0, m.len);
  const c = blockCounts();
  parseBlock(buf, keep, c, (r) => enc.push(r));
  const out = enc.finish(c, outputs[m.slot]);
  port.postMessage(out, out.nums ? [out.nums.buffer as ArrayBuffer] : []);
});
port.postMessage(WORKER_READY);
