#!/usr/bin/env node
// winston: lockscope records through your logger; busy errors say who held the file.
// Run: node examples/winston.mjs
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { configure, lock } from '@lockscope/core';
import { attachWinston, lockscopeFormat } from '@lockscope/winston-format';
import { spawnHolder } from './hold-lock.mjs';

const file = join(tmpdir(), 'lockscope-example-winston.lock');
const fmt = lockscopeFormat({ holders: true }); // before json(): keeps Errors, adds holders to EBUSY-style errors
const logger = winston.createLogger({
  level: 'info',
  format: winston.format.combine(winston.format.timestamp(), fmt, winston.format.json()),
  transports: [new winston.transports.Console()],
});
const detach = attachWinston(logger, { format: fmt });
configure({ contentionThreshold: 200 });

const holder = await spawnHolder(file, 3000);
try {
  await lock(file, { timeout: 1000 }); // gives up while the other process still holds it
} catch (err) {
  logger.error('could not update the export file', { err }); // the LockError, serialized with its holders
} finally {
  holder.kill();
  detach();
}
