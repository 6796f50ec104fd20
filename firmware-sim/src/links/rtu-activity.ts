import type { SimTime } from '../kernel/scheduler.js';

/**
 * Which stretches of time something (a transmitter or noise) drives an RS-485 line, to answer "since
 * when is the line quiet?" — what a master or slave checks before honouring t3.5 or its turnaround.
 */
export class LineActivity {
  #intervals: { readonly start: SimTime; readonly end: SimTime }[] = [];
  /** Latest end of the intervals already over; the line counts as quiet since the start. */
  #quietSince: SimTime = 0;

  add(start: SimTime, end: SimTime): void {
    this.#intervals.push({ start, end });
  }

  /** When the line last went quiet, or null while something is on it at `now` (now only grows). */
  idleSince(now: SimTime): SimTime | null {
    let busy = false;
    this.#intervals = this.#intervals.filter((iv) => {
      if (iv.end > now) {
        if (iv.start <= now) busy = true;
        return true;
      }
      this.#quietSince = Math.max(this.#quietSince, iv.end);
      return false;
    });
    return busy ? null : this.#quietSince;
  }
}
