import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { liveConfig } from '../config.js';
import { anySubscribers } from './listening.js';

/**
 * Event-loop delay monitor, started lazily the first time instrumentation is active and stopped
 * by an unref'd watchdog once nobody subscribes. Its own cost is one libuv timer at RESOLUTION_MS
 * (measured in bench/snapshot.mjs). The window is reset every WINDOW_MS so values are recent.
 */
const RESOLUTION_MS = 20;
const WINDOW_MS = 10_000;
const WATCHDOG_MS = 5_000;

type Delay = { p50: number; p99: number; max: number; windowMs: number };

let hist: IntervalHistogram | null = null;
let windowStart = 0;
/** The window before the current one: what a snapshot reads until the new window has a sample. */
let previous: Delay | null = null;
let watchdog: NodeJS.Timeout | null = null;

export function ensureEventLoopMonitor(): void {
  if (hist !== null || !liveConfig().snapshot.eventLoopDelay) return;
  try {
    hist = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    hist.enable();
    windowStart = performance.now();
    watchdog = setInterval(tick, WATCHDOG_MS);
    watchdog.unref();
  } catch {
    stopEventLoopMonitor();
  }
}

function tick(): void {
  try {
    if (!anySubscribers() || !liveConfig().snapshot.eventLoopDelay) {
      stopEventLoopMonitor();
      return;
    }
    if (hist !== null && performance.now() - windowStart >= WINDOW_MS) {
      previous = summary(hist);
      hist.reset();
      windowStart = performance.now();
    }
  } catch {
    // never throw from a timer
  }
}

export function stopEventLoopMonitor(): void {
  if (watchdog !== null) clearInterval(watchdog);
  watchdog = null;
  if (hist !== null) hist.disable();
  hist = null;
  previous = null;
}

export function eventLoopMonitorRunning(): boolean {
  return hist !== null;
}

/**
 * A sample is the time from one run of the monitor's timer to the next, so it includes the
 * RESOLUTION_MS the timer was asked to wait (an idle loop records about 20 ms): the loop's own
 * delay is what exceeds it. In ms, to the µs.
 */
const delayMs = (ns: number): number => Math.max(0, Math.round(ns / 1e3 - RESOLUTION_MS * 1e3) / 1e3);

function summary(h: IntervalHistogram): Delay | null {
  if (h.count === 0) return null;
  return {
    p50: delayMs(h.percentile(50)),
    p99: delayMs(h.percentile(99)),
    max: delayMs(h.max),
    windowMs: Math.round(performance.now() - windowStart),
  };
}

/**
 * The loop's delay (ms): p50/p99/max over the current window, or the previous one in the first
 * samples' time after a reset (it said null then); null when off or before the first sample.
 */
export function readEventLoopDelay(): Delay | null {
  if (hist === null) return null;
  return summary(hist) ?? previous;
}
