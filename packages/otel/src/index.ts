export { CHANNELS } from '@lockscope/core';
