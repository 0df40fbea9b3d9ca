import { toRecordHolders } from '@lockscope/core';

// The holder cache is core's (`holdersFor`/`holdersForSync`), shared with the other adapters.
export { HolderCache, type HolderCacheOptions, type PathHolderResolver, type HoldersLookup, type HoldersStatus } from '@lockscope/core';

/** The holders (lock holders, waiters, then openers) of a `probe()` result, as records carry them. */
export const holdersOfProbe = toRecordHolders;
