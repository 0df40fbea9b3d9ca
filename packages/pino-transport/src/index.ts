export { attachPino, DEFAULT_LEVELS, type AttachPinoOptions, type PinoLike } from './attach.js';
export { describeRecord } from './records.js';
export { default, type LockscopeTransportOptions } from './transport.js';
