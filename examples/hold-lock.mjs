#!/usr/bin/env node
// The other process of the examples and the demo: takes the lock with a label, says
// "held <pid>" on stdout, keeps it for <ms>, releases it and exits. It also lets go and exits
// when its parent goes away (stdin closes), so no example can leave it behind.
// Usage: node examples/hold-lock.mjs <file> <ms> [label]   (the examples import spawnHolder)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { configure, lock } from '@lockscope/core';

/**
 * Spawns this script as a separate process and resolves once it holds the lock.
 * The child has `exited`, a promise of its exit.
 */
export async function spawnHolder(file, ms, label = 'nightly-export') {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), file, String(ms), label], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.exited = once(child, 'exit');
  const [chunk] = await Promise.race([once(child.stdout, 'data'), child.exited.then(() => ['exited'])]);
  if (!String(chunk).startsWith('held')) throw new Error(`lock holder did not start: ${chunk}`);
  return child;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, ms = '1500', label = 'nightly-export'] = process.argv.slice(2);
  // Cards: a waiter in another process sees this process's label and where it took the lock.
  configure({ cards: true });
  const handle = await lock(file, { label });
  process.stdout.write(`held ${process.pid}\n`);
  const done = async () => {
    clearTimeout(timer);
    await handle.release();
    process.exit(0);
  };
  const timer = setTimeout(done, Number(ms));
  process.stdin.on('end', done).resume();
}
