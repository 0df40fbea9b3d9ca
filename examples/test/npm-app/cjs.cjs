// CommonJS consumer: require() of the ES modules (Node >= 20.19).
const core = require('@lockscope/core');
const { describeRecord } = require('@lockscope/core/record');
const { attachPino, lockscopeErrSerializer } = require('@lockscope/pino-transport');
const { lockscopeFormat } = require('@lockscope/winston-format');
const { LockscopeInstrumentation, LockscopeHoldersSpanProcessor } = require('@lockscope/otel');
for (const f of [
  core.lock,
  core.holdersFor,
  describeRecord,
  attachPino,
  lockscopeErrSerializer,
  lockscopeFormat,
  LockscopeInstrumentation,
  LockscopeHoldersSpanProcessor,
]) {
  if (typeof f !== 'function') throw new Error('missing export');
}
console.log('cjs ok');
