export { attachPino, DEFAULT_LEVELS, type AttachPinoOptions, type PinoLike } from './attach.js';
export { endTransport, type TransportLike } from './end.js';
export { describeRecord } from '@lockscope/core/record';
export { default, type LockscopeTransportOptions } from './transport.js';
export { lockscopeErrSerializer, type ErrSerializerOptions } from './serializer.js';
