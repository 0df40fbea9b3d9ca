import type { Attributes, AttributeValue, Context } from '@opentelemetry/api';
import { enrichWithHolders, holdersForSync, invalidArgument, type HolderCache } from '@lockscope/core';
import type { RecordHolder } from '@lockscope/core/record';
import {
  ATTR_FILE_HOLDER_COMMANDS,
  ATTR_FILE_HOLDER_PIDS,
  ATTR_FILE_HOLDER_ROLES,
  ATTR_FILE_HOLDERS_COMPLETE,
  ATTR_FILE_HOLDERS_STATUS,
  ATTR_FILE_PATH,
} from './semconv.js';

/** argv[0] as semconv's process.command says for Linux; the kernel's comm only when argv is unreadable. */
export function commandOf(h: RecordHolder): string {
  return h.argv?.[0] || h.command || '';
}

/** The parts of the SDK's Span the processor touches (sdk-trace-base 2.x and sdk-trace 3.x both fit). */
export interface EndingSpan {
  readonly attributes: Attributes;
  readonly events: ReadonlyArray<{ name: string; attributes?: Attributes }>;
  setAttribute(key: string, value: AttributeValue): unknown;
}

export interface HoldersSpanProcessorOptions {
  /** Default: core's process-wide cache (`defaultHolderCache()`), shared with the other adapters. */
  cache?: HolderCache;
}

// Node's fs messages end in `<syscall> '<path>'` (and ` -> '<dest>'` for rename, link, copyFile...).
const FS_MESSAGE = /, (\w+) '(.*?)'(?: -> '.*')?$/s;

/**
 * A SpanProcessor that adds who holds the file to a span carrying a busy-style exception event
 * (EBUSY, ETXTBSY, EAGAIN/EWOULDBLOCK, EACCES/EPERM from a lock call or open): spans of
 * @opentelemetry/instrumentation-fs, or yours after `span.recordException(err)`. The path is the
 * span's `file.path` attribute, else the one Node's fs message names. Works in `onEnding`, the
 * last moment a span can still take attributes (SDK 2.x and 3.x; marked experimental there),
 * and it is synchronous: the first span about a path gets `lockscope.file.holders.status =
 * 'pending'` and starts the probe; later spans within the cache's ttl get the holders.
 */
export class LockscopeHoldersSpanProcessor {
  readonly #o: { cache: HolderCache | undefined };

  constructor(options: HoldersSpanProcessorOptions = {}) {
    if (typeof options !== 'object' || options === null)
      throw invalidArgument('LockscopeHoldersSpanProcessor', undefined, 'options must be an object');
    this.#o = { cache: options.cache };
    holdersForSync(null, this.#o); // validates the cache now
  }

  onStart(_span: unknown, _parentContext: Context): void {}

  onEnding(span: EndingSpan): void {
    const events = span.events;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.name !== 'exception' || !e.attributes) continue;
      const code = e.attributes['exception.type'];
      if (typeof code !== 'string' || code.charCodeAt(0) !== 69 /* E */) continue;
      const message = e.attributes['exception.message'];
      const m = typeof message === 'string' ? FS_MESSAGE.exec(message) : null;
      const attrPath = span.attributes[ATTR_FILE_PATH];
      const target: Record<string, unknown> = {
        code,
        syscall: m?.[1],
        path: typeof attrPath === 'string' && attrPath !== '' ? attrPath : m?.[2],
      };
      enrichWithHolders(target, this.#o);
      if (target.holdersStatus === undefined) continue;
      span.setAttribute(ATTR_FILE_HOLDERS_STATUS, target.holdersStatus as string);
      const holders = target.holders as RecordHolder[] | undefined;
      if (holders) {
        span.setAttribute(
          ATTR_FILE_HOLDER_PIDS,
          holders.map((h) => h.pid),
        );
        span.setAttribute(ATTR_FILE_HOLDER_COMMANDS, holders.map(commandOf));
        span.setAttribute(
          ATTR_FILE_HOLDER_ROLES,
          holders.map((h) => h.role),
        );
        if (typeof target.holdersComplete === 'boolean') span.setAttribute(ATTR_FILE_HOLDERS_COMPLETE, target.holdersComplete);
      }
      return;
    }
  }

  onEnd(_span: unknown): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
