#!/usr/bin/env node
// The other process of the examples: takes the lock, says "held" on stdout, keeps it for <ms>.
// Usage: node examples/hold-lock.mjs <file> <ms>   (also imported by the examples to spawn itself)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { lock } from '@lockscope/core';

/** Spawns this script as a separate process and resolves once it holds the lock. */
export async function spawnHolder(file, ms) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), file, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = await once(child.stdout, 'data');
  if (!String(chunk).startsWith('held')) throw new Error(`holder said: ${chunk}`);
  return child;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, ms = '1500'] = process.argv.slice(2);
  const handle = await lock(file);
  process.stdout.write('held\n');
  setTimeout(() => handle.release(), Number(ms));
}
