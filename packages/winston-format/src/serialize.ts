/**
 * Errors to plain objects: winston's json() (safe-stable-stringify) sees only own enumerable
 * properties, so a nested Error becomes `{}` and an Error's message and stack vanish.
 */

export interface SerializeOptions {
  /** Include `stack`. */
  stack: boolean;
  /** Nesting depth searched for Errors inside plain objects and arrays. */
  depth: number;
}

export type Serialized = Record<string, unknown>;

export function serializeError(err: Error, opts: SerializeOptions, seen = new WeakSet<object>(), depth = 0): Serialized {
  seen.add(err);
  const out: Serialized = { name: err.name, message: err.message };
  if (opts.stack && typeof err.stack === 'string') out.stack = err.stack;
  for (const k of Object.keys(err)) {
    if (k === 'name' || k === 'message' || k === 'stack') continue;
    out[k] = serializeValue((err as unknown as Record<string, unknown>)[k], opts, seen, depth + 1);
  }
  if (err.cause !== undefined && !('cause' in out)) out.cause = serializeValue(err.cause, opts, seen, depth + 1);
  if (err instanceof AggregateError && !('errors' in out)) out.errors = serializeValue(err.errors, opts, seen, depth + 1);
  return out;
}

/** Returns `v` unchanged unless an Error is found inside it (copy on write: the caller's objects are never mutated). */
export function serializeValue(v: unknown, opts: SerializeOptions, seen = new WeakSet<object>(), depth = 0): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Error) return seen.has(v) ? '[Circular]' : serializeError(v, opts, seen, depth);
  if (depth >= opts.depth || seen.has(v)) return v;
  if (Array.isArray(v)) {
    seen.add(v);
    let copy: unknown[] | undefined;
    v.forEach((item, i) => {
      const s = serializeValue(item, opts, seen, depth + 1);
      if (s !== item) (copy ??= v.slice())[i] = s;
    });
    seen.delete(v);
    return copy ?? v;
  }
  if (!isPlainObject(v)) return v;
  seen.add(v);
  let copy: Record<string, unknown> | undefined;
  for (const k of Object.keys(v)) {
    const item = (v as Record<string, unknown>)[k];
    const s = serializeValue(item, opts, seen, depth + 1);
    if (s !== item) (copy ??= { ...(v as Record<string, unknown>) })[k] = s;
  }
  seen.delete(v);
  return copy ?? v;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
