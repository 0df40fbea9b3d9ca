// The transport resolved by its package name inside pino's worker, fed by a real contention
// (argv: file of the flock(1) holder, output file). Prints the records the transport wrote.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { lock } from '@lockscope/core';
import { attachPino } from '@lockscope/pino-transport';

const [path, file] = process.argv.slice(2);
const transport = pino.transport({ target: '@lockscope/pino-transport', options: { file } });
const logger = pino({ level: 'debug' }, transport);
const detach = attachPino(logger);
try {
  await lock(path, { timeout: 300 });
  throw new Error('lock should have timed out');
} catch (e) {
  if (e.code !== 'ETIMEDOUT') throw e;
}
detach();
await new Promise((r) => logger.flush(r)); // in the file once this calls back (docs/adapters.md)
console.log(
  JSON.stringify(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
  ),
);
