#!/usr/bin/env node
// pino: lockscope records through your logger, and a forensic NDJSON file from the transport.
// Run: node examples/pino.mjs
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { configure, lock } from '@lockscope/core';
import { attachPino } from '@lockscope/pino-transport';
import { spawnHolder } from './hold-lock.mjs';

const file = join(tmpdir(), 'lockscope-example-pino.lock');
const forensic = join(tmpdir(), `lockscope-example-${process.pid}.ndjson`);

const logger = pino(
  { level: 'info' },
  pino.transport({
    targets: [
      { target: 'pino/file', options: { destination: 1 } }, // your usual output
      { target: '@lockscope/pino-transport', options: { file: forensic } }, // lock records only
    ],
  }),
);
const detach = attachPino(logger); // contended: warn; timeout/abort/error: error; acquire/release: debug
configure({ contentionThreshold: 200 }); // report waits longer than 200 ms

const holder = await spawnHolder(file, 1500); // another process holds the lock for 1.5 s
const handle = await lock(file, { timeout: 10_000 });
await handle.release();
holder.kill();
detach();
await new Promise((resolve) => logger.flush(resolve));
console.log(`\nforensic file ${forensic}:\n${readFileSync(forensic, 'utf8')}`);
