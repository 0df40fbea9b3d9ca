/**
 * Cheap stack capture: V8 records the frames at capture time (a few µs) and formats them into a
 * string only when `.stack` is first read, which lockscope does only when it emits a record.
 */
export interface CapturedStack {
  stack?: string;
}

const MAX_STACK_CHARS = 4096;
/**
 * Frames lockscope itself adds between the caller and the capture, allowed on top of the limit
 * only when no `above` function cuts them off: capturing costs ~0.5-1 µs per frame here, so the
 * lock calls (which pass their public function) capture just the user's `stackTraceLimit`.
 */
const OWN_FRAMES = 8;
/** This package's dist/ directory: its frames are dropped when formatting. */
const OWN_DIR = new URL('../', import.meta.url).pathname;

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function captureStack(above?: Function): CapturedStack {
  const holder: CapturedStack = {};
  const limit = Error.stackTraceLimit;
  if (above !== undefined) {
    Error.captureStackTrace(holder, above);
    return holder;
  }
  // Respect a user's stackTraceLimit = 0 (stacks off); otherwise make room for our own frames.
  if (typeof limit === 'number' && limit > 0) Error.stackTraceLimit = limit + OWN_FRAMES;
  try {
    Error.captureStackTrace(holder, captureStack);
  } finally {
    Error.stackTraceLimit = limit;
  }
  return holder;
}

function ownFrame(line: string): boolean {
  return line.includes(OWN_DIR) || line.includes('node:diagnostics_channel') || line.includes('node:internal/');
}

/** "at f (file:line:col)" lines, without lockscope's own frames; null when nothing is left. */
export function formatStack(cap: CapturedStack | null | undefined): string | null {
  if (!cap) return null;
  let s: string | undefined;
  try {
    s = cap.stack;
  } catch {
    return null; // a user's Error.prepareStackTrace may throw
  }
  if (typeof s !== 'string') return null;
  const out: string[] = [];
  for (const line of s.split('\n')) {
    const t = line.trim();
    if (t.startsWith('at ') && !ownFrame(t)) out.push(t);
  }
  if (out.length === 0) return null;
  const joined = out.join('\n');
  return joined.length > MAX_STACK_CHARS ? joined.slice(0, MAX_STACK_CHARS) : joined;
}
