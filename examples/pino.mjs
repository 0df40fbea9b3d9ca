#!/usr/bin/env node
// pino: lockscope records through your logger, and a forensic NDJSON file from the transport.
// Run: node examples/pino.mjs
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { configure, lock } from '@lockscope/core';
import { attachPino, endTransport } from '@lockscope/pino-transport';
import { spawnHolder } from './hold-lock.mjs';

const dir = mkdtempSync(join(tmpdir(), 'lockscope-example-pino-'));
const file = join(dir, 'export.lock');
const forensic = join(dir, 'locks.ndjson');

// The logger's level is the lowest of its targets' (pino's rule for multi-target transports):
// stdout keeps info and up, the forensic file also gets the debug records (acquired, released).
const transport = pino.transport({
  targets: [
    { target: 'pino/file', options: { destination: 1 }, level: 'info' }, // your usual output (stdout)
    { target: '@lockscope/pino-transport', options: { destination: forensic }, level: 'debug' }, // lock records only
  ],
});
const logger = pino({ level: 'debug' }, transport);
const detach = attachPino(logger); // contended: warn; timeout/abort/error: error; acquire/release: debug
configure({ contentionThreshold: 200, holdersDeadline: 2000 }); // report waits longer than 200 ms

const holder = await spawnHolder(file, 1000); // another process holds the lock for 1 s
try {
  const handle = await lock(file, { timeout: 10_000, label: 'pino example' });
  await handle.release();
} finally {
  await holder.exited;
  detach();
}
await endTransport(transport); // every line in every target (with targets, flush() is not enough)
console.log(`\nforensic file (${forensic}), one record per line:\n${readFileSync(forensic, 'utf8')}`);
rmSync(dir, { recursive: true, force: true });
