// Child process for bench/lock.mjs: one contender in the hand-off and throughput runs.
// argv: <mode: pingpong|throughput> <impl> <path> <rounds|durationMs>
import { loadImpls } from './lib/impls.mjs';

const [mode, implName, path, nArg] = process.argv.slice(2);
const impl = (await loadImpls())[implName];
const now = () => Number(process.hrtime.bigint()) / 1e6; // CLOCK_MONOTONIC: comparable across processes

if (mode === 'pingpong') {
  // Driven by the parent over IPC so that a release happens only while the other side is already waiting.
  let token = null;
  process.on('message', async (m) => {
    if (m.cmd === 'acquire') {
      const p = impl.acquire(path);
      process.send({ ev: 'waiting' });
      token = await p;
      process.send({ ev: 'acquired', t: now() });
    } else if (m.cmd === 'release') {
      const t = now();
      await impl.release(token);
      token = null;
      process.send({ ev: 'released', t });
    } else if (m.cmd === 'exit') {
      process.disconnect();
    }
  });
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
