/** Reset detection from consecutive heartbeats, and crash-loop detection over a sliding window. */
import type { HeartbeatBody } from './types.js';

/**
 * A reset happened between two heartbeats if the uptime went backwards (the device restarted its
 * clock) or the persisted reset counter grew (catches a reset between two heartbeats where the new
 * uptime already exceeds the old one, e.g. after a long silence).
 */
export function isReset(prev: HeartbeatBody | null, next: HeartbeatBody): boolean {
  if (prev === null) return false;
  return next.uptimeMs < prev.uptimeMs || next.resetCount > prev.resetCount;
}

export class CrashLoopTracker {
  private readonly times: number[] = [];
  private looping = false;

  constructor(
    private readonly threshold: number,
    private readonly windowUs: number,
  ) {}

  /** Records a reset; true when this reset starts a crash loop (reported once per loop). */
  record(nowUs: number): boolean {
    this.prune(nowUs);
    this.times.push(nowUs);
    if (this.looping || this.times.length < this.threshold) return false;
    this.looping = true;
    return true;
  }

  /** The loop ends ("calms down") once a whole window passes without a reset. */
  update(nowUs: number): void {
    this.prune(nowUs);
    if (this.looping && this.times.length === 0) this.looping = false;
  }

  get active(): boolean {
    return this.looping;
  }

  get count(): number {
    return this.times.length;
  }

  private prune(nowUs: number): void {
    while (this.times.length > 0 && nowUs - this.times[0]! >= this.windowUs) this.times.shift();
  }
}
