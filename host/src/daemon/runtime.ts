import { monotonicUs } from './host-clock.js';

/**
 * The daemon's only access to time: a clock and one-shot timers. Production uses the wall clock and
 * setTimeout; tests and the embedded simulator use the simulator's virtual clock, so the very same
 * daemon code runs deterministically and faster than real time against a simulated board.
 */
export interface Runtime {
  /** Monotonic microseconds (for protocol timing). */
  nowUs(): number;
  /** Wall-clock milliseconds since the epoch (for the registry and the journal). */
  nowMs(): number;
  /**
   * Wall-clock µs since the epoch, sub-millisecond: where aligned device timestamps are placed
   * (nowMs is whole milliseconds, which would move every aligned sample by up to 1 ms).
   */
  nowWallUs(): number;
  /** Calls `fn` once at monotonic time `atUs` (or as soon as possible if that has passed). */
  at(atUs: number, fn: () => void): { cancel(): void };
}

export function realRuntime(): Runtime {
  // The transports' stamps use the same clock (time sync compares them with nowUs).
  const nowUs = monotonicUs;
  return {
    nowUs,
    nowMs: () => Date.now(),
    // The wall clock at start plus the monotonic clock since: sub-ms, and never stepped backwards.
    nowWallUs: () => (performance.timeOrigin + performance.now()) * 1000,
    at(atUs, fn) {
      const t = setTimeout(fn, Math.max(0, Math.ceil((atUs - nowUs()) / 1000)));
      return { cancel: () => clearTimeout(t) };
    },
  };
}
