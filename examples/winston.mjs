#!/usr/bin/env node
// winston: lockscope records through your logger; the LockError of a timed-out wait keeps its
// fields and holders under json(); a later EBUSY-style error about the same file says who holds it.
// Run: node examples/winston.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { configure, lock } from '@lockscope/core';
import { attachWinston, lockscopeFormat } from '@lockscope/winston-format';
import { spawnHolder } from './hold-lock.mjs';

const dir = mkdtempSync(join(tmpdir(), 'lockscope-example-winston-'));
const file = join(dir, 'export.lock');
const fmt = lockscopeFormat({ holders: true }); // before json(): keeps Errors, adds holders to EBUSY-style errors
const logger = winston.createLogger({
  level: 'info',
  format: winston.format.combine(winston.format.timestamp(), fmt, winston.format.json()),
  transports: [new winston.transports.Console()],
});
const detach = attachWinston(logger, { format: fmt });
configure({ contentionThreshold: 200, holdersDeadline: 2000 });

const holder = await spawnHolder(file, 3000);
try {
  await lock(file, { timeout: 800 }); // gives up while the other process still holds it
} catch (err) {
  logger.error('could not update the export file', { err }); // the LockError, serialized with its holders
  // Some other code path fails on the same file: the holders learnt from the wait answer at once.
  logger.error('export write failed', {
    err: Object.assign(new Error('EAGAIN: resource temporarily unavailable'), { code: 'EAGAIN', syscall: 'flock', path: file }),
  });
} finally {
  holder.kill();
  await holder.exited;
  detach();
  rmSync(dir, { recursive: true, force: true });
}
