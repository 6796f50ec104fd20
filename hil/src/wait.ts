import { WaitTimeout } from './errors.js';

export interface UntilOptions {
  /** Give up after this long. */
  readonly ms: number;
  /** What is waited for, in words, for the timeout's message. */
  readonly what: string;
  /** Time between checks: the daemon's API is polled at a modest rate. */
  readonly intervalMs?: number;
  /** What was last seen, for the timeout's message. */
  readonly seen?: () => string;
}

/**
 * Checks until `check` returns a value. An exception from `check` ends the wait at once: a suite's
 * checks throw only for what waiting cannot fix.
 */
export async function until<T>(check: () => Promise<T | undefined>, o: UntilOptions): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() - start >= o.ms) throw new WaitTimeout(o.what, o.ms, o.seen?.() ?? '');
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
  }
}
