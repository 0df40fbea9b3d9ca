// ESM consumer: every entry point by package name.
import * as core from '@lockscope/core';
import * as record from '@lockscope/core/record';
import schema from '@lockscope/core/record.schema.json' with { type: 'json' };
import * as pinoAdapter from '@lockscope/pino-transport';
import * as winstonAdapter from '@lockscope/winston-format';
import * as otel from '@lockscope/otel';

const need = {
  core: [core, ['lock', 'tryLock', 'withLock', 'probe', 'holdersFor', 'holdersForSync', 'HolderCache', 'LockError']],
  record: [record, ['subscribeRecords', 'describeRecord']],
  pino: [pinoAdapter, ['attachPino', 'lockscopeErrSerializer', 'default']],
  winston: [winstonAdapter, ['attachWinston', 'lockscopeFormat']],
  otel: [otel, ['LockscopeInstrumentation', 'LockscopeHoldersSpanProcessor']],
};
for (const [what, [mod, names]] of Object.entries(need)) {
  for (const n of names) if (typeof mod[n] !== 'function') throw new Error(`${what}: ${n} is ${typeof mod[n]}`);
}
if (typeof schema.$id !== 'string') throw new Error('record schema: no $id');
console.log('esm ok');
