// Child process for bench/lock.mjs: one contender in the hand-off and throughput runs.
// argv: <mode: pingpong|throughput> <impl> <path> <rounds|durationMs>
import { loadImpls } from './lib/impls.mjs';

const [mode, implName, path, nArg] = process.argv.slice(2);
const impl = (await loadImpls())[implName];
const now = () => Number(process.hrtime.bigint()) / 1e6; // CLOCK_MONOTONIC: comparable across processes
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (mode === 'pingpong') {
  const rounds = Number(nArg);
  const events = [];
  for (let i = 0; i < rounds; i++) {
    const tStart = now();
    const token = await impl.acquire(path);
    const tAcq = now();
    await sleep(3); // hold long enough for the other side to be waiting
    const tRel = now();
    await impl.release(token);
    events.push([tStart, tAcq, tRel]);
    await sleep(1 + Math.random() * 2);
  }
  process.stdout.write(JSON.stringify(events));
} else if (mode === 'throughput') {
  const until = now() + Number(nArg);
  let count = 0;
  // Wait for the parent's go so that every contender starts together.
  await new Promise((r) => process.stdin.once('data', r));
  process.stdin.pause();
  while (now() < until) {
    const token = await impl.acquire(path);
    count++;
    await impl.release(token);
  }
  process.stdout.write(JSON.stringify({ count }));
}
